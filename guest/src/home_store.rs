//! The `cu:unit/home-store` export: `_home` from the host. Paths are walked with Lua's own
//! indexing, so the host sees and changes exactly what a script would.

use mlua::{Table, Value as LuaValue};
use packed::Node;

use crate::bindings::cu::unit::types::{Error, Value};
use crate::bindings::exports::cu::unit::compute::UnitBorrow;
use crate::bindings::exports::cu::unit::home_store::{
    AuditEntry, Guest, Hit, HomeStats, IndexInfo, IndexKind, KeyInfo, Kind, Operation, Segment, Snapshot, Validation,
};
use crate::errors;
use crate::home::{self, Found, GLOBAL, KeyCode, PathKey, Query, Schema, SnapshotInfo};
use crate::unit::{Session, Unit};

/// `_home.users[2]` for a path.
fn display(path: &[Segment]) -> String {
    let mut text = GLOBAL.to_string();
    for segment in path {
        match segment {
            Segment::Name(name) if is_identifier(name) => text.push_str(&format!(".{name}")),
            Segment::Name(name) => text.push_str(&format!("[{name:?}]")),
            Segment::Index(i) => text.push_str(&format!("[{i}]")),
        }
    }
    text
}

fn is_identifier(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn key(session: &Session, segment: &Segment) -> Result<LuaValue, Error> {
    Ok(match segment {
        Segment::Name(name) => LuaValue::String(session.lua().create_string(name).map_err(|e| session.lua_error(e))?),
        Segment::Index(i) => LuaValue::Integer(*i),
    })
}

fn nil() -> Value {
    Value { nodes: packed::nil() }
}

/// The table at `path`; with `create`, missing tables on the way are made. `None` when something
/// on the way is missing.
fn table_at(session: &Session, path: &[Segment], create: bool) -> Result<Option<Table>, Error> {
    let lua_error = |e| session.lua_error(e);
    let mut table = session.home().root().map_err(lua_error)?;
    for (depth, segment) in path.iter().enumerate() {
        let key = key(session, segment)?;
        table = match table.get::<LuaValue>(key.clone()).map_err(lua_error)? {
            LuaValue::Table(next) => next,
            LuaValue::Nil if create => {
                let next = session.lua().create_table().map_err(lua_error)?;
                table.set(key, &next).map_err(lua_error)?;
                next
            }
            LuaValue::Nil => return Ok(None),
            other => {
                return Err(errors::runtime(
                    format!("{} is a {}, not a table", display(&path[..=depth]), other.type_name()),
                    String::new(),
                    None,
                ));
            }
        };
    }
    Ok(Some(table))
}

fn get(session: &Session, path: &[Segment]) -> Result<Value, Error> {
    let Some((last, parent)) = path.split_last() else {
        let root = session.home().root().map_err(|e| session.lua_error(e))?;
        return session.to_host(&LuaValue::Table(root), GLOBAL);
    };
    match table_at(session, parent, false)? {
        Some(table) => {
            let value = table.get::<LuaValue>(key(session, last)?).map_err(|e| session.lua_error(e))?;
            session.to_host(&value, &display(path))
        }
        None => Ok(nil()),
    }
}

fn set(session: &Session, path: &[Segment], value: &Value) -> Result<(), Error> {
    let Some((last, parent)) = path.split_last() else {
        return Err(errors::runtime("_home itself cannot be replaced: give a path".into(), String::new(), None));
    };
    let value = session.to_lua(value, &display(path))?;
    if value.is_nil() {
        return delete(session, path);
    }
    let table = table_at(session, parent, true)?.unwrap_or_else(|| unreachable!("made on the way"));
    table.set(key(session, last)?, value).map_err(|e| session.lua_error(e))
}

fn delete(session: &Session, path: &[Segment]) -> Result<(), Error> {
    let Some((last, parent)) = path.split_last() else {
        return Err(errors::runtime("_home itself cannot be deleted: give a path".into(), String::new(), None));
    };
    if let Some(table) = table_at(session, parent, false)? {
        table.set(key(session, last)?, LuaValue::Nil).map_err(|e| session.lua_error(e))?;
    }
    Ok(())
}

/// A path as the stored form keys it.
fn codes(path: &[Segment]) -> Vec<KeyCode> {
    path.iter()
        .map(|segment| match segment {
            Segment::Name(name) => PathKey::Name(name.clone()).code(),
            Segment::Index(i) => PathKey::Index(*i).code(),
        })
        .collect()
}

fn segments(path: &[KeyCode]) -> Vec<Segment> {
    path.iter()
        .map(|code| match PathKey::of(code) {
            PathKey::Name(name) => Segment::Name(name),
            PathKey::Index(i) => Segment::Index(i),
        })
        .collect()
}

fn index_info(info: home::IndexInfo) -> IndexInfo {
    let kind = match info.kind {
        home::IndexKind::Btree => IndexKind::Btree,
        home::IndexKind::Hash => IndexKind::Hash,
    };
    IndexInfo { table: segments(&info.table), field: segments(&info.field), kind }
}

/// Names `path` as what the operation changes, for the audit log.
fn note(session: &Session, path: Vec<Segment>) -> Result<(), Error> {
    session.home().audit_target(display(&path)).map_err(|e| session.lua_error(e))
}

/// A table the host gave as a value (a query, a schema); `what` names it in errors.
fn table_of(session: &Session, value: &Value, what: &str) -> Result<Option<Table>, Error> {
    match session.to_lua(value, what)? {
        LuaValue::Table(table) => Ok(Some(table)),
        LuaValue::Nil => Ok(None),
        other => Err(invalid(format!("{what} must be a map, not a {}", other.type_name()))),
    }
}

fn invalid(message: String) -> Error {
    errors::runtime(message, String::new(), None)
}

/// A query in the seed's form.
fn parsed(session: &Session, spec: &Value) -> Result<Query, Error> {
    let spec = table_of(session, spec, "query")?.ok_or_else(|| invalid("query must be a map, not nil".into()))?;
    Query::parse(session.lua(), &spec).map_err(invalid)
}

/// The records a query in the seed's form selects.
fn query(session: &Session, spec: &Value) -> Result<Vec<(LuaValue, LuaValue)>, Error> {
    let query = parsed(session, spec)?;
    session.home().query(&query).map_err(|e| session.home_error(e))
}

/// A query result's key (packed) as a path segment, for messages.
fn key_text(key: &[u8]) -> String {
    match packed::Reader::new(key).next() {
        Ok(Node::String(s)) => format!("[{:?}]", String::from_utf8_lossy(s)),
        Ok(Node::Integer(i)) => format!("[{i}]"),
        Ok(Node::Float(f)) => format!("[{f}]"),
        Ok(Node::Boolean(b)) => format!("[{b}]"),
        _ => String::new(),
    }
}

fn kind(value: &LuaValue) -> Kind {
    match value {
        LuaValue::Boolean(_) => Kind::Boolean,
        LuaValue::Integer(_) => Kind::Integer,
        LuaValue::Number(_) => Kind::Float,
        LuaValue::String(_) => Kind::String,
        LuaValue::Function(_) => Kind::Function,
        LuaValue::Table(_) => Kind::Table,
        _ => Kind::Null,
    }
}

fn snapshot(name: String, info: SnapshotInfo) -> Snapshot {
    Snapshot { name, keys: info.keys, bytes: info.bytes, saved_ms: info.saved_ms }
}

/// Runs `op` on the unit's `_home` as one transaction; `operation` names it for the audit log.
fn with_unit<R>(
    target: UnitBorrow<'_>,
    operation: &str,
    op: impl Fn(&Session) -> Result<R, Error>,
) -> Result<R, Error> {
    target.get::<Unit>().home_transaction(operation, op)
}

impl Guest for crate::Component {
    fn get(target: UnitBorrow<'_>, path: Vec<Segment>) -> Result<Value, Error> {
        with_unit(target, "get", |session| get(session, &path))
    }

    fn set(target: UnitBorrow<'_>, path: Vec<Segment>, value: Value) -> Result<(), Error> {
        with_unit(target, "set", |session| set(session, &path, &value))
    }

    fn delete(target: UnitBorrow<'_>, path: Vec<Segment>) -> Result<(), Error> {
        with_unit(target, "delete", |session| delete(session, &path))
    }

    fn keys(target: UnitBorrow<'_>, path: Vec<Segment>) -> Result<Vec<KeyInfo>, Error> {
        with_unit(target, "keys", |session| {
            let name = display(&path);
            let Some(table) = table_at(session, &path, false)? else {
                return Err(errors::runtime(format!("{name} does not exist"), String::new(), None));
            };
            let entries = session.home().entries(&table).map_err(|e| session.lua_error(e))?;
            let entries = entries.unwrap_or_default();
            entries
                .iter()
                .map(|(key, value)| Ok(KeyInfo { key: session.to_host(key, &name)?, kind: kind(value) }))
                .collect()
        })
    }

    fn batch(target: UnitBorrow<'_>, operations: Vec<Operation>) -> Result<Vec<Value>, Error> {
        with_unit(target, "batchTableOperations", |session| {
            operations
                .iter()
                .map(|operation| match operation {
                    Operation::Get(path) => get(session, path),
                    Operation::Set((path, value)) => set(session, path, value).map(|()| nil()),
                    Operation::Delete(path) => delete(session, path).map(|()| nil()),
                    Operation::Query(spec) => {
                        let hits = query(session, spec)?;
                        let table = home::hits_table(session.lua(), hits).map_err(|e| session.lua_error(e))?;
                        session.to_host(&LuaValue::Table(table), "query")
                    }
                })
                .collect()
        })
    }

    fn stats(target: UnitBorrow<'_>) -> Result<HomeStats, Error> {
        with_unit(target, "stats", |session| {
            let stats = session.home().stats().map_err(|e| session.home_error(e))?;
            Ok(HomeStats {
                tables: stats.tables,
                functions: stats.functions,
                entries: stats.entries,
                bytes: stats.bytes,
                saved: stats.saved,
            })
        })
    }

    fn save_snapshot(target: UnitBorrow<'_>, name: String) -> Result<Snapshot, Error> {
        with_unit(target, "saveSnapshot", |session| {
            let info = session.home().save_snapshot(&name).map_err(|e| session.home_error(e))?;
            Ok(snapshot(name.clone(), info))
        })
    }

    fn restore_snapshot(target: UnitBorrow<'_>, name: String) -> Result<Snapshot, Error> {
        with_unit(target, "restoreSnapshot", |session| {
            let info = session.home().restore_snapshot(&name).map_err(|e| session.home_error(e))?;
            Ok(snapshot(name.clone(), info))
        })
    }

    fn list_snapshots(target: UnitBorrow<'_>) -> Result<Vec<Snapshot>, Error> {
        with_unit(target, "listSnapshots", |session| {
            let list = session.home().list_snapshots().map_err(|e| session.home_error(e))?;
            Ok(list.into_iter().map(|(name, info)| snapshot(name, info)).collect())
        })
    }

    fn delete_snapshot(target: UnitBorrow<'_>, name: String) -> Result<bool, Error> {
        with_unit(target, "deleteSnapshot", |session| {
            session.home().delete_snapshot(&name).map_err(|e| session.home_error(e))
        })
    }

    fn create_index(
        target: UnitBorrow<'_>,
        table: Vec<Segment>,
        field: Vec<Segment>,
        kind: IndexKind,
    ) -> Result<IndexInfo, Error> {
        let kind = match kind {
            IndexKind::Btree => home::IndexKind::Btree,
            IndexKind::Hash => home::IndexKind::Hash,
        };
        with_unit(target, "createIndex", |session| {
            note(session, [table.as_slice(), &field].concat())?;
            let info = session.home().create_index(codes(&table), codes(&field), kind);
            info.map(index_info).map_err(|e| session.home_error(e))
        })
    }

    fn drop_index(target: UnitBorrow<'_>, table: Vec<Segment>, field: Vec<Segment>) -> Result<bool, Error> {
        with_unit(target, "dropIndex", |session| {
            note(session, [table.as_slice(), &field].concat())?;
            session.home().drop_index(&codes(&table), &codes(&field)).map_err(|e| session.home_error(e))
        })
    }

    fn list_indexes(target: UnitBorrow<'_>) -> Result<Vec<IndexInfo>, Error> {
        with_unit(target, "listIndexes", |session| {
            let list = session.home().indexes().map_err(|e| session.home_error(e))?;
            Ok(list.into_iter().map(index_info).collect())
        })
    }

    fn check_indexes(target: UnitBorrow<'_>) -> Result<Vec<String>, Error> {
        with_unit(target, "checkIndexes", |session| session.home().check_indexes().map_err(|e| session.home_error(e)))
    }

    fn query(target: UnitBorrow<'_>, spec: Value) -> Result<Vec<Hit>, Error> {
        with_unit(target, "query", |session| {
            let query = parsed(session, &spec)?;
            let found = session.home().query_for_host(&query).map_err(|e| session.home_error(e))?;
            found
                .into_iter()
                .map(|(key, value)| {
                    let value = match value {
                        Found::Packed(nodes) => Value { nodes },
                        Found::Lua(value) => session.to_host(&value, &key_text(&key))?,
                    };
                    Ok(Hit { key: Value { nodes: key }, value })
                })
                .collect()
        })
    }

    fn set_schema(target: UnitBorrow<'_>, table: Vec<Segment>, schema: Value) -> Result<(), Error> {
        with_unit(target, "setSchema", |session| {
            note(session, table.clone())?;
            let schema = match table_of(session, &schema, "schema")? {
                Some(rules) => Some(Schema::parse(&rules).map_err(invalid)?),
                None => None,
            };
            session.home().set_schema(codes(&table), schema).map_err(|e| session.home_error(e))
        })
    }

    fn get_schema(target: UnitBorrow<'_>, table: Vec<Segment>) -> Result<Value, Error> {
        with_unit(target, "getSchema", |session| {
            match session.home().schema(&codes(&table)).map_err(|e| session.home_error(e))? {
                Some(schema) => {
                    let table = schema.to_lua(session.lua()).map_err(|e| session.lua_error(e))?;
                    session.to_host(&LuaValue::Table(table), "schema")
                }
                None => Ok(nil()),
            }
        })
    }

    fn enable_audit_log(target: UnitBorrow<'_>, operations: Vec<String>) -> Result<(), Error> {
        with_unit(target, "enableAuditLog", |session| {
            session.home().enable_audit(operations.clone()).map_err(|e| session.home_error(e))
        })
    }

    fn read_audit_log(
        target: UnitBorrow<'_>,
        since_ms: Option<u64>,
        until_ms: Option<u64>,
        limit: Option<u32>,
    ) -> Result<Vec<AuditEntry>, Error> {
        with_unit(target, "readAuditLog", |session| {
            let (since, until) = (since_ms.unwrap_or(0), until_ms.unwrap_or(u64::MAX));
            let limit = limit.map_or(usize::MAX, |n| n as usize);
            let records = session.home().audit_log(since, until, limit).map_err(|e| session.home_error(e))?;
            Ok(records
                .into_iter()
                .map(|r| AuditEntry {
                    time_ms: r.time_ms,
                    operation: r.operation,
                    targets: r.targets,
                    more: r.more,
                    label: r.label,
                })
                .collect())
        })
    }

    fn set_audit_label(target: UnitBorrow<'_>, label: Option<String>) {
        // Setting a field of the unit cannot fail but for a finalizer using `_home` meanwhile.
        let _ = target.get::<Unit>().home_label(label);
    }

    fn validate_function(target: UnitBorrow<'_>, code: String) -> Result<Validation, Error> {
        with_unit(target, "validateFunction", |session| {
            let validation = home::Validation::of(session.lua(), &code).map_err(|e| session.lua_error(e))?;
            let (error, line) = validation.error.map_or((None, None), |(message, line)| (Some(message), line));
            Ok(Validation { is_valid: error.is_none(), error, line })
        })
    }

    fn persist_function(target: UnitBorrow<'_>, table: Vec<Segment>, name: String, code: String) -> Result<(), Error> {
        with_unit(target, "persistFunction", |session| {
            let lua_error = |e| session.lua_error(e);
            let keys = table.iter().map(|segment| key(session, segment)).collect::<Result<Vec<_>, _>>()?;
            let keys = session.lua().create_sequence_from(keys).map_err(lua_error)?;
            let module = session.home().module().map_err(lua_error)?;
            let persist: mlua::Function = module.raw_get("persistFunction").map_err(lua_error)?;
            persist.call::<()>((keys, name.as_str(), code.as_str())).map_err(lua_error)
        })
    }
}
