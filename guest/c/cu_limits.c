/* The per-call deadline and instruction count: armed by the guest's Rust code, checked from the
 * patched interpreter.
 *
 * Past the deadline (or the instruction limit) the budget stays at 1, so every tick raises the error again: a `pcall`, an
 * error handler or a coroutine can catch one of them, but the code around it reaches its next
 * backward jump or call and raises again. That is what makes the limit uncatchable. Errors are
 * raised directly rather than from a hook, because Lua runs error handlers of errors raised inside
 * a hook with hooks disabled. */
#include <stdint.h>
#include <time.h>

#include "lauxlib.h"
#include "cu_limits.h"

/* Checks are this many instructions apart: tens of microseconds of Lua code. */
#define CU_BUDGET 65536

int cu_budget = CU_BUDGET;

static uint64_t deadline_ns; /* 0: no deadline */
static int tripped;

/* The instruction count of the call attempt under way: `charged` before the current window of
 * `window` instructions, of which `cu_budget` are left; `limit` (0: none) and whether it stopped
 * the attempt. */
static uint64_t charged;
static int window = CU_BUDGET;
static uint64_t limit;
static int limit_tripped;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Opens the next window: at most the instructions left under the limit plus one, so that the
 * check runs exactly when the limit is passed. */
static void refill(void) {
    window = CU_BUDGET;
    if (limit != 0 && limit - charged < (uint64_t)CU_BUDGET)
        window = (int)(limit - charged) + 1;
    cu_budget = window;
}

void cu_budget_exhausted(lua_State *L) {
    charged += (uint64_t)(window - cu_budget); /* cu_budget <= 0: what was charged past the window */
    if (deadline_ns != 0 && now_ns() >= deadline_ns) {
        tripped = 1;
        window = cu_budget = 1;
        luaL_error(L, "time limit exceeded");
    }
    if (limit != 0 && charged > limit) {
        limit_tripped = 1;
        window = cu_budget = 1;
        luaL_error(L, "instruction limit exceeded");
    }
    refill();
}

/* Starts a call: `limit_ms` from now, or no deadline when 0. */
void cu_deadline_start(uint64_t limit_ms) {
    deadline_ns = limit_ms == 0 ? 0 : now_ns() + limit_ms * 1000000u;
    tripped = 0;
}

/* Starts counting the instructions of a call attempt, stopping it after `instructions` (0: never). */
void cu_meter_start(uint64_t instructions) {
    charged = 0;
    limit = instructions;
    limit_tripped = 0;
    refill();
}

/* The instructions the attempt under way (or just ended) has run. */
uint64_t cu_meter_used(void) {
    return charged + (uint64_t)(window - cu_budget);
}

/* Whether the attempt that just ended was stopped by its instruction limit. */
int cu_meter_tripped(void) {
    return limit_tripped;
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
