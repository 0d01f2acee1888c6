/* Whether a call changed anything outside `_home`, as seen from Lua's C sources (patched in by
 * guest/build.rs; the guest's Rust side is guest/src/retry.rs).
 *
 * A call that fails on a commit conflict is run again only if that is exact: the attempt must have
 * changed nothing that outlives it. Tables, upvalues and coroutines carry the number of the call
 * attempt that made them; a write to one made before the attempt (a global, a table a global
 * holds, a closure's upvalue, an old coroutine resumed) marks the attempt dirty, as do the random
 * generator and the collector's settings. Objects the attempt made itself are its own business.
 * The check is one comparison on each table write; the marking is out of line. */
#ifndef CU_TRACK_H
#define CU_TRACK_H

/* The current call attempt; objects record it when made. */
extern unsigned long long cu_epoch;
/* Objects that record a smaller number are older than the attempt: the attempt's own number, or 0
 * once the attempt changed something, so that the writes after that take no slower path. */
extern unsigned long long cu_older_than;

/* The attempt changed something that outlives it. */
#define cu_changed() (cu_older_than = 0)

struct Table;
union Node;
struct TValue;

/* A write to the old table `t` at `slot` (a fast set: the key is read from the node). */
void cu_mark_slot(struct Table *t, const struct TValue *slot);
/* A write to the old table `t` under `key` (NULL: not the `_io.output` field). */
void cu_mark_key(struct Table *t, const struct TValue *key);

/* The guest's own bookkeeping tables carry the largest epoch, so they are never "before". */
#define cu_made_before(o) l_unlikely((o)->cu_epoch < cu_older_than)
#define cu_touch_slot(t, slot) { if (cu_made_before(t)) cu_mark_slot(t, slot); }
#define cu_touch_key(t, key) { if (cu_made_before(t)) cu_mark_key(t, key); }
#define cu_touch(o) { if (cu_made_before(o)) cu_changed(); }

#endif
