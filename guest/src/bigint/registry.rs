//! What bigints keep in a Lua state's registry, under light userdata keys (no key string to
//! allocate): the metatable, the memory limit, and a function that raises memory limit errors.

use std::ffi::{c_int, c_void};

use mlua::ffi::{self, lua_State};
use mlua::{Function, Lua};

use super::functions;

/// One byte per key: its address is the key.
static KEYS: [u8; 3] = [0; 3];

fn key(index: usize) -> *const c_void {
    (&raw const KEYS[index]).cast()
}

fn metatable_key() -> *const c_void {
    key(0)
}

fn limit_key() -> *const c_void {
    key(1)
}

fn memory_error_key() -> *const c_void {
    key(2)
}

/// Records the unit's memory limit (0 = none) in a new state.
pub fn set_limit(lua: &Lua, limit: usize) -> mlua::Result<()> {
    // SAFETY: pushes one integer and pops it into the registry.
    unsafe {
        lua.exec_raw::<()>((), |state| {
            ffi::lua_pushinteger(state, limit as ffi::lua_Integer);
            ffi::lua_rawsetp(state, ffi::LUA_REGISTRYINDEX, limit_key());
        })
    }
}

/// What a result may take: the memory limit, or 1 GiB when there is none.
///
/// # Safety
/// One stack slot is free.
pub unsafe fn limit(state: *mut lua_State) -> usize {
    // SAFETY: as the caller promises; the value is popped again.
    let limit = unsafe {
        ffi::lua_rawgetp(state, ffi::LUA_REGISTRYINDEX, limit_key());
        let limit = ffi::lua_tointegerx(state, -1, std::ptr::null_mut());
        ffi::lua_pop(state, 1);
        limit
    };
    crate::limits::outside_heap(usize::try_from(limit).unwrap_or(0))
}

/// Pushes the bigint metatable, or nil before the first bigint; returns whether it was there.
///
/// # Safety
/// One stack slot is free.
pub unsafe fn push_metatable(state: *mut lua_State) -> bool {
    // SAFETY: as the caller promises.
    unsafe { ffi::lua_rawgetp(state, ffi::LUA_REGISTRYINDEX, metatable_key()) == ffi::LUA_TTABLE }
}

/// Makes the bigint metatable unless it is made already: with the first bigint or `require`, so
/// that units that never use bigints do not pay for it.
pub fn ensure_metatable(lua: &Lua) -> mlua::Result<()> {
    // SAFETY: reads one registry slot and pops it.
    let made = unsafe {
        lua.exec_raw::<bool>((), |state| {
            let made = push_metatable(state);
            ffi::lua_pop(state, 1);
            ffi::lua_pushboolean(state, c_int::from(made));
        })
    }?;
    if made {
        return Ok(());
    }
    // mlua turns this function's error into a memory error, which no C function can raise itself.
    let memory_error: Function = lua.create_function(|_, message: mlua::LuaString| {
        Err::<(), _>(mlua::Error::MemoryError(message.to_string_lossy()))
    })?;
    // SAFETY: builds one table of C closures and stores it and the function (argument 1) in the
    // registry; the stack is left as it was.
    unsafe {
        lua.exec_raw::<()>(memory_error, |state| {
            ffi::lua_rawsetp(state, ffi::LUA_REGISTRYINDEX, memory_error_key());
            ffi::lua_createtable(state, 0, functions::METAMETHODS.len() as c_int + 1);
            fill(state, &functions::METAMETHODS);
            ffi::lua_pushliteral(state, c"bigint");
            ffi::lua_setfield(state, -2, c"__name".as_ptr());
            // Blocks are read and made on the promise of this very table (block.rs): scripts
            // see its name instead, and cannot change it.
            ffi::lua_pushliteral(state, c"bigint");
            ffi::lua_setfield(state, -2, c"__metatable".as_ptr());
            ffi::lua_rawsetp(state, ffi::LUA_REGISTRYINDEX, metatable_key());
        })
    }
}

/// Sets each of `functions` in the table on top of the stack, as a closure over the bigint
/// metatable (the table itself, before the metatable is stored).
///
/// # Safety
/// The table is on top of the stack; the metatable is in the registry or is that table; two
/// stack slots are free.
pub unsafe fn fill(state: *mut lua_State, functions: &[(&std::ffi::CStr, ffi::lua_CFunction)]) {
    // SAFETY: as the caller promises.
    unsafe {
        let table = ffi::lua_absindex(state, -1);
        for (name, function) in functions {
            if !push_metatable(state) {
                ffi::lua_pop(state, 1);
                ffi::lua_pushvalue(state, table);
            }
            ffi::lua_pushcclosure(state, *function, 1);
            ffi::lua_setfield(state, table, name.as_ptr());
        }
    }
}

/// Raises a memory limit error saying `message`.
///
/// # Safety
/// The bigint metatable is made; three stack slots are free; the caller owns nothing that needs
/// dropping.
pub unsafe fn raise_memory_error(state: *mut lua_State, message: &[u8]) -> ! {
    // SAFETY: as the caller promises; the function always raises.
    unsafe {
        ffi::lua_rawgetp(state, ffi::LUA_REGISTRYINDEX, memory_error_key());
        ffi::lua_pushlstring(state, message.as_ptr().cast(), message.len());
        ffi::lua_call(state, 1, 0);
        ffi::lua_error(state)
    }
}

/// Raises again the error a protected call left on top of the stack with `status`; a memory error
/// stays one.
///
/// # Safety
/// As [`raise_memory_error`].
pub unsafe fn reraise(state: *mut lua_State, status: c_int) -> ! {
    // SAFETY: as the caller promises.
    unsafe {
        if status == ffi::LUA_ERRMEM {
            raise_memory_error(state, b"not enough memory");
        }
        ffi::lua_error(state)
    }
}
