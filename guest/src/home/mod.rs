//! `_home`: Lua tables (and functions) that persist in the unit's `kv` bucket.
//!
//! Every stored table is a node with an id; `_home` is node 0. In Lua, a stored table is an empty
//! proxy table whose metamethods reach its *backing*: a plain table that holds the entries read so
//! far in this call (one `get` per key until a node is iterated or measured, then one scan for
//! all). Writes go into the backing and mark the key dirty; when the call succeeds, commit.rs turns
//! every dirty key into kv writes and commits them at once, on the condition that nothing this
//! call read has changed since. A failed call writes nothing. Each call starts with empty backings,
//! so it sees what other units committed. docs/HOME.md describes the model and the stored form.

mod audit;
mod catalog;
mod codec;
mod commit;
mod define;
mod embed;
mod function;
mod module;
mod node;
mod order;
mod query;
mod schema;
mod snapshot;
mod store;
mod to_host;
mod views;

use std::cell::RefCell;
use std::collections::HashMap;
use std::ffi::c_void;
use std::rc::Rc;

use mlua::{Function, Lua, Table, Value};

pub use audit::Record as AuditRecord;
pub use catalog::IndexKind;
use codec::Key;
pub use codec::{KeyCode, SnapshotInfo};
pub use define::IndexInfo;
pub use module::{Validation, hits_table};
use node::Node;
pub use query::{Found, Query};
pub use schema::Schema;
pub use snapshot::Stats;
pub use store::StoreError as StoreFailure;
use store::{Store, StoreError};

/// The global `_home`.
pub const GLOBAL: &str = "_home";

/// The registry key of the table mapping each fully loaded proxy to its backing, for convert.rs.
pub const LOADED: &std::ffi::CStr = c"cu.home.loaded";

/// The registry key of the proxies' metatable, for convert.rs.
pub const METATABLE: &std::ffi::CStr = c"cu.home.meta";

/// The registry key of the function that gives `require('home')` (module.rs), for sandbox.rs.
pub const MODULE_MAKER: &str = "cu.home.module";

/// The registry key of a function that returns the proxy of `_home`, for require.rs.
pub const ROOT: &str = "cu.home.root";

/// The registry key of the module once made.
const MODULE: &str = "cu.home.module.made";

/// A key of a path as a host names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PathKey {
    Name(String),
    Index(i64),
}

impl PathKey {
    pub fn code(&self) -> KeyCode {
        match self {
            PathKey::Name(name) => Key::String(name.as_bytes().to_vec()).encode(),
            PathKey::Index(i) => Key::Integer(*i).encode(),
        }
    }

    /// The key a stored path holds, as a host can name it (booleans and floats as text).
    pub fn of(code: &KeyCode) -> PathKey {
        match Key::decode(&code.0) {
            Ok(Key::Integer(i)) => PathKey::Index(i),
            Ok(Key::String(s)) => PathKey::Name(String::from_utf8_lossy(&s).into_owned()),
            Ok(Key::Boolean(b)) => PathKey::Name(b.to_string()),
            Ok(Key::Float(f)) => PathKey::Name(f.to_string()),
            Err(_) => PathKey::Name(String::new()),
        }
    }
}

/// A unit's `_home`: cheap to clone into the Lua callbacks that reach it.
#[derive(Clone)]
pub struct Home {
    inner: Rc<RefCell<Inner>>,
}

struct Inner {
    store: Store,
    lua: mlua::WeakLua,
    /// The proxies' metatable.
    meta: Table,
    /// Node id → its proxy (weak values), so one node has one proxy for as long as Lua holds it.
    proxies: Table,
    /// Proxy → node id (weak keys).
    ids: Table,
    /// Functions of the sandbox's libraries, both ways: function → name and name → function.
    builtins: Table,
    globals: Table,
    /// Proxy → backing, for every node this call loaded completely (registered as `LOADED`).
    loaded: Table,
    call: Call,
    /// The label the host gives the audit log's entries.
    label: Option<String>,
    /// The time of this unit's last audit entry, in nanoseconds.
    audit_clock: u64,
    /// Where the embedded tables this unit made proxies for are stored (embed.rs).
    places: embed::Places,
}

