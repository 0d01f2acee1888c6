//! `require('home')`: indexes, queries, schemas and stored functions from Lua, with the seed's
//! names. Each function works inside the call like any use of `_home`: a query sees the call's
//! own writes, and an index or schema defined in a call takes effect when it commits.

use mlua::{Function, Lua, MultiValue, Table, Value};

use super::catalog::{IndexKind, display};
use super::define::IndexInfo;
use super::query::{Query, path_of};
use super::schema::Schema;
use super::{Home, HomeError};

/// Wraps the Rust functions so that failures are string errors at the caller's line, as from any
/// Lua function, and adds what is written in Lua.
const MODULE: &str = r#"
local rust, root, compile, error, type, ipairs, pairs, tostring, pack, unpack, gmatch = ...
local home = {}
for name, f in pairs(rust) do
    home[name] = function(...)
        local results = pack(f(...))
        if results[1] then return unpack(results, 2, results.n) end
        error(results[2], 2)
    end
end

local function keys(path)
    if path == nil then return {} end
    if type(path) == "table" then return path end
    local found = {}
    for key in gmatch(path, "[^.]+") do found[#found + 1] = key end
    return found
end

function home.persistFunction(where, name, code)
    if type(name) ~= "string" or type(code) ~= "string" then
        error("persistFunction needs a table path, a name and the code as strings", 2)
    end
    local ok, made = compile(name, code)
    if not ok then error(made, 2) end
    local value = made()
    local kind = type(value)
    if kind ~= "function" and kind ~= "table" then
        error("persistFunction: the code gives a " .. kind .. ", not a function or a table of functions", 2)
    end
    local t = root
    for _, key in ipairs(keys(where)) do
        local next = t[key]
        if next == nil then
            next = {}
            t[key] = next
        elseif type(next) ~= "table" then
            error("persistFunction: " .. tostring(key) .. " is a " .. type(next) .. ", not a table", 2)
        end
        t = next
    end
    t[name] = value
    return true
end
return home
"#;

/// Lua's reserved words, which cannot name the local a persisted function calls itself by.
const RESERVED: &[&str] = &[
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in", "local", "nil",
    "not", "or", "repeat", "return", "then", "true", "until", "while",
];

fn is_identifier(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        && !RESERVED.contains(&name)
}

/// The results of a Rust function as the wrappers take them: `true` and the results, or `false`
/// and the message. Memory errors stay memory errors.
fn reported(lua: &Lua, result: Result<MultiValue, HomeError>) -> mlua::Result<MultiValue> {
    match result {
        Ok(mut values) => {
            values.push_front(Value::Boolean(true));
            Ok(values)
        }
        Err(HomeError::Lua(error @ mlua::Error::MemoryError(_))) => Err(error),
        Err(error) => {
            Ok(MultiValue::from_iter([Value::Boolean(false), Value::String(lua.create_string(error.message())?)]))
        }
    }
}

fn invalid(why: String) -> HomeError {
    HomeError::Invalid(why)
}

fn one(value: impl mlua::IntoLua, lua: &Lua) -> Result<MultiValue, HomeError> {
    Ok(MultiValue::from_iter([value.into_lua(lua)?]))
}

/// An index's definition as a Lua table: `{ table = 'appUsers', field = 'score', kind = 'btree' }`.
pub fn index_table(lua: &Lua, info: &IndexInfo) -> mlua::Result<Table> {
    let table = lua.create_table()?;
    table.raw_set("table", display(&info.table))?;
    table.raw_set("field", display(&info.field))?;
    table.raw_set("kind", info.kind.name())?;
    Ok(table)
}

/// The seed's `validateFunction` result: whether code compiles as an expression, and if not why.
#[derive(Debug)]
pub struct Validation {
    /// The compiler's message and the line it names.
    pub error: Option<(String, Option<u32>)>,
}

impl Validation {
    /// Compiles `code` without running it.
    pub fn of(lua: &Lua, code: &str) -> mlua::Result<Validation> {
        Ok(Validation {
            error: expression(lua, code, "code")?.err().map(|message| {
                let line = crate::errors::line_of(&message);
                (message, line)
            }),
        })
    }

    fn to_lua(&self, lua: &Lua) -> mlua::Result<Table> {
        let result = lua.create_table()?;
        result.raw_set("isValid", self.error.is_none())?;
        if let Some((message, line)) = &self.error {
            result.raw_set("error", message.as_str())?;
            result.raw_set("line", *line)?;
        }
        Ok(result)
    }
}

/// `code` compiled as an expression (a chunk that returns it), or the compiler's message, which
/// names the chunk `name`.
fn expression(lua: &Lua, code: &str, name: &str) -> mlua::Result<Result<Function, String>> {
    compiled(lua, &format!("return {code}"), name)
}

/// Compiles the code of a function to persist under `name`, so that running it gives the value
/// to store. The name is a local the code is assigned to, so a function can call itself by it.
fn compile(lua: &Lua, name: &str, code: &str) -> mlua::Result<Result<Function, String>> {
    let plain = expression(lua, code, name)?;
    if plain.is_err() || !is_identifier(name) {
        return Ok(plain);
    }
    // Compiled on its own first, so that its errors name its own lines and tokens only.
    let chunk = format!("local {name}; {name} = {code}\nreturn {name}");
    compiled(lua, &chunk, name)
}

/// `chunk` compiled (not run) under the name `name`, or the compiler's message.
fn compiled(lua: &Lua, chunk: &str, name: &str) -> mlua::Result<Result<Function, String>> {
    match lua.load(chunk).set_name(format!("={name}")).into_function() {
        Ok(f) => Ok(Ok(f)),
        Err(mlua::Error::SyntaxError { message, .. }) => Ok(Err(message)),
        Err(other) => Err(other),
    }
}

/// Adds the Rust function `name` to the module's table, its failures reported to its wrapper.
fn register<A: mlua::FromLuaMulti>(
    lua: &Lua,
    rust: &Table,
    home: &Home,
    name: &str,
    f: impl Fn(&Lua, &Home, A) -> Result<MultiValue, HomeError> + 'static,
) -> mlua::Result<()> {
    let home = home.clone();
    rust.raw_set(name, lua.create_function(move |lua, args: A| reported(lua, f(lua, &home, args)))?)
}

pub fn make(lua: &Lua, home: &Home) -> mlua::Result<Table> {
    let rust = lua.create_table()?;
    register(lua, &rust, home, "createIndex", |lua, home, (table, field, kind): (Value, Value, Option<String>)| {
        let table = path_of(&table, "the index's table").map_err(invalid)?;
        let field = path_of(&field, "the index's field").map_err(invalid)?;
        let kind = kind.as_deref().unwrap_or("btree");
        let kind =
            IndexKind::parse(kind).ok_or_else(|| invalid(format!("unknown index type '{kind}': use btree or hash")))?;
        let info = home.create_index(table, field, kind)?;
        one(index_table(lua, &info)?, lua)
    })?;
    register(lua, &rust, home, "dropIndex", |lua, home, (table, field): (Value, Value)| {
        let table = path_of(&table, "the index's table").map_err(invalid)?;
        let field = path_of(&field, "the index's field").map_err(invalid)?;
        one(home.drop_index(&table, &field)?, lua)
    })?;
    register(lua, &rust, home, "indexes", |lua, home, _: ()| {
        let list = home.indexes()?;
        let tables = list.iter().map(|info| index_table(lua, info)).collect::<mlua::Result<Vec<_>>>()?;
        one(lua.create_sequence_from(tables)?, lua)
    })?;
    register(lua, &rust, home, "query", |lua, home, spec: Value| {
        let Value::Table(spec) = spec else {
            return Err(invalid(format!("query needs a table, not a {}", spec.type_name())));
        };
        let query = Query::parse(lua, &spec).map_err(invalid)?;
        let hits = home.query(&query)?;
        one(hits_table(lua, hits)?, lua)
    })?;
    register(lua, &rust, home, "setSchema", |_, home, (table, schema): (Value, Value)| {
        let table = path_of(&table, "the schema's table").map_err(invalid)?;
        let schema = match schema {
            Value::Nil => None,
            Value::Table(rules) => Some(Schema::parse(&rules).map_err(invalid)?),
            other => return Err(invalid(format!("a schema is a table of rules, not a {}", other.type_name()))),
        };
        home.set_schema(table, schema)?;
        Ok(MultiValue::new())
    })?;
    register(lua, &rust, home, "getSchema", |lua, home, table: Value| {
        let table = path_of(&table, "the schema's table").map_err(invalid)?;
        match home.schema(&table)? {
            Some(schema) => one(schema.to_lua(lua)?, lua),
            None => one(Value::Nil, lua),
        }
    })?;
    register(lua, &rust, home, "checkIndexes", |lua, home, _: ()| {
        let problems = home.check_indexes()?;
        one(lua.create_sequence_from(problems)?, lua)
    })?;
    register(lua, &rust, home, "validateFunction", |lua, _, code: Value| match code {
        Value::String(code) => one(Validation::of(lua, &code.to_string_lossy())?.to_lua(lua)?, lua),
        other => Err(invalid(format!("validateFunction needs the code as a string, not a {}", other.type_name()))),
    })?;
    let compile = lua.create_function(|lua, (name, code): (String, String)| {
        Ok(match compile(lua, &name, &code)? {
            Ok(f) => (true, Value::Function(f)),
            Err(message) => (false, Value::String(lua.create_string(message)?)),
        })
    })?;
    let globals = lua.globals();
    let table: Table = globals.raw_get("table")?;
    let string: Table = globals.raw_get("string")?;
    crate::chunks::internal(lua, MODULE, "=[cu]")?.call((
        rust,
        home.root()?,
        compile,
        globals.raw_get::<Function>("error")?,
        globals.raw_get::<Function>("type")?,
        globals.raw_get::<Function>("ipairs")?,
        globals.raw_get::<Function>("pairs")?,
        globals.raw_get::<Function>("tostring")?,
        table.raw_get::<Function>("pack")?,
        table.raw_get::<Function>("unpack")?,
        string.raw_get::<Function>("gmatch")?,
    ))
}

/// Query results as Lua: an array of `{ key = ..., value = ... }`.
pub fn hits_table(lua: &Lua, hits: Vec<(Value, Value)>) -> mlua::Result<Table> {
    let list = lua.create_table_with_capacity(hits.len(), 0)?;
    for (key, value) in hits {
        let hit = lua.create_table_with_capacity(0, 2)?;
        hit.raw_set("key", key)?;
        hit.raw_set("value", value)?;
        list.raw_push(hit)?;
    }
    Ok(list)
}
