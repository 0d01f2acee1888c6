//! `require('bigint')`: integers of any size, for money and token arithmetic where a float is a
//! bug (docs/BIGINT.md). A bigint is a userdata block holding its digits (block.rs); operators and
//! the module's functions (functions.rs) take bigints, Lua integers and numeric strings on either
//! side, compute in `i128` when both sides fit and with num-bigint otherwise (number.rs).
//!
//! Division: `/`, `bigint.div` and `bigint.mod` truncate toward zero (the seeds' `div`; the
//! remainder has the dividend's sign); `//` and `%` floor, as Lua's integer operators do (the
//! remainder has the divisor's sign). Each pair keeps `a == q * b + r`.

mod block;
mod functions;
mod message;
mod number;
mod registry;

use std::ffi::c_int;

use mlua::ffi::{self, lua_State};
use mlua::{AnyUserData, Lua, Table};
use num_bigint::BigInt;

pub use number::parse_decimal;

/// Prepares a Lua state for bigints, whose memory limit is `limit` bytes (0 = none). Cheap: the
/// module and the metatable are made when first used.
pub fn install(lua: &Lua, limit: usize) -> mlua::Result<()> {
    registry::set_limit(lua, limit)
}

/// The module table `require('bigint')` returns (after [`install`]).
pub fn module(lua: &Lua) -> mlua::Result<Table> {
    registry::ensure_metatable(lua)?;
    // SAFETY: builds one table of C closures, which is the one value left on the stack.
    unsafe {
        lua.exec_raw::<Table>((), |state| {
            ffi::lua_createtable(state, 0, functions::MODULE.len() as c_int);
            registry::fill(state, &functions::MODULE);
        })
    }
}

/// A new bigint userdata holding `value`; a memory limit error when it does not fit.
pub fn push(lua: &Lua, value: &BigInt) -> mlua::Result<AnyUserData> {
    registry::ensure_metatable(lua)?;
    // SAFETY: leaves only the new userdata on the stack; an error is raised inside mlua's
    // protected call, with `value` borrowed from outside it.
    unsafe {
        lua.exec_raw::<AnyUserData>((), |state| {
            registry::push_metatable(state);
            let meta = ffi::lua_gettop(state);
            if let Err(status) = block::push_owned(state, value, meta) {
                registry::reraise(state, status);
            }
            ffi::lua_remove(state, meta);
        })
    }
}

/// The value of `userdata` if it is a bigint.
pub fn of_userdata(lua: &Lua, userdata: &AnyUserData) -> Option<BigInt> {
    let mut value = None;
    // SAFETY: reads the userdata (argument 1) in place.
    let read = unsafe { lua.exec_raw::<()>(userdata, |state| value = at_index(state, 1)) };
    read.ok().and(value)
}

/// The value of the bigint at `index`, if the value there is one.
///
/// # Safety
/// `index` is a valid stack index; two stack slots are free. Allocates outside Lua only.
pub unsafe fn at_index(state: *mut lua_State, index: c_int) -> Option<BigInt> {
    // SAFETY: as the caller promises; the metatable is popped again.
    unsafe {
        let index = ffi::lua_absindex(state, index);
        let value = if registry::push_metatable(state) {
            block::view(state, index, ffi::lua_gettop(state)).map(|view| view.to_bigint())
        } else {
            None
        };
        ffi::lua_pop(state, 1);
        value
    }
}
