//! The two limits of a call: the deadline (kept in C, see c/cu_limits.c) and the Lua heap limit
//! (kept by mlua's allocator).

unsafe extern "C" {
    fn cu_deadline_start(limit_ms: u64);
    fn cu_deadline_tripped() -> i32;
}

/// Starts the clock for one call; `limit_ms == 0` means no deadline.
pub fn start_deadline(limit_ms: u64) {
    // SAFETY: plain C functions over static state; the guest is single-threaded.
    unsafe { cu_deadline_start(limit_ms) }
}

/// Whether the call that just ended was stopped by its deadline.
pub fn deadline_tripped() -> bool {
    // SAFETY: as above.
    unsafe { cu_deadline_tripped() != 0 }
}

/// Lua's memory limit in bytes, as mlua takes it (0 = none).
pub fn heap_limit(bytes: u64) -> usize {
    usize::try_from(bytes).unwrap_or(usize::MAX)
}

/// What memory the unit may hold outside the Lua heap (captured `print` output, a bigint result
/// being computed): the memory limit, or 1 GiB when there is none, since WebAssembly's 32-bit
/// memory would otherwise run out with a trap.
pub fn outside_heap(limit: usize) -> usize {
    if limit == 0 { 1 << 30 } else { limit }
}
