/* The per-call deadline: armed by the guest's Rust code, checked from the patched interpreter.
 *
 * Once the deadline has passed, a count hook with a count of 1 is armed on the running thread, so
 * every further Lua instruction raises the error again: a `pcall` can catch it, but the code that
 * called `pcall` cannot run on. That is what makes the limit uncatchable. The hook stays armed after
 * the call; at the next call it finds the deadline not passed and removes itself. */
#include <stdint.h>
#include <time.h>

#include "lauxlib.h"
#include "cu_limits.h"

/* Clock checks are this many ticks apart: a few microseconds of Lua code. */
#define CU_BUDGET 4096

int cu_budget = CU_BUDGET;

static uint64_t deadline_ns; /* 0: no deadline */
static int tripped;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int expired(void) {
    return deadline_ns != 0 && now_ns() >= deadline_ns;
}

static void stop_hook(lua_State *L, lua_Debug *ar) {
    (void)ar;
    if (!expired()) { /* left armed by an earlier call */
        lua_sethook(L, NULL, 0, 0);
        return;
    }
    tripped = 1;
    luaL_error(L, "time limit exceeded");
}

void cu_budget_exhausted(lua_State *L) {
    cu_budget = CU_BUDGET;
    if (expired())
        lua_sethook(L, stop_hook, LUA_MASKCOUNT, 1);
}

void cu_budget_exhausted_c(lua_State *L) {
    cu_budget_exhausted(L);
    if (expired()) {
        tripped = 1;
        luaL_error(L, "time limit exceeded");
    }
}

/* Starts a call: `limit_ms` from now, or no deadline when 0. */
void cu_deadline_start(uint64_t limit_ms) {
    deadline_ns = limit_ms == 0 ? 0 : now_ns() + limit_ms * 1000000u;
    tripped = 0;
    cu_budget = CU_BUDGET;
}

/* Whether the call that just ended was stopped by its deadline. */
int cu_deadline_tripped(void) {
    return tripped;
}
