/* The per-call deadline: armed by the guest's Rust code, checked from the patched interpreter.
 *
 * Past the deadline the budget stays at 1, so every tick raises the error again: a `pcall`, an
 * error handler or a coroutine can catch one of them, but the code around it reaches its next
 * backward jump or call and raises again. That is what makes the limit uncatchable. Errors are
 * raised directly rather than from a hook, because Lua runs error handlers of errors raised inside
 * a hook with hooks disabled. */
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

void cu_budget_exhausted(lua_State *L) {
    if (deadline_ns != 0 && now_ns() >= deadline_ns) {
        tripped = 1;
        cu_budget = 1;
        luaL_error(L, "time limit exceeded");
    }
    cu_budget = CU_BUDGET;
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

/* Nanoseconds left before the deadline: UINT64_MAX with none, 0 once it has passed. */
uint64_t cu_deadline_left_ns(void) {
    if (deadline_ns == 0) return UINT64_MAX;
    uint64_t now = now_ns();
    return now >= deadline_ns ? 0 : deadline_ns - now;
}
