/* The time limit, as seen from Lua's C sources (patched in by guest/build.rs).
 *
 * A count hook makes Lua call into the debug machinery on every instruction, which doubles the run
 * time of tight loops. Instead the interpreter decrements `cu_budget` at the few places where a
 * script can keep running forever: function entry, backward jumps, and loops inside the string
 * and table libraries. Only when the budget runs out is the clock read. */
#ifndef CU_LIMITS_H
#define CU_LIMITS_H

#include "lua.h"

/* Ticks left before the next clock check. */
extern int cu_budget;

/* Reads the clock; past the deadline, raises the time limit error. The caller's state must be
 * saved for an error to be raised (in the interpreter: `savestate`). */
void cu_budget_exhausted(lua_State *L);

#define cu_tick(L) { if (l_unlikely(--cu_budget <= 0)) cu_budget_exhausted(L); }

#endif
