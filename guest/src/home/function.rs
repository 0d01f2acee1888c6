//! Stored functions: Lua bytecode plus upvalues. Each upvalue is a cell node, so closures that
//! shared a variable share it again when loaded, and a loaded closure's variables are written back
//! when the call that loaded it commits (a counter keeps counting across restarts).
//!
//! Bytecode is only ever loaded from the unit's own store, checked against its checksum first;
//! scripts still cannot load binary chunks (sandbox.rs).

use std::ffi::{c_int, c_void};

use mlua::chunk::ChunkMode;
use mlua::ffi;
use mlua::{Function, Lua, Value};

use super::codec::{self, Body, Record, Stored, Upvalue};
use super::{Inner, lua_error};

/// A cell bound to one upvalue of a function loaded in this call.
pub struct Binding {
    pub function: Function,
    pub index: c_int,
    /// The cell's value as stored, to tell whether the call changed it.
    pub stored: Stored,
}

/// The function at stack slot 1 of a raw call.
const FUNCTION: c_int = 1;

/// Number of upvalues of a function.
pub fn upvalue_count(f: &Function) -> c_int {
    f.info().num_upvalues as c_int
}

/// Whether `f` is written in C (or Rust) rather than Lua.
pub fn is_native(f: &Function) -> bool {
    f.info().what == "C"
}

pub fn upvalue(lua: &Lua, f: &Function, index: c_int) -> mlua::Result<Value> {
    // SAFETY: slot 1 holds the function; `lua_getupvalue` pushes the value (or nothing when out of
    // range), and removing the function leaves that value as the only result.
    unsafe {
        lua.exec_raw::<Value>(f, |state| {
            if ffi::lua_getupvalue(state, FUNCTION, index).is_null() {
                ffi::lua_pushnil(state);
            }
            ffi::lua_remove(state, FUNCTION);
        })
    }
}

fn set_upvalue(lua: &Lua, f: &Function, index: c_int, value: Value) -> mlua::Result<()> {
    // SAFETY: slots 1 and 2 hold the function and the value; `lua_setupvalue` pops the value, or
    // leaves it when out of range, and the protected call discards what is left.
    unsafe {
        lua.exec_raw::<()>((f, value), |state| {
            ffi::lua_setupvalue(state, FUNCTION, index);
            ffi::lua_settop(state, 0);
        })
    }
}

/// The identity of an upvalue: closures that share a variable give the same pointer.
pub fn upvalue_id(lua: &Lua, f: &Function, index: c_int) -> mlua::Result<*mut c_void> {
    let mut id = std::ptr::null_mut();
    // SAFETY: slot 1 holds the function; `lua_upvalueid` reads it only.
    unsafe {
        lua.exec_raw::<()>(f, |state| {
            id = ffi::lua_upvalueid(state, FUNCTION, index);
            ffi::lua_settop(state, 0);
        })?;
    }
    Ok(id)
}

/// Makes upvalue `index` of `f` the same variable as upvalue `other_index` of `other`.
fn join(lua: &Lua, f: &Function, index: c_int, other: &Function, other_index: c_int) -> mlua::Result<()> {
    // SAFETY: slots 1 and 2 hold two Lua functions and both indices are within their upvalues.
    unsafe {
        lua.exec_raw::<()>((f, other), |state| {
            ffi::lua_upvaluejoin(state, FUNCTION, index, FUNCTION + 1, other_index);
            ffi::lua_settop(state, 0);
        })
    }
}

/// The bytecode of `f`, with its debug information so that errors keep their line numbers.
pub fn dump(lua: &Lua, f: &Function) -> mlua::Result<Vec<u8>> {
    unsafe extern "C-unwind" fn writer(
        _: *mut ffi::lua_State,
        p: *const c_void,
        size: usize,
        out: *mut c_void,
    ) -> c_int {
        // SAFETY: `out` is the Vec passed to `lua_dump` below, `p` points at `size` bytes.
        unsafe {
            let out = &mut *out.cast::<Vec<u8>>();
            out.extend_from_slice(std::slice::from_raw_parts(p.cast::<u8>(), size));
        }
        0
    }
    let mut bytes: Vec<u8> = Vec::new();
    // SAFETY: slot 1 holds a Lua function; the writer appends to `bytes`, which outlives the call.
    unsafe {
        lua.exec_raw::<()>(f, |state| {
            ffi::lua_dump(state, writer, (&raw mut bytes).cast(), 0);
            ffi::lua_settop(state, 0);
        })?;
    }
    Ok(bytes)
}

