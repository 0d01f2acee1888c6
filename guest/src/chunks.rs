//! The chunks a unit compiled last, kept so that code it is given again (a request handler, a
//! loop of `compute` calls) is not parsed again: compiling `return 1` was a third of the guest's
//! part of such a call (`node --cpu-prof` over `npm run bench`'s call, with a guest built with
//! its symbols).
//!
//! A kept chunk runs as a fresh one would: its one upvalue, `_ENV`, is set back to the globals
//! before each run, so a chunk that assigned `_ENV` leaves nothing behind. What differs is only
//! its identity, which only the debug library can observe (`debug.getinfo(1, "f").func`).
//!
//! The guest's own Lua, which every new unit runs, is kept too: as bytecode, per instance.

use std::cell::RefCell;
use std::collections::{HashMap, VecDeque};

use mlua::chunk::ChunkMode;
use mlua::{Function, Lua};

/// The chunks kept at most, the latest used first.
const KEPT: usize = 8;
/// Longer code is compiled each time: its compiled form would hold heap a script may need, and
/// parsing is a small part of running it.
const MAX_KEPT_SOURCE: usize = 16 * 1024;

struct Kept {
    name: String,
    code: Vec<u8>,
    function: Function,
}

#[derive(Default)]
pub struct Chunks {
    kept: VecDeque<Kept>,
}

impl Chunks {
    /// `code`, named `name` in messages, as a function whose `_ENV` is the globals.
    pub fn function(&mut self, lua: &Lua, code: Vec<u8>, name: &str) -> mlua::Result<Function> {
        if let Some(at) = self.kept.iter().position(|k| k.code == code && k.name == name) {
            let kept = self.kept.remove(at).expect("a position found in the queue");
            let function = kept.function.clone();
            self.kept.push_front(kept);
            fresh_environment(lua, &function)?;
            return Ok(function);
        }
        let keep = code.len() <= MAX_KEPT_SOURCE;
        let function = lua.load(&code[..]).set_name(format!("@{name}")).set_mode(ChunkMode::Text).into_function()?;
        if keep {
            self.kept.truncate(KEPT - 1);
            self.kept.push_front(Kept { name: name.to_owned(), code, function: function.clone() });
        }
        Ok(function)
    }

    /// Lets every kept chunk go.
    pub fn clear(&mut self) {
        self.kept.clear();
    }
}

thread_local! {
    /// The guest's own Lua chunks as bytecode, by their source.
    static COMPILED: RefCell<HashMap<&'static str, Vec<u8>>> = RefCell::default();
}

/// `source`, Lua of the guest's own (`'static`), named `name`, as a function. It is compiled once
/// per instance and later units load its bytecode: compiling the 5.5 KB of it took about half of
/// making a unit in a warm instance.
pub fn internal(lua: &Lua, source: &'static str, name: &str) -> mlua::Result<Function> {
    let loaded = COMPILED.with_borrow(|compiled| {
        let bytecode = compiled.get(source)?;
        Some(lua.load(&bytecode[..]).set_name(name).set_mode(ChunkMode::Binary).into_function())
    });
    if let Some(function) = loaded {
        return function;
    }
    let function = lua.load(source).set_name(name).set_mode(ChunkMode::Text).into_function()?;
    COMPILED.with_borrow_mut(|compiled| compiled.insert(source, function.dump(false)));
    Ok(function)
}

/// Sets the first upvalue of the main chunk `function`, which Lua makes its `_ENV`, to the globals.
fn fresh_environment(lua: &Lua, function: &Function) -> mlua::Result<()> {
    // SAFETY: the stack holds the function and the globals table; lua_setupvalue pops the table
    // and leaves the function, which is popped.
    unsafe {
        lua.exec_raw::<()>((function, lua.globals()), |state| {
            mlua::ffi::lua_setupvalue(state, -2, 1);
            mlua::ffi::lua_pop(state, 1);
        })
    }
}
