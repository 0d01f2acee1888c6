//! `require` and the `package` table. The unit reads no files: it finds a module among its
//! built-in modules, in `package.preload`, from its host (the `modules` import), or in
//! `_home.modules`, in that order (docs/MODULES.md).

use mlua::chunk::ChunkMode;
use mlua::{Function, Lua, LuaString, Table, Value};

use crate::bindings::cu::unit::modules::{self, Found};

/// Written in Lua so that errors point at the caller's line and a module's own error keeps its
/// traceback: a to-be-closed guard, not a `pcall`, forgets a module that failed while loading.
const REQUIRE: &str = r#"
local loaded, loading, preload, makers, find, home_root, load, error, type, ipairs, format, concat, find_in, sub, setmetatable = ...

local function valid(name)
    return name ~= "" and not find_in(name, "[/\\%z]") and not find_in(name, "%.%.")
        and sub(name, 1, 1) ~= "." and sub(name, -1) ~= "."
end

local function compiled(name, source, origin)
    local loader, message = load(source, origin)
    if not loader then
        error(format("error loading module '%s' from %s:\n\t%s", name, origin, message), 4)
    end
    return loader
end

-- The loader of `name` and its data, or nil and the places searched.
local function search(name)
    local places = {}
    local function missing(place) places[#places + 1] = place end
    local loader = preload[name]
    if loader ~= nil then return loader, ":preload:" end
    missing("no field package.preload['" .. name .. "']")
    if not valid(name) then
        error(format("module name %q is not valid: its parts are separated by dots, none empty, "
            .. "and it holds no '/', '\\' or NUL", name), 3)
    end
    local status, found, origin = find(name)
    if status == "found" then return compiled(name, found, origin), origin end
    if status == "failed" then error(found, 3) end
    for _, place in ipairs(found) do missing(place) end
    local stored = home_root().modules
    if type(stored) == "table" then stored = stored[name] else stored = nil end
    local place = "_home.modules['" .. name .. "']"
    if type(stored) == "string" then return compiled(name, stored, place), place end
    if type(stored) == "function" then return stored, place end
    if stored ~= nil then
        error(format("%s is a %s, not Lua source or a loader function", place, type(stored)), 3)
    end
    missing("no field " .. place)
    return nil, places
end

local function unwind(name)
    return setmetatable({}, { __close = function()
        loading[#loading] = nil
        loading[name] = nil
    end })
end

return function(name)
    if type(name) ~= "string" then
        error("bad argument #1 to 'require' (string expected, got " .. type(name) .. ")", 2)
    end
    local module = loaded[name]
    if module ~= nil then return module end
    local make = makers[name]
    if make then
        module = make()
        loaded[name] = module
        return module
    end
    if loading[name] then
        error(format("module '%s' requires itself while it loads: %s -> %s",
            name, concat(loading, " -> "), name), 2)
    end
    local loader, data = search(name)
    if loader == nil then
        error("module '" .. name .. "' not found:\n\t" .. concat(data, "\n\t"), 2)
    end
    loading[#loading + 1] = name
    loading[name] = true
    local _ <close> = unwind(name)
    local result = loader(name, data)
    if result ~= nil then loaded[name] = result end
    if loaded[name] == nil then loaded[name] = true end
    return loaded[name], data
end
"#;

/// Makes `require`, and the `package` table with `loaded` (the libraries `libraries` names, `_G`
/// and itself) and `preload`. `makers` make the modules that are not globals on first use.
pub fn install(lua: &Lua, globals: &Table, libraries: &[&str], makers: Table) -> mlua::Result<()> {
    let loaded = lua.create_table()?;
    // A call that is run again after a conflict may find the modules it loaded already cached.
    crate::retry::internal(&loaded);
    for name in libraries {
        loaded.raw_set(*name, globals.raw_get::<Table>(*name)?)?;
    }
    loaded.raw_set("_G", globals)?;
    let package = lua.create_table()?;
    package.raw_set("loaded", &loaded)?;
    package.raw_set("preload", lua.create_table()?)?;
    loaded.raw_set("package", &package)?;
    globals.raw_set("package", &package)?;

    let string: Table = globals.raw_get("string")?;
    let table: Table = globals.raw_get("table")?;
    // The modules whose loaders are running, in order, to name a cycle: emptied again by the
    // end of every call, so that writing it is not a change a retried call would see twice.
    let loading = lua.create_table()?;
    crate::retry::internal(&loading);
    let require: Function = crate::chunks::internal(lua, REQUIRE, "=[cu]")?.call((
        loaded,
        loading,
        package.raw_get::<Table>("preload")?,
        makers,
        host_finder(lua)?,
        lua.create_function(|lua, ()| lua.named_registry_value::<Function>(crate::home::ROOT)?.call::<Value>(()))?,
        compiler(lua)?,
        globals.raw_get::<Function>("error")?,
        globals.raw_get::<Function>("type")?,
        globals.raw_get::<Function>("ipairs")?,
        string.raw_get::<Function>("format")?,
        table.raw_get::<Function>("concat")?,
        string.raw_get::<Function>("find")?,
        string.raw_get::<Function>("sub")?,
        globals.raw_get::<Function>("setmetatable")?,
    ))?;
    globals.raw_set("require", require)
}

/// `load(source, origin)` for modules: the loader, or nil and the compiler's message. A first line
/// starting with `#` is skipped, as Lua's `require` skips it in a file. Running out of memory is
/// raised as it is, so that it stays the unit's memory limit error.
fn compiler(lua: &Lua) -> mlua::Result<Function> {
    lua.create_function(|lua, (source, origin): (LuaString, LuaString)| {
        let name = format!("@{}", origin.to_string_lossy());
        let bytes = source.as_bytes();
        // Commented out rather than cut, so that line numbers stay those of the file.
        let source = if bytes.starts_with(b"#") { [b"--".as_slice(), &bytes].concat() } else { bytes.to_vec() };
        match lua.load(source).set_name(name).set_mode(ChunkMode::Text).into_function() {
            Ok(loader) => Ok((Value::Function(loader), Value::Nil)),
            Err(mlua::Error::SyntaxError { message, .. }) => {
                Ok((Value::Nil, Value::String(lua.create_string(message)?)))
            }
            Err(error) => Err(error),
        }
    })
}

/// `find(name)` through the host: `"found", source, origin`, `"missing", places` or
/// `"failed", message`.
fn host_finder(lua: &Lua) -> mlua::Result<Function> {
    lua.create_function(|lua, name: LuaString| {
        let Ok(name) = name.to_str() else {
            return Ok(("failed", Value::String(lua.create_string("a module's name must be UTF-8 text")?), Value::Nil));
        };
        Ok(match modules::find(&name) {
            Ok(Found::Module(module)) => (
                "found",
                Value::String(lua.create_string(&module.source)?),
                Value::String(lua.create_string(&module.origin)?),
            ),
            Ok(Found::Missing(places)) => ("missing", Value::Table(lua.create_sequence_from(places)?), Value::Nil),
            Err(message) => {
                let message = format!("cannot load module '{name}': {message}");
                ("failed", Value::String(lua.create_string(&message)?), Value::Nil)
            }
        })
    })
}