impl Inner {
    /// Whether `f` can be stored: a library function, or a Lua function whose upvalues can all be.
    /// Tables in upvalues are checked when they are stored, at commit.
    pub(super) fn check_function(&self, f: &Function, path: &str) -> mlua::Result<()> {
        if self.builtins.contains_key(f)? {
            return Ok(());
        }
        if is_native(f) {
            return Err(lua_error(format!(
                "cannot store {path}: it is a C function that is not part of the sandbox's libraries"
            )));
        }
        let lua = self.lua()?;
        for index in 1..=upvalue_count(f) {
            let value = upvalue(&lua, f, index)?;
            let what = match &value {
                Value::Thread(_) => "a thread (coroutine)",
                Value::UserData(_) => "a userdata",
                Value::LightUserData(p) if !p.0.is_null() => "a light userdata",
                Value::Function(g) if !self.builtins.contains_key(g)? && is_native(g) => "a C function",
                _ => continue,
            };
            return Err(lua_error(format!(
                "cannot store {path}: the function's upvalue {index} is {what}, which cannot be stored in _home"
            )));
        }
        Ok(())
    }

    /// The closure stored as node `id`: the same closure every time within a call.
    pub(super) fn function(&mut self, id: u64, path: &str) -> mlua::Result<Function> {
        if let Some(f) = self.call.functions.get(&id) {
            return Ok(f.clone());
        }
        let bytes = self.store_get(codec::record_key(id), path)?;
        let (upvalues, bytecode) = match bytes.as_deref().map(Record::decode) {
            Some(Ok(Record { body: Body::Function { upvalues, bytecode }, .. })) => (upvalues, bytecode),
            Some(Ok(_)) => return Err(lua_error(format!("{path} is stored as a function but its record is not one"))),
            Some(Err(e)) => return Err(lua_error(format!("{path} cannot be read: {e}"))),
            None => return Err(lua_error(format!("{path} is missing from the store: its function was deleted"))),
        };
        self.call.records.insert(id, bytes);
        let lua = self.lua()?;
        let f = lua
            .load(bytecode)
            .set_name(format!("={path}"))
            .set_mode(ChunkMode::Binary)
            .into_function()
            .map_err(|e| lua_error(format!("{path} cannot be loaded: {e}")))?;
        self.call.functions.insert(id, f.clone());
        self.call.function_ids.insert(f.to_pointer(), id);
        for (i, upvalue) in upvalues.into_iter().enumerate() {
            let index = i as c_int + 1;
            match upvalue {
                Upvalue::Globals => set_upvalue(&lua, &f, index, Value::Table(self.globals.clone()))?,
                Upvalue::Cell(cell) => self.bind(&lua, &f, index, cell, path)?,
            }
        }
        Ok(f)
    }

    /// Gives upvalue `index` of `f` the value of cell `cell`, or joins it to the upvalue already
    /// bound to that cell in this call.
    fn bind(&mut self, lua: &Lua, f: &Function, index: c_int, cell: u64, path: &str) -> mlua::Result<()> {
        if let Some(bound) = self.call.cells.get(&cell) {
            return join(lua, f, index, &bound.function, bound.index);
        }
        let cell_path = format!("{path} (upvalue {index})");
        let bytes = self.store_get(codec::record_key(cell), &cell_path)?;
        let stored = match bytes.as_deref().map(Record::decode) {
            Some(Ok(Record { body: Body::Cell(stored), .. })) => stored,
            Some(Ok(_)) => return Err(lua_error(format!("{cell_path} is stored as a cell but its record is not one"))),
            Some(Err(e)) => return Err(lua_error(format!("{cell_path} cannot be read: {e}"))),
            None => return Err(lua_error(format!("{cell_path} is missing from the store"))),
        };
        self.call.records.insert(cell, bytes);
        let value = self.materialize(&stored, &cell_path)?;
        set_upvalue(lua, f, index, value)?;
        self.call.cell_ids.insert(upvalue_id(lua, f, index)?, cell);
        self.call.cells.insert(cell, Binding { function: f.clone(), index, stored });
        Ok(())
    }

    fn store_get(&mut self, key: Vec<u8>, path: &str) -> mlua::Result<Option<Vec<u8>>> {
        let found = self.store.get_many(&[key]).map_err(|e| self.store_failed(&format!("read {path}"), e))?;
        Ok(found.into_iter().next().flatten())
    }
}
