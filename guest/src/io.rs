//! The `_io` table: structured input, output and metadata beside a call's arguments and results,
//! and the `cu:unit/io-table` export that reaches it from the host.
//!
//! The global `_io` is the channel: a script may replace it (`_io = {output = x}`) and the host
//! reads the new table. When it holds something other than a table, the next call or host
//! operation puts a fresh empty table there.

use mlua::{IntoLua, Lua, LuaString, Table, Value as LuaValue};

use crate::bindings::cu::unit::types::{Error, Value};
use crate::bindings::exports::cu::unit::compute::UnitBorrow;
use crate::bindings::exports::cu::unit::io_table::Guest;
use crate::unit::Unit;

const GLOBAL: &str = "_io";
const INPUT: &str = "input";
const OUTPUT: &str = "output";
const META: &str = "meta";

/// The names every call starts with, interned once: a `&str` key is made a Lua string (hashed
/// and looked up) at each use.
pub struct Keys {
    io: LuaString,
    /// `_io.output`, the field a call may set without that counting as a change (retry.rs).
    pub output: LuaString,
    pub home: LuaString,
}

impl Keys {
    pub fn new(lua: &Lua) -> mlua::Result<Self> {
        let home = lua.create_string(crate::home::GLOBAL)?;
        Ok(Self { io: lua.create_string(GLOBAL)?, output: lua.create_string(OUTPUT)?, home })
    }
}

/// The `_io` table (the global `name`), made anew when the global is not a table.
fn table(lua: &Lua, name: impl IntoLua + Copy) -> mlua::Result<Table> {
    let globals = lua.globals();
    if let LuaValue::Table(table) = globals.raw_get(name)? {
        return Ok(table);
    }
    let table = lua.create_table()?;
    globals.raw_set(name, &table)?;
    Ok(table)
}

/// Every `compute` and `call` starts without the previous call's output; returns `_io`.
pub fn start_call(lua: &Lua, keys: &Keys) -> mlua::Result<Table> {
    let io = table(lua, &keys.io)?;
    io.raw_set(&keys.output, LuaValue::Nil)?;
    Ok(io)
}

fn field(lua: &Lua, name: &str) -> mlua::Result<LuaValue> {
    table(lua, GLOBAL)?.raw_get(name)
}

fn set_field(lua: &Lua, name: &str, value: LuaValue) -> mlua::Result<()> {
    table(lua, GLOBAL)?.raw_set(name, value)
}

impl Guest for crate::Component {
    fn set_input(target: UnitBorrow<'_>, input: Value) -> Result<(), Error> {
        target.get::<Unit>().put("_io.input", &input, |lua, value| set_field(lua, INPUT, value))
    }

    fn set_input_field(target: UnitBorrow<'_>, key: String, value: Value) -> Result<(), Error> {
        let root = format!("_io.input.{key}");
        target.get::<Unit>().put(&root, &value, |lua, value| {
            let input = match field(lua, INPUT)? {
                LuaValue::Table(input) => input,
                LuaValue::Nil => {
                    let input = lua.create_table()?;
                    set_field(lua, INPUT, LuaValue::Table(input.clone()))?;
                    input
                }
                other => {
                    // Lua's names: mlua calls integers and floats apart.
                    let kind = if other.is_number() || other.is_integer() { "number" } else { other.type_name() };
                    return Err(mlua::Error::runtime(format!(
                        "cannot set field '{key}' of _io.input: it is a {kind}, not a table"
                    )));
                }
            };
            input.raw_set(key.as_str(), value)
        })
    }

    fn get_input(target: UnitBorrow<'_>) -> Result<Value, Error> {
        target.get::<Unit>().take("_io.input", |lua| field(lua, INPUT))
    }

    fn get_output(target: UnitBorrow<'_>) -> Result<Value, Error> {
        target.get::<Unit>().take("_io.output", |lua| field(lua, OUTPUT))
    }

    fn get_output_field(target: UnitBorrow<'_>, key: String) -> Result<Value, Error> {
        let root = format!("_io.output.{key}");
        target.get::<Unit>().take(&root, |lua| match field(lua, OUTPUT)? {
            LuaValue::Table(output) => output.raw_get(key.as_str()),
            _ => Ok(LuaValue::Nil),
        })
    }

    fn set_metadata(target: UnitBorrow<'_>, meta: Value) -> Result<(), Error> {
        target.get::<Unit>().put("_io.meta", &meta, |lua, value| set_field(lua, META, value))
    }

    fn get_metadata(target: UnitBorrow<'_>) -> Result<Value, Error> {
        target.get::<Unit>().take("_io.meta", |lua| field(lua, META))
    }

    fn clear(target: UnitBorrow<'_>) {
        // Assigning nil to fields of an existing table never allocates, so this cannot fail; a
        // fresh `_io` table (when a script replaced it) needs memory, and then `_io` is empty anyway.
        let _ = target.get::<Unit>().take("_io", |lua| {
            let io = table(lua, GLOBAL)?;
            for name in [INPUT, OUTPUT, META] {
                io.raw_set(name, LuaValue::Nil)?;
            }
            Ok(LuaValue::Nil)
        });
    }
}
