/* The time limit and the instruction count, as seen from Lua's C sources (patched in by
 * guest/build.rs).
 *
 * A count hook makes Lua call into the debug machinery on every instruction, which doubles the run
 * time of tight loops. Instead the interpreter charges `cu_budget` at the few places where a
 * script can keep running forever: function entry, loop iterations (an integer `for` loop pays
 * for 1,024 iterations at a time), and loops inside the string and table libraries. What it
 * charges is the call's instruction count, the same on every machine; only when the budget runs
 * out is the clock read and the instruction limit checked. */
#ifndef CU_LIMITS_H
#define CU_LIMITS_H

#include "lua.h"

/* Instructions left before the next check. */
extern int cu_budget;

/* Reads the clock; past the deadline, raises the time limit error. The caller's state must be
 * saved for an error to be raised (in the interpreter: `savestate`). */
void cu_budget_exhausted(lua_State *L);

#define cu_tick(L) { if (l_unlikely(--cu_budget <= 0)) cu_budget_exhausted(L); }
#define cu_charge(L, n) { cu_budget -= (n); if (l_unlikely(cu_budget <= 0)) cu_budget_exhausted(L); }

#endif
