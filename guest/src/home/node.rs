//! Stored tables in Lua: the proxies' metamethods and the backings behind them.

use std::collections::HashMap;

use mlua::{Function, IntoLuaMulti, Lua, MultiValue, Table, Value};

use super::codec::{self, Body, Key, KeyCode, Record, Shape, Stored};
use super::{Home, Inner, lua_error};
use crate::bigint;

/// Single-key reads of a node before the next read loads all of it: a loop over many keys is
/// cheaper as one scan.
const GETS_BEFORE_SCAN: u32 = 16;

/// Nodes read per round trip when many are read at once.
const PREFETCH_BATCH: usize = 1024;

/// One stored table as this call knows it.
pub struct Node {
    /// The record as decoded (`None`: absent, which only `_home` itself may be before its first write).
    pub record: Option<Record>,
    /// The entries read or written in this call.
    pub backing: Table,
    /// Whether `backing` holds every stored entry.
    pub complete: bool,
    /// The stored bytes of each entry read (`None`: known to be absent).
    pub stored: HashMap<KeyCode, Option<Vec<u8>>>,
    /// Keys written in this call, with the Lua key to read the new value by.
    pub dirty: HashMap<KeyCode, Value>,
    gets: u32,
}

impl Node {
    pub fn new(record: Option<Record>, backing: Table, stored: HashMap<KeyCode, Option<Vec<u8>>>) -> Self {
        Node { record, backing, complete: false, stored, dirty: HashMap::new(), gets: 0 }
    }

    pub fn shape(&self) -> Shape {
        match &self.record {
            Some(Record { body: Body::Table(shape, _), .. }) => *shape,
            _ => Shape::Inferred,
        }
    }
}

/// A Lua value as a table key, or why it cannot be one.
pub fn key_of(value: &Value) -> Result<Key, String> {
    Ok(match value {
        Value::Boolean(b) => Key::Boolean(*b),
        Value::Integer(i) => Key::Integer(*i),
        Value::Number(n) if n.is_nan() => return Err("NaN cannot be a table key".into()),
        // Lua itself turns integral float keys into integers.
        Value::Number(n) if n.fract() == 0.0 && *n >= -(2f64.powi(63)) && *n < 2f64.powi(63) => Key::Integer(*n as i64),
        Value::Number(n) => Key::Float(*n),
        Value::String(s) => Key::String(s.as_bytes().to_vec()),
        other => return Err(format!("a {} cannot be a key of a stored table", other.type_name())),
    })
}

/// How a key reads in a path: `.name`, `[3]`, `["two words"]`.
pub fn segment(key: &Key) -> String {
    match key {
        Key::String(s) if is_identifier(s) => format!(".{}", String::from_utf8_lossy(s)),
        Key::String(s) => format!("[{:?}]", String::from_utf8_lossy(s)),
        Key::Integer(i) => format!("[{i}]"),
        Key::Float(f) => format!("[{f:?}]"),
        Key::Boolean(b) => format!("[{b}]"),
    }
}

