//! The sandbox's library set, decided here and nowhere else.
//!
//! Scripts get: the base library (with `load` limited to text chunks in C, build.rs, and no
//! `dofile`/`loadfile`),
//! `string`, `table`, `math`, `utf8`, `coroutine`, `os.time`/`os.date`/`os.clock`/`os.difftime`,
//! `debug.traceback` (the whole `debug` library when the host allows it), `require('bigint')` (bigint.rs), `require('home')` (home/module.rs), and a
//! `require` that finds other modules through the host (require.rs). No `io`, no `package.loadlib`
//! or C modules, nothing that reaches files, processes, the environment or the network. Lua 5.1 names the seed
//! documents use (`unpack`, `loadstring`) are kept as aliases. Three globals are cu's own: `null`
//! (JSON's null), `_io` (the structured input and output, io.rs) and `_home` (persistent tables,
//! home/), whose `next` replaces Lua's so that it sees stored tables.

use std::time::Instant;

use mlua::{Function, LightUserData, Lua, LuaOptions, StdLib, Table, Value};

use crate::output::Printed;
use crate::{bigint, convert};

/// The standard libraries opened before trimming: `os` and `debug` are opened only to take the
/// few safe functions above from them.
fn opened() -> StdLib {
    StdLib::COROUTINE | StdLib::TABLE | StdLib::STRING | StdLib::UTF8 | StdLib::MATH | StdLib::OS | StdLib::DEBUG
}

/// Base-library globals that reach the file system.
const REMOVED_GLOBALS: &[&str] = &["dofile", "loadfile"];

/// The libraries `require` returns: those already in the sandbox.
const MODULES: &[&str] = &["string", "table", "math", "utf8", "coroutine", "os", "debug"];

/// Creates a Lua state holding exactly the sandbox's libraries, with `print` writing to `printed`;
/// `memory_limit` (bytes, 0 = none) bounds the digits that bigints hold outside the Lua heap.
/// `allow_debug` keeps the whole `debug` library but `debug.debug` (which reads standard input),
/// for trusted code (docs/MODULES.md, "The debug library").
pub fn new_state(printed: &Printed, memory_limit: usize, allow_debug: bool) -> mlua::Result<Lua> {
    // SAFETY: `debug` is unsafe because of what it can reach: all of it but `traceback` is removed
    // below, before any script runs, unless the host allowed it for trusted code. Bytecode stays
    // refused either way (`load` is patched in C, build.rs).
    let lua = unsafe { Lua::unsafe_new_with(opened(), LuaOptions::new()) };
    let globals = lua.globals();

    for name in REMOVED_GLOBALS {
        globals.raw_remove(*name)?;
    }
    let tostring: Function = globals.raw_get("tostring")?;
    globals.raw_set("print", printed.print_function(&lua, tostring)?)?;
    globals.raw_set("loadstring", globals.raw_get::<Function>("load")?)?;
    let table: Table = globals.raw_get("table")?;
    globals.raw_set("unpack", table.raw_get::<Function>("unpack")?)?;

    keep_only(&lua, &globals, "os", &["time", "date", "difftime"])?;
    let os: Table = globals.raw_get("os")?;
    os.raw_set("clock", clock(&lua)?)?;
    if allow_debug {
        let debug: Table = globals.raw_get("debug")?;
        debug.raw_remove("debug")?;
    } else {
        keep_only(&lua, &globals, "debug", &["traceback"])?;
    }

    bigint::install(&lua, memory_limit)?;
    require(&lua, &globals)?;
    structured_data(&lua, &globals)?;
    Ok(lua)
}

/// `null`, JSON's null inside Lua (a `nil` could not be an array element), and the metatable that
/// keeps arrays from the host arrays even when empty (see convert.rs).
fn structured_data(lua: &Lua, globals: &Table) -> mlua::Result<()> {
    globals.raw_set("null", Value::NULL)?;
    // `null` is the only light userdata a script can reach, so the type's metatable is its own.
    let null = lua.create_table()?;
    null.raw_set("__name", "null")?;
    null.raw_set("__tostring", lua.create_function(|_, ()| Ok("null"))?)?;
    null.raw_set("__metatable", "null")?;
    lua.set_type_metatable::<LightUserData>(Some(null));

    let array = lua.create_table()?;
    array.raw_set(convert::SHAPE_FIELD, "array")?;
    let key = convert::ARRAY_METATABLE.to_str().map_err(mlua::Error::external)?;
    lua.set_named_registry_value(key, array)
}

/// The sandbox's library functions by name (`print`, `string.format`), both ways: `_home` stores
/// them by name, since C functions have no bytecode.
pub fn builtins(lua: &Lua) -> mlua::Result<Table> {
    let globals = lua.globals();
    let builtins = lua.create_table()?;
    let add = |name: String, value: Value| -> mlua::Result<()> {
        if let Value::Function(f) = value {
            builtins.raw_set(f.clone(), name.as_str())?;
            builtins.raw_set(name, f)?;
        }
        Ok(())
    };
    for pair in globals.pairs::<String, Value>() {
        let (name, value) = pair?;
        add(name.clone(), value)?;
    }
    for library in MODULES {
        let table: Table = globals.raw_get(*library)?;
        for pair in table.pairs::<String, Value>() {
            let (name, value) = pair?;
            add(format!("{library}.{name}"), value)?;
        }
    }
    Ok(builtins)
}

/// Replaces the library `name` with a table holding only `keep` of its fields.
fn keep_only(lua: &Lua, globals: &Table, name: &str, keep: &[&str]) -> mlua::Result<()> {
    let full: Table = globals.raw_get(name)?;
    let trimmed = lua.create_table()?;
    for field in keep {
        trimmed.raw_set(*field, full.raw_get::<Value>(*field)?)?;
    }
    globals.raw_set(name, trimmed)
}

/// `os.clock`: WASI has no process CPU time, so this is wall time since the unit was created.
fn clock(lua: &Lua) -> mlua::Result<Function> {
    let start = Instant::now();
    lua.create_function(move |_, ()| Ok(start.elapsed().as_secs_f64()))
}

/// `require`, with the modules that are not globals made on first use.
fn require(lua: &Lua, globals: &Table) -> mlua::Result<()> {
    let makers = lua.create_table()?;
    makers.raw_set("bigint", lua.create_function(|lua, ()| bigint::module(lua))?)?;
    makers.raw_set(
        "home",
        lua.create_function(|lua, ()| {
            lua.named_registry_value::<Function>(crate::home::MODULE_MAKER)?.call::<Table>(())
        })?,
    )?;
    crate::require::install(lua, globals, MODULES, makers)
}
