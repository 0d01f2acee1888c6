//! The limits of a call: the deadline and the instruction count (kept in C, see c/cu_limits.c)
//! and the Lua heap limit (kept by mlua's allocator).

use crate::run::OWN_INSTRUCTIONS;

unsafe extern "C" {
    fn cu_deadline_start(limit_ms: u64);
    fn cu_deadline_tripped() -> i32;
    fn cu_meter_start(instructions: u64);
    fn cu_meter_used() -> u64;
    fn cu_meter_tripped() -> i32;
}

/// Starts the clock for one call; `limit_ms == 0` means no deadline. The instruction count starts
/// too, with no limit until [`start_meter`].
pub fn start_deadline(limit_ms: u64) {
    // SAFETY: plain C functions over static state; the guest is single-threaded.
    unsafe {
        cu_deadline_start(limit_ms);
        cu_meter_start(0);
    }
}

/// Starts counting the instructions of one attempt of a call, stopping it after `limit` (0:
/// never). Each attempt has the whole limit, so that the same code on the same data stops at the
/// same instruction however many attempts came before.
pub fn start_meter(limit: u64) {
    let limit = if limit == 0 { 0 } else { limit.saturating_add(OWN_INSTRUCTIONS) };
    // SAFETY: as above.
    unsafe { cu_meter_start(limit) }
}

/// The instructions the attempt run so far has used.
pub fn instructions_used() -> u64 {
    // SAFETY: as above.
    unsafe { cu_meter_used() }.saturating_sub(OWN_INSTRUCTIONS)
}

/// Whether the attempt that just ended was stopped by its instruction limit.
pub fn meter_tripped() -> bool {
    // SAFETY: as above.
    unsafe { cu_meter_tripped() != 0 }
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
