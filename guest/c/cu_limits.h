/* The time limit, as seen from Lua's C sources (patched in by guest/build.rs).
 *
 * A count hook makes Lua call into the debug machinery on every instruction, which doubles the run
 * time of tight loops. Instead the interpreter decrements `cu_budget` at the few places where a
 * script can keep running forever: function entry and backward jumps (plus pattern matching and
 * sorting inside the string and table libraries). Only when the budget runs out is the clock read. */
#ifndef CU_LIMITS_H
#define CU_LIMITS_H

#include "lua.h"

/* Ticks left before the next clock check. */
extern int cu_budget;

/* Called from the interpreter loop: if the deadline has passed, arms a hook that raises the time
 * limit error at the next instruction (raising here directly would leave the VM state unsaved). */
void cu_budget_exhausted(lua_State *L);

/* Called from library C code, where raising an error directly is safe. */
void cu_budget_exhausted_c(lua_State *L);

#define cu_tick(L) { if (l_unlikely(--cu_budget <= 0)) cu_budget_exhausted(L); }
#define cu_tick_c(L) { if (l_unlikely(--cu_budget <= 0)) cu_budget_exhausted_c(L); }

#endif