fn is_identifier(bytes: &[u8]) -> bool {
    bytes.first().is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        && bytes.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

impl Inner {
    /// Node `id`, reading its record (and `key`'s entry with it, in one round trip) on first touch.
    pub(super) fn node(&mut self, id: u64, key: Option<&KeyCode>) -> mlua::Result<&mut Node> {
        if !self.call.nodes.contains_key(&id) {
            if self.is_embedded(id) {
                self.load_embedded(id)?;
            } else {
                self.prefetch(&[id], key.map(std::slice::from_ref).unwrap_or_default())?;
            }
        }
        Ok(self.call.nodes.get_mut(&id).unwrap_or_else(|| unreachable!("inserted above")))
    }

    /// Reads the records of the nodes `ids` that this call has not read yet, each with its entries
    /// `codes`, in as few round trips as the store's batches allow.
    pub(super) fn prefetch(&mut self, ids: &[u64], codes: &[KeyCode]) -> mlua::Result<()> {
        let mut missing: Vec<u64> =
            ids.iter().copied().filter(|id| !self.call.nodes.contains_key(id) && !self.is_embedded(*id)).collect();
        missing.sort_unstable();
        missing.dedup();
        for batch in missing.chunks(PREFETCH_BATCH) {
            let keys: Vec<Vec<u8>> = batch
                .iter()
                .flat_map(|id| {
                    std::iter::once(codec::record_key(*id)).chain(codes.iter().map(|c| codec::entry_key(*id, c)))
                })
                .collect();
            let path = self.path(batch[0]);
            let found = self.store.get_many(&keys).map_err(|e| self.store_failed(&format!("read {path}"), e))?;
            let mut found = found.into_iter();
            for id in batch {
                let record = found.next().flatten();
                let entries: Vec<Option<Vec<u8>>> = codes.iter().map(|_| found.next().flatten()).collect();
                self.insert_node(*id, record, codes, entries)?;
            }
        }
        Ok(())
    }

    /// Node `id` in this call, from its record and entries as read.
    fn insert_node(
        &mut self,
        id: u64,
        record_bytes: Option<Vec<u8>>,
        codes: &[KeyCode],
        entries: Vec<Option<Vec<u8>>>,
    ) -> mlua::Result<()> {
        let path = self.path(id);
        let record = match &record_bytes {
            None if id == codec::ROOT => None,
            None => return Err(lua_error(format!("{path} is missing from the store: its record was deleted"))),
            Some(bytes) => {
                let record = Record::decode(bytes).map_err(|e| lua_error(format!("{path} cannot be read: {e}")))?;
                if !matches!(record.body, Body::Table(..)) {
                    return Err(lua_error(format!("{path} is stored as a table but its record is not one")));
                }
                Some(record)
            }
        };
        self.call.records.insert(id, record_bytes);
        let backing = self.lua()?.create_table()?;
        let stored: HashMap<KeyCode, Option<Vec<u8>>> = codes.iter().cloned().zip(entries.iter().cloned()).collect();
        self.call.nodes.insert(id, Node::new(record, backing, stored));
        for (code, entry) in codes.iter().zip(entries) {
            if let Some(bytes) = entry {
                self.place(id, code, &bytes)?;
            }
        }
        Ok(())
    }

    /// Reads, in one round trip, the entries `codes` of node `id` that this call has not read.
    pub(super) fn read_entries(&mut self, id: u64, codes: &[KeyCode]) -> mlua::Result<()> {
        let node = self.node(id, None)?;
        if node.complete {
            return Ok(());
        }
        let missing: Vec<KeyCode> =
            codes.iter().filter(|c| !node.stored.contains_key(*c) && !node.dirty.contains_key(*c)).cloned().collect();
        let keys: Vec<Vec<u8>> = missing.iter().map(|c| codec::entry_key(id, c)).collect();
        let path = self.path(id);
        let found = self.store.get_many(&keys).map_err(|e| self.store_failed(&format!("read {path}"), e))?;
        for (code, entry) in missing.iter().zip(found) {
            let node = self.call.nodes.get_mut(&id).ok_or_else(|| lua_error("node not loaded"))?;
            node.stored.insert(code.clone(), entry.clone());
            if let Some(bytes) = entry {
                self.place(id, code, &bytes)?;
            }
        }
        Ok(())
    }

    /// Decodes a stored entry of `id` into its backing.
    fn place(&mut self, id: u64, code: &KeyCode, bytes: &[u8]) -> mlua::Result<()> {
        let key = Key::decode(&code.0).map_err(|e| lua_error(format!("{} has a damaged key: {e}", self.path(id))))?;
        let path = format!("{}{}", self.path(id), segment(&key));
        let stored = Stored::decode(bytes).map_err(|e| lua_error(format!("{path} cannot be read: {e}")))?;
        let value = match stored {
            embedded @ Stored::Embedded(..) => self.embedded_proxy(id, code, embedded, &path)?,
            other => self.materialize(&other, &path)?,
        };
        let lua_key = self.key_value(&key)?;
        let node = self.call.nodes.get(&id).ok_or_else(|| lua_error("node not loaded"))?;
        node.backing.raw_set(lua_key, value)
    }

    pub(super) fn key_value(&self, key: &Key) -> mlua::Result<Value> {
        Ok(match key {
            Key::Boolean(b) => Value::Boolean(*b),
            Key::Integer(i) => Value::Integer(*i),
            Key::Float(f) => Value::Number(*f),
            Key::String(s) => Value::String(self.lua()?.create_string(s)?),
        })
    }

    /// The Lua value of a stored one; `path` names it.
    pub(super) fn materialize(&mut self, stored: &Stored, path: &str) -> mlua::Result<Value> {
        Ok(match stored {
            Stored::Nil => Value::Nil,
            Stored::Boolean(b) => Value::Boolean(*b),
            Stored::Integer(i) => Value::Integer(*i),
            Stored::Float(f) => Value::Number(*f),
            Stored::String(s) => Value::String(self.lua()?.create_string(s)?),
            Stored::Null => Value::NULL,
            Stored::BigInt(value) => Value::UserData(bigint::push(&self.lua()?, value)?),
            Stored::Table(id) => Value::Table(self.proxy(*id, path)?),
            Stored::Function(id) => Value::Function(self.function(*id, path)?),
            Stored::Builtin(name) => match self.builtins.raw_get::<Value>(name.as_str())? {
                Value::Nil => {
                    return Err(lua_error(format!("{path} is the library function {name}, which this build lacks")));
                }
                function => function,
            },
            // Only an entry holds one: `place` makes its proxy, which knows where it is.
            Stored::Embedded(..) => return Err(lua_error(format!("{path} holds an embedded table where none can be"))),
        })
    }

    /// The backing of node `id` with every stored entry in it.
    pub(super) fn complete(&mut self, id: u64) -> mlua::Result<Table> {
        let node = self.node(id, None)?;
        if !node.complete {
            let path = self.path(id);
            let entries = self
                .store
                .scan_prefix(&codec::entry_prefix(id))
                .map_err(|e| self.store_failed(&format!("read {path}"), e))?;
            for (code, bytes) in entries {
                let code = KeyCode(code);
                let node = self.call.nodes.get_mut(&id).ok_or_else(|| lua_error("node not loaded"))?;
                if node.dirty.contains_key(&code) || node.stored.get(&code).is_some_and(Option::is_some) {
                    continue;
                }
                node.stored.insert(code.clone(), Some(bytes.clone()));
                self.place(id, &code, &bytes)?;
            }
            self.mark_complete(id)?;
        }
        Ok(self.call.nodes[&id].backing.clone())
    }

    /// Notes that node `id`'s backing holds every entry, with its shape, for convert.rs.
    pub(super) fn mark_complete(&mut self, id: u64) -> mlua::Result<()> {
        let node = self.call.nodes.get_mut(&id).ok_or_else(|| lua_error("node not loaded"))?;
        node.complete = true;
        let backing = node.backing.clone();
        let shape = node.shape();
        if shape != Shape::Inferred {
            let lua = self.lua()?;
            let marker = lua.create_table()?;
            marker.raw_set(crate::convert::SHAPE_FIELD, if shape == Shape::Array { "array" } else { "object" })?;
            backing.set_metatable(Some(marker))?;
        }
        let path = self.path(id);
        let proxy = self.proxy(id, &path)?;
        self.loaded.raw_set(proxy, &backing)
    }

    pub(super) fn index(&mut self, id: u64, key: Value) -> mlua::Result<Value> {
        let Ok(parsed) = key_of(&key) else { return Ok(Value::Nil) };
        let code = parsed.encode();
        let node = self.node(id, Some(&code))?;
        let value: Value = node.backing.raw_get(&key)?;
        if !value.is_nil() || node.complete || node.dirty.contains_key(&code) || node.stored.contains_key(&code) {
            return Ok(value);
        }
        node.gets += 1;
        if node.gets > GETS_BEFORE_SCAN {
            return self.complete(id)?.raw_get(key);
        }
        let path = format!("{}{}", self.path(id), segment(&parsed));
        let bytes = self
            .store
            .get_many(&[codec::entry_key(id, &code)])
            .map_err(|e| self.store_failed(&format!("read {path}"), e))?
            .pop()
            .flatten();
        let node = self.call.nodes.get_mut(&id).ok_or_else(|| lua_error("node not loaded"))?;
        node.stored.insert(code.clone(), bytes.clone());
        match bytes {
            Some(bytes) => {
                self.place(id, &code, &bytes)?;
                self.call.nodes[&id].backing.raw_get(key)
            }
            None => Ok(Value::Nil),
        }
    }

    fn new_index(&mut self, id: u64, key: Value, value: Value) -> mlua::Result<()> {
        let parsed =
            key_of(&key).map_err(|reason| lua_error(format!("cannot store in {}: {reason}", self.path(id))))?;
        let code = parsed.encode();
        let path = format!("{}{}", self.path(id), segment(&parsed));
        if code.0.len() > codec::MAX_KEY_CODE {
            return Err(lua_error(format!(
                "cannot store {}...: the key is {} bytes, more than the store's limit of {}",
                &path[..path.len().min(60)],
                code.0.len(),
                codec::MAX_KEY_CODE
            )));
        }
        self.check_storable(&value, &path)?;
        let node = self.node(id, None)?;
        node.backing.raw_set(key.clone(), value)?;
        node.dirty.insert(code, key);
        Ok(())
    }

    /// Refuses at once what can never be stored; tables are checked entry by entry at commit.
    fn check_storable(&self, value: &Value, path: &str) -> mlua::Result<()> {
        let refuse = |what: &str| Err(lua_error(format!("cannot store {path}: {what} cannot be stored in _home")));
        match value {
            Value::String(s) if s.as_bytes().len() > codec::MAX_VALUE - 16 => Err(lua_error(format!(
                "cannot store {path}: the string is {} bytes, more than the store's limit of {} bytes per value",
                s.as_bytes().len(),
                codec::MAX_VALUE - 16
            ))),
            Value::Function(f) => self.check_function(f, path),
            Value::Thread(_) => refuse("a thread (coroutine)"),
            Value::UserData(userdata) => match bigint::of_userdata(&self.lua()?, userdata) {
                Some(value) if value.bits() / 8 > (codec::MAX_VALUE - 16) as u64 => Err(lua_error(format!(
                    "cannot store {path}: the bigint takes {} bytes, more than the store's limit of {} bytes per value",
                    value.bits() / 8,
                    codec::MAX_VALUE - 16
                ))),
                Some(_) => Ok(()),
                None => refuse("a userdata"),
            },
            Value::LightUserData(p) if !p.0.is_null() => refuse("a light userdata"),
            _ => Ok(()),
        }
    }

    fn len(&mut self, id: u64) -> mlua::Result<usize> {
        Ok(self.complete(id)?.raw_len())
    }
}

fn proxy_id(home: &Home, proxy: &Table) -> mlua::Result<u64> {
    home.with(|inner| inner.id_of(proxy))?.ok_or_else(|| lua_error("not a stored table"))
}

/// The results of a `_home` operation as its Lua wrapper takes them: `true` and the results, or
/// `false` and the message, which the wrapper raises as a string error at the caller's line (a
/// script's `pcall` gets a string, as from any Lua error). Memory errors stay memory errors.
fn reported<R: IntoLuaMulti>(lua: &Lua, result: mlua::Result<R>) -> mlua::Result<MultiValue> {
    match result {
        Ok(results) => {
            let mut values = results.into_lua_multi(lua)?;
            values.push_front(Value::Boolean(true));
            Ok(values)
        }
        Err(error @ mlua::Error::MemoryError(_)) => Err(error),
        Err(error) => {
            let message = lua.create_string(crate::errors::message_of(&error))?;
            Ok(MultiValue::from_iter([Value::Boolean(false), Value::String(message)]))
        }
    }
}

/// Wraps the Rust side of each metamethod (and of `next`) so that failures are string errors.
const WRAPPERS: &str = r#"
local index, newindex, len, backing, next, error, getmetatable = ...
local meta = {}
function meta.__index(proxy, key)
    local ok, value = index(proxy, key)
    if ok then return value end
    error(value, 2)
end
function meta.__newindex(proxy, key, value)
    local ok, message = newindex(proxy, key, value)
    if not ok then error(message, 2) end
end
function meta.__len(proxy)
    local ok, n = len(proxy)
    if ok then return n end
    error(n, 2)
end
function meta.__pairs(proxy)
    local ok, entries = backing(proxy)
    if ok then return next, entries, nil end
    error(entries, 2)
end
local function home_next(t, key)
    if getmetatable(t) == "_home" then
        local ok, entries = backing(t)
        if not ok then error(entries, 2) end
        return next(entries, key)
    end
    return next(t, key)
end
return meta, home_next
"#;

/// Fills the proxies' metatable and returns the global `next`: Lua's, except that on a stored
/// table it walks the backing.
pub fn install_metamethods(lua: &Lua, home: &Home, meta: &Table) -> mlua::Result<Function> {
    let h = home.clone();
    let index = lua.create_function(move |lua, (proxy, key): (Table, Value)| {
        reported(lua, proxy_id(&h, &proxy).and_then(|id| h.with(|inner| inner.index(id, key))))
    })?;
    let h = home.clone();
    let new_index = lua.create_function(move |lua, (proxy, key, value): (Table, Value, Value)| {
        reported(lua, proxy_id(&h, &proxy).and_then(|id| h.with(|inner| inner.new_index(id, key, value))))
    })?;
    let h = home.clone();
    let len = lua.create_function(move |lua, proxy: Table| {
        reported(lua, proxy_id(&h, &proxy).and_then(|id| h.with(|inner| inner.len(id))))
    })?;
    let h = home.clone();
    let backing = lua.create_function(move |lua, proxy: Table| {
        reported(lua, proxy_id(&h, &proxy).and_then(|id| h.with(|inner| inner.complete(id))))
    })?;
    let globals = lua.globals();
    let (wrapped, next): (Table, Function) = crate::chunks::internal(lua, WRAPPERS, "=[cu]")?.call((
        index,
        new_index,
        len,
        backing,
        globals.raw_get::<Function>("next")?,
        globals.raw_get::<Function>("error")?,
        globals.raw_get::<Function>("getmetatable")?,
    ))?;
    for pair in wrapped.pairs::<Value, Value>() {
        let (name, method) = pair?;
        meta.raw_set(name, method)?;
    }
    meta.raw_set("__name", "stored table")?;
    meta.raw_set("__metatable", "_home")?;
    Ok(next)
}