/// What one call has read and written. Dropped when the call ends.
#[derive(Default)]
struct Call {
    nodes: HashMap<u64, Node>,
    /// Every record read, exactly as read (`None`: absent): a commit expects them unchanged.
    records: HashMap<u64, Option<Vec<u8>>>,
    /// Where each node was first reached, for messages.
    paths: HashMap<u64, String>,
    /// Functions loaded, by node id, and back.
    functions: HashMap<u64, Function>,
    function_ids: HashMap<*const c_void, u64>,
    /// Cells bound to an upvalue of a loaded function, and back by `lua_upvalueid`.
    cells: HashMap<u64, function::Binding>,
    cell_ids: HashMap<*mut c_void, u64>,
    /// The catalog of indexes and schemas, once read, with this call's changes to it.
    catalog: Option<views::CatalogState>,
    /// What the audit log names as changed, when not the entries the call changed.
    targets: Vec<String>,
    /// The stored form of each embedded table read in this call, by its proxy's id.
    embedded: HashMap<u64, codec::Stored>,
}

/// Why a commit or a host operation on `_home` failed. Nothing was written.
#[derive(Debug)]
pub enum HomeError {
    /// A value reachable from `_home` cannot be stored.
    Unstorable { path: String, reason: String },
    /// The store refused or failed.
    Store(StoreError),
    /// Stored bytes that cannot be read.
    Corrupt(String),
    /// A snapshot that does not exist.
    NoSnapshot(String),
    /// A record that breaks its table's schema.
    Schema(schema::Violation),
    /// An argument that is not valid (a query, an index, a schema), with why.
    Invalid(String),
    /// Lua failed (out of memory, or an error raised while reaching a value).
    Lua(mlua::Error),
}

impl HomeError {
    /// The error as a message, for a Lua error.
    pub fn message(&self) -> String {
        match self {
            HomeError::Unstorable { path, reason } => format!("{path} {reason}"),
            HomeError::Store(error) => error.to_string(),
            HomeError::Corrupt(message) | HomeError::Invalid(message) => message.clone(),
            HomeError::NoSnapshot(name) => format!("there is no snapshot named '{name}'"),
            HomeError::Schema(violation) => violation.message.clone(),
            HomeError::Lua(error) => crate::errors::message_of(error),
        }
    }
}

impl From<mlua::Error> for HomeError {
    fn from(error: mlua::Error) -> Self {
        HomeError::Lua(error)
    }
}

impl From<StoreError> for HomeError {
    fn from(error: StoreError) -> Self {
        HomeError::Store(error)
    }
}

/// Why a `_home` operation inside Lua failed; raised as a Lua error.
fn lua_error(message: impl Into<String>) -> mlua::Error {
    mlua::Error::runtime(message.into())
}

impl Home {
    /// Installs `_home` in `lua`, stored in the bucket `bucket`. `builtins` lists the sandbox's
    /// library functions by name, both ways (function → name, name → function), once `next` is
    /// the one that sees through stored tables.
    pub fn install(lua: &Lua, bucket: String, builtins: fn(&Lua) -> mlua::Result<Table>) -> mlua::Result<Self> {
        let globals = lua.globals();
        let weak = |mode: &str| -> mlua::Result<Table> {
            let table = lua.create_table()?;
            // Caches of what the store holds, which retry.rs lets a call attempt fill.
            crate::retry::internal(&table);
            let meta = lua.create_table()?;
            meta.raw_set("__mode", mode)?;
            table.set_metatable(Some(meta))?;
            Ok(table)
        };
        let meta = lua.create_table()?;
        let placeholder = lua.create_table()?;
        let loaded = weak("k")?;
        lua.set_named_registry_value(LOADED.to_str().map_err(mlua::Error::external)?, &loaded)?;
        let inner = Inner {
            store: Store::new(bucket),
            lua: lua.weak(),
            meta: meta.clone(),
            proxies: weak("v")?,
            ids: weak("k")?,
            builtins: placeholder,
            globals: globals.clone(),
            loaded,
            call: Call::default(),
            label: None,
            audit_clock: 0,
            places: embed::Places::default(),
        };
        let home = Home { inner: Rc::new(RefCell::new(inner)) };
        let next = node::install_metamethods(lua, &home, &meta)?;
        lua.set_named_registry_value(METATABLE.to_str().map_err(mlua::Error::external)?, &meta)?;
        globals.raw_set("next", next)?;
        let builtins = builtins(lua)?;
        home.with(|inner| {
            inner.builtins = builtins;
            Ok(())
        })?;
        let root = home.with(|inner| inner.proxy(codec::ROOT, GLOBAL))?;
        globals.raw_set(GLOBAL, root)?;
        let h = home.clone();
        lua.set_named_registry_value(MODULE_MAKER, lua.create_function(move |_, ()| h.module())?)?;
        let h = home.clone();
        lua.set_named_registry_value(ROOT, lua.create_function(move |_, ()| h.root())?)?;
        Ok(home)
    }

