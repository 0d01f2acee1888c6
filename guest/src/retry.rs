//! Calls that fail on a commit conflict are run again, when that is exact.
//!
//! Another writer changed `_home` data the call read, so running it again on the new data is what
//! the caller wanted, as long as the failed attempt left nothing behind. Its `_home` writes were
//! never stored and its captured `print` output is dropped; the patched interpreter
//! (c/cu_track.h) tells whether it changed anything else a later call could see: a global, a
//! table or upvalue made before it, an old coroutine, the random generator. An attempt that did
//! (or that printed to a streamed stdout) is not run again, and its conflict reaches the host.
//!
//! Attempts wait a random time between 0 and a doubling ceiling ("full jitter"), so that writers
//! that collided spread out, and never past the call's deadline.

use std::time::Duration;

use std::ffi::c_void;

use mlua::{Lua, LuaString, Table};

/// The most attempts of one call, the first included.
pub const ATTEMPTS: u32 = 16;
/// The ceiling of the first wait; it doubles with each attempt up to [`MAX_WAIT`].
const FIRST_WAIT: Duration = Duration::from_millis(1);
const MAX_WAIT: Duration = Duration::from_millis(64);

unsafe extern "C" {
    fn cu_track_start(io: *const c_void, output: *const core::ffi::c_char);
    fn cu_track_internal(table: *mut c_void);
    fn cu_track_dirty() -> i32;
    fn cu_track_mark();
    fn cu_deadline_left_ns() -> u64;
    fn arc4random_uniform(upper: u32) -> u32;
}

/// Starts an attempt of a call whose `_io` is `io` (`None` for a host operation on `_home`,
/// which runs no script); `output` is the unit's interned string "output".
pub fn start_attempt(io: Option<&Table>, output: &LuaString) {
    let io = io.map_or(std::ptr::null(), Table::to_pointer);
    // SAFETY: plain C functions over static state; the pointers are only compared.
    unsafe { cu_track_start(io, output.to_pointer().cast()) }
}

/// Makes `table` part of the guest's bookkeeping, not of the script's state: writes to it do not
/// keep a call from being run again. For tables scripts cannot reach, or whose contents every call
/// makes anew or only caches (the registry, `require`'s loaded modules, `_home`'s proxies).
pub fn internal(table: &Table) {
    // SAFETY: the pointer is a live table of the unit's state.
    unsafe { cu_track_internal(table.to_pointer().cast_mut()) }
}

/// The registry, as [`internal`]: scripts cannot reach it (the sandbox has no
/// `debug.getregistry`).
pub fn internal_registry(lua: &Lua) -> mlua::Result<()> {
    // SAFETY: reads a pointer to the registry, which lives as long as the state.
    unsafe {
        lua.exec_raw::<()>((), |state| {
            cu_track_internal(mlua::ffi::lua_topointer(state, mlua::ffi::LUA_REGISTRYINDEX).cast_mut())
        })
    }
}

/// Whether the attempt that just failed may be run again: it changed nothing outside `_home`.
pub fn exact() -> bool {
    // SAFETY: as above.
    unsafe { cu_track_dirty() == 0 }
}

/// The attempt did something no retry can take back (it wrote to the unit's stdout).
pub fn mark_irreversible() {
    // SAFETY: as above.
    unsafe { cu_track_mark() }
}

/// Waits before attempt `next` (2, 3, …). `false` when the wait would end past the deadline.
pub fn wait_before(next: u32) -> bool {
    let ceiling = FIRST_WAIT.saturating_mul(1 << (next - 2).min(16)).min(MAX_WAIT);
    // SAFETY: as above; arc4random_uniform is wasi-libc's, seeded from `wasi:random`.
    let wait = Duration::from_micros(u64::from(unsafe { arc4random_uniform(ceiling.as_micros() as u32 + 1) }));
    // SAFETY: as above.
    let left = Duration::from_nanos(unsafe { cu_deadline_left_ns() });
    if wait >= left {
        return false;
    }
    std::thread::sleep(wait);
    true
}
