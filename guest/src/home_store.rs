//! The `cu:unit/home-store` export: `_home` from the host. Paths are walked with Lua's own
//! indexing, so the host sees and changes exactly what a script would.

use mlua::{Table, Value as LuaValue};

use crate::bindings::cu::unit::types::{Error, Value};
use crate::bindings::exports::cu::unit::compute::UnitBorrow;
use crate::bindings::exports::cu::unit::home_store::{Guest, HomeStats, KeyInfo, Kind, Operation, Segment, Snapshot};
use crate::errors;
use crate::home::{GLOBAL, SnapshotInfo};
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

fn with_unit<R>(target: UnitBorrow<'_>, op: impl FnOnce(&Session) -> Result<R, Error>) -> Result<R, Error> {
    target.get::<Unit>().home_transaction(op)
}

impl Guest for crate::Component {
    fn get(target: UnitBorrow<'_>, path: Vec<Segment>) -> Result<Value, Error> {
        with_unit(target, |session| get(session, &path))
    }

    fn set(target: UnitBorrow<'_>, path: Vec<Segment>, value: Value) -> Result<(), Error> {
        with_unit(target, |session| set(session, &path, &value))
    }

    fn delete(target: UnitBorrow<'_>, path: Vec<Segment>) -> Result<(), Error> {
        with_unit(target, |session| delete(session, &path))
    }

    fn keys(target: UnitBorrow<'_>, path: Vec<Segment>) -> Result<Vec<KeyInfo>, Error> {
        with_unit(target, |session| {
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
        with_unit(target, |session| {
            operations
                .iter()
                .map(|operation| match operation {
                    Operation::Get(path) => get(session, path),
                    Operation::Set((path, value)) => set(session, path, value).map(|()| nil()),
                    Operation::Delete(path) => delete(session, path).map(|()| nil()),
                })
                .collect()
        })
    }

    fn stats(target: UnitBorrow<'_>) -> Result<HomeStats, Error> {
        with_unit(target, |session| {
            let stats = session.home().stats().map_err(|e| session.home_error(e))?;
            Ok(HomeStats {
                tables: stats.tables,
                functions: stats.functions,
                entries: stats.entries,
                bytes: stats.bytes,
            })
        })
    }

    fn save_snapshot(target: UnitBorrow<'_>, name: String) -> Result<Snapshot, Error> {
        with_unit(target, |session| {
            let info = session.home().save_snapshot(&name).map_err(|e| session.home_error(e))?;
            Ok(snapshot(name, info))
        })
    }

    fn restore_snapshot(target: UnitBorrow<'_>, name: String) -> Result<Snapshot, Error> {
        with_unit(target, |session| {
            let info = session.home().restore_snapshot(&name).map_err(|e| session.home_error(e))?;
            Ok(snapshot(name, info))
        })
    }

    fn list_snapshots(target: UnitBorrow<'_>) -> Result<Vec<Snapshot>, Error> {
        with_unit(target, |session| {
            let list = session.home().list_snapshots().map_err(|e| session.home_error(e))?;
            Ok(list.into_iter().map(|(name, info)| snapshot(name, info)).collect())
        })
    }

    fn delete_snapshot(target: UnitBorrow<'_>, name: String) -> Result<bool, Error> {
        with_unit(target, |session| session.home().delete_snapshot(&name).map_err(|e| session.home_error(e)))
    }
}