    /// Runs `f` on the state; fails (instead of panicking) when `_home` is already in use further
    /// up the stack, which only a finalizer running during a `_home` operation can cause.
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> mlua::Result<R>) -> mlua::Result<R> {
        let mut inner = self
            .inner
            .try_borrow_mut()
            .map_err(|_| lua_error("_home cannot be used by a finalizer that runs during a _home operation"))?;
        f(&mut inner)
    }

    /// Forgets what the last call read and wrote: every call starts from the store.
    pub fn start_call(&self) -> mlua::Result<()> {
        self.with(|inner| {
            if !inner.call.nodes.is_empty() {
                // A fresh table, not a cleared one: Lua never shrinks a table, and clearing walks
                // every slot, so one that once held a big call's nodes made each later call pay
                // (a third of an indexed query after 100,000 records were written).
                let lua = inner.lua()?;
                let fresh = lua.create_table()?;
                crate::retry::internal(&fresh);
                fresh.set_metatable(inner.loaded.metatable())?;
                lua.set_named_registry_value(LOADED.to_str().map_err(mlua::Error::external)?, &fresh)?;
                inner.loaded = fresh;
            }
            inner.call = Call::default();
            inner.places.prune(&inner.proxies)
        })
    }

    /// Commits what the call wrote, as `operation` for the audit log, then starts afresh.
    pub fn commit(&self, operation: &str) -> Result<(), HomeError> {
        let result = self.operate(|inner| inner.commit(operation));
        self.start_call().map_err(HomeError::Lua)?;
        result
    }

    fn operate<R>(&self, op: impl FnOnce(&mut Inner) -> Result<R, HomeError>) -> Result<R, HomeError> {
        self.with(|inner| Ok(op(inner))).map_err(HomeError::Lua)?
    }

    /// The proxy of `_home` itself.
    pub fn root(&self) -> mlua::Result<Table> {
        self.with(|inner| inner.proxy(codec::ROOT, GLOBAL))
    }

    /// The entries of a stored table in the store's key order; `None` for any other table.
    pub fn entries(&self, table: &Table) -> mlua::Result<Option<Vec<(Value, Value)>>> {
        self.with(|inner| {
            let Some(id) = inner.id_of(table)? else { return Ok(None) };
            let backing = inner.complete(id)?;
            let mut entries = Vec::new();
            for pair in backing.pairs::<Value, Value>() {
                let (key, value) = pair?;
                let code = node::key_of(&key).map(|k| k.encode()).unwrap_or(KeyCode(Vec::new()));
                entries.push((code, key, value));
            }
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(Some(entries.into_iter().map(|(_, k, v)| (k, v)).collect()))
        })
    }

    pub fn stats(&self) -> Result<Stats, HomeError> {
        self.operate(|inner| inner.stats())
    }

    pub fn save_snapshot(&self, name: &str) -> Result<SnapshotInfo, HomeError> {
        self.operate(|inner| inner.save_snapshot(name))
    }

    pub fn restore_snapshot(&self, name: &str) -> Result<SnapshotInfo, HomeError> {
        self.operate(|inner| inner.restore_snapshot(name))
    }

    pub fn list_snapshots(&self) -> Result<Vec<(String, SnapshotInfo)>, HomeError> {
        self.operate(|inner| inner.list_snapshots())
    }

    pub fn delete_snapshot(&self, name: &str) -> Result<bool, HomeError> {
        self.operate(|inner| inner.delete_snapshot(name))
    }

    /// Sets (or clears) the label of the audit log's entries from now on.
    pub fn set_label(&self, label: Option<String>) -> mlua::Result<()> {
        self.with(|inner| {
            inner.label = label;
            Ok(())
        })
    }

    pub fn label(&self) -> mlua::Result<Option<String>> {
        self.with(|inner| Ok(inner.label.clone()))
    }

    /// Names what the current operation changes, for the audit log.
    pub fn audit_target(&self, target: String) -> mlua::Result<()> {
        self.with(|inner| {
            inner.call.targets.push(target);
            Ok(())
        })
    }

    /// Sets which operations the audit log records (none: it records only changes of this
    /// setting), in a commit of its own.
    pub fn enable_audit(&self, operations: Vec<String>) -> Result<(), HomeError> {
        let settings = audit::Settings::parse(operations).map_err(HomeError::Invalid)?;
        self.operate(|inner| inner.enable_audit(settings))
    }

    /// The audit log's entries from `since` to `until` (milliseconds, included), oldest first.
    pub fn audit_log(&self, since: u64, until: u64, limit: usize) -> Result<Vec<AuditRecord>, HomeError> {
        self.operate(|inner| inner.read_audit(since, until, limit))
    }

    /// `require('home')`, made on first use.
    pub fn module(&self) -> mlua::Result<Table> {
        let lua = self.with(|inner| inner.lua())?;
        if let Some(module) = lua.named_registry_value::<Option<Table>>(MODULE)? {
            return Ok(module);
        }
        let module = module::make(&lua, self)?;
        lua.set_named_registry_value(MODULE, &module)?;
        Ok(module)
    }

    pub fn create_index(
        &self,
        table: Vec<KeyCode>,
        field: Vec<KeyCode>,
        kind: IndexKind,
    ) -> Result<IndexInfo, HomeError> {
        self.operate(|inner| inner.create_index(table, field, kind))
    }

    pub fn drop_index(&self, table: &[KeyCode], field: &[KeyCode]) -> Result<bool, HomeError> {
        self.operate(|inner| inner.drop_index(table, field))
    }

    pub fn indexes(&self) -> Result<Vec<IndexInfo>, HomeError> {
        self.operate(|inner| inner.indexes())
    }

    /// What disagrees between the indexes and their tables (nothing, when all is well).
    pub fn check_indexes(&self) -> Result<Vec<String>, HomeError> {
        self.operate(|inner| {
            let lua = inner.lua()?;
            inner.check_views(&lua)
        })
    }

    /// The records a query selects, each key with its value as the call sees it.
    pub fn query(&self, query: &Query) -> Result<Vec<(Value, Value)>, HomeError> {
        self.operate(|inner| {
            let lua = inner.lua()?;
            inner.query(&lua, query)
        })
    }

    /// What [`Home::query`] selects, in the host's packed form where it can be made without Lua.
    pub fn query_for_host(&self, query: &Query) -> Result<Vec<(Vec<u8>, Found)>, HomeError> {
        self.operate(|inner| {
            let lua = inner.lua()?;
            inner.query_for_host(&lua, query)
        })
    }

    pub fn set_schema(&self, table: Vec<KeyCode>, schema: Option<Schema>) -> Result<(), HomeError> {
        self.operate(|inner| inner.set_schema(table, schema))
    }

    pub fn schema(&self, table: &[KeyCode]) -> Result<Option<Schema>, HomeError> {
        self.operate(|inner| inner.schema(table))
    }

    /// Loads every stored table reachable from `value`, so that it can be converted as a whole.
    pub fn load_reachable(&self, value: &Value) -> mlua::Result<()> {
        self.with(|inner| inner.load_reachable(value))
    }
}

