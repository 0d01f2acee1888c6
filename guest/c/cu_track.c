/* See cu_track.h. A write to `_io.output` does not count: every call starts by setting it to nil,
 * so the next attempt starts from the same `_io` as the first. */
#ifdef CU_UNTRACKED
/* The benchmark's baseline (guest/build.rs): nothing is tracked, so every attempt counts as
 * dirty and is never run again. */
void cu_track_start(const void *io, const char *output) { (void)io; (void)output; }
void cu_track_internal(void *table) { (void)table; }
int cu_track_dirty(void) { return 1; }
void cu_track_mark(void) {}
#else
#include "lobject.h"
#include "lstring.h"
#include "ltable.h"
#include "cu_track.h"

unsigned long long cu_epoch = 1;
unsigned long long cu_older_than = 1;

/* The unit's `_io` table and the text of its interned string "output", for the attempt under way. */
static const Table *io_table;
static const char *output_key;

static int is_output(const Table *t, const TString *key) {
    return t == io_table && getstr(key) == output_key;
}

void cu_mark_slot(Table *t, const TValue *slot) {
    const Node *first = t->node;
    const Node *node = (const Node *)slot; /* a node's value is its first member */
    int in_hash = node >= first && node < first + sizenode(t);
    if (!(in_hash && keyisshrstr(node) && is_output(t, keystrval(node))))
        cu_changed();
}

void cu_mark_key(Table *t, const TValue *key) {
    if (!(key != NULL && ttisshrstring(key) && is_output(t, tsvalue(key))))
        cu_changed();
}

/* Starts a call attempt of the unit whose `_io` is `io` (NULL for a host operation), with
 * `output` the text of the interned "output". */
void cu_track_start(const void *io, const char *output) {
    cu_older_than = ++cu_epoch;
    io_table = io;
    output_key = output;
}

/* Makes `table` the guest's own: writes to it never count. */
void cu_track_internal(void *table) {
    ((Table *)table)->cu_epoch = ~0ULL;
}

/* Whether the attempt changed anything made before it. */
int cu_track_dirty(void) {
    return cu_older_than == 0;
}

/* Something outside Lua's objects changed (streamed `print` output). */
void cu_track_mark(void) {
    cu_changed();
}
#endif