impl Inner {
    fn lua(&self) -> mlua::Result<Lua> {
        self.lua.try_upgrade().ok_or_else(|| lua_error("the Lua state is gone"))
    }

    /// The proxy of node `id`, made on first use. `path` names it in messages.
    fn proxy(&mut self, id: u64, path: &str) -> mlua::Result<Table> {
        // The root's path needs no entry (`path` knows it): every call starts by putting the root
        // back in the global `_home`.
        if id != codec::ROOT {
            self.call.paths.entry(id).or_insert_with(|| path.to_string());
        }
        // Ids are kept in Lua as integers of the same bits: a u64 past 2^63 would become a float.
        let key = id as i64;
        if let Some(proxy) = self.proxies.raw_get::<Option<Table>>(key)? {
            return Ok(proxy);
        }
        let proxy = self.lua()?.create_table()?;
        proxy.set_metatable(Some(self.meta.clone()))?;
        self.proxies.raw_set(key, &proxy)?;
        self.ids.raw_set(&proxy, key)?;
        Ok(proxy)
    }

    /// The node a proxy stands for, or `None` for any other table.
    fn id_of(&self, table: &Table) -> mlua::Result<Option<u64>> {
        Ok(self.ids.raw_get::<Option<i64>>(table)?.map(|id| id as u64))
    }

    fn path(&self, id: u64) -> String {
        if id == codec::ROOT {
            return GLOBAL.to_string();
        }
        self.call.paths.get(&id).cloned().unwrap_or_else(|| format!("{GLOBAL}#{id:016x}"))
    }

    /// A store failure inside Lua code, naming what was being done.
    fn store_failed(&self, doing: &str, error: StoreError) -> mlua::Error {
        lua_error(format!("cannot {doing}: {error}"))
    }

    fn load_reachable(&mut self, value: &Value) -> mlua::Result<()> {
        let mut seen = std::collections::HashSet::new();
        let mut pending = vec![value.clone()];
        while let Some(value) = pending.pop() {
            let Value::Table(table) = value else { continue };
            if !seen.insert(table.to_pointer()) {
                continue;
            }
            let table = match self.id_of(&table)? {
                Some(id) => self.complete(id)?,
                None => table,
            };
            for pair in table.pairs::<Value, Value>() {
                let (_, value) = pair?;
                if value.is_table() {
                    pending.push(value);
                }
            }
        }
        Ok(())
    }
}
