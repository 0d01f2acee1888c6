//! `_home` from Rust, without running Lua code: read and write by path, list keys, statistics and
//! named snapshots (the `home-store` export). Each method is one transaction (docs/HOME.md).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::bindings::exports::cu::unit::home_store::{self as wit, Segment};
use crate::error::{Error, Result};
use crate::unit::Unit;
use crate::value::{Value, from_wit};

/// What a stored key holds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum HomeKind {
    Boolean,
    Integer,
    Float,
    String,
    /// JSON's null.
    Null,
    /// A stored table.
    Table,
    /// A stored function.
    Function,
}

/// What `_home` holds in its store.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HomeStats {
    /// Stored tables, `_home` included.
    pub tables: u64,
    /// Stored functions.
    pub functions: u64,
    /// Entries of all stored tables.
    pub entries: u64,
    /// Bytes of `_home`'s keys and values in the store (snapshots not included).
    pub bytes: u64,
}

/// A named copy of `_home`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Snapshot {
    pub name: String,
    /// Keys it holds in the store.
    pub keys: u64,
    /// Bytes of its keys and values.
    pub bytes: u64,
    /// When it was saved, in milliseconds since the Unix epoch.
    pub saved_ms: u64,
}

/// One operation of [`Unit::home_batch`], on a path as [`Unit::home_get`] takes it. With serde it
/// is the seeds' form: `{"type": "set", "path": "users.alice", "value": {"age": 30}}`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
#[non_exhaustive]
pub enum HomeOp {
    /// Reads the value at `path`; its result is the value, nil when absent.
    Get {
        /// Where to read.
        path: String,
    },
    /// Stores `value` at `path` as [`Unit::home_set`] does; its result is nil.
    Set {
        /// Where to store.
        path: String,
        /// What to store; nil deletes.
        value: Value,
    },
    /// Deletes the value at `path`; its result is nil.
    Delete {
        /// What to delete.
        path: String,
    },
}

impl From<wit::Snapshot> for Snapshot {
    fn from(s: wit::Snapshot) -> Self {
        Snapshot { name: s.name, keys: s.keys, bytes: s.bytes, saved_ms: s.saved_ms }
    }
}

/// A path through `_home`: `users.alice`, `list[2]`, `_home.users` (the `_home.` is optional), or
/// empty for `_home` itself. A segment in brackets is an integer key; any other a string key.
fn parse(path: &str) -> Result<Vec<Segment>> {
    let bad = |why: &str| Error::Conversion { path: path.to_string(), reason: format!("is not a _home path: {why}") };
    // `_home`, `_home.x` and `_home[1]` start at `_home`; `_homework` is a key like any other.
    let path = match path.strip_prefix("_home") {
        Some(rest) if rest.is_empty() || rest.starts_with(['.', '[']) => rest.strip_prefix('.').unwrap_or(rest),
        _ => path,
    };
    let mut segments = Vec::new();
    for part in path.split('.').filter(|p| !p.is_empty()) {
        let (name, mut rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
        if !name.is_empty() {
            segments.push(Segment::Name(name.to_string()));
        }
        while !rest.is_empty() {
            let (index, after) = rest.split_once(']').ok_or_else(|| bad("a `[` without `]`"))?;
            segments.push(Segment::Index(index.trim().parse().map_err(|_| bad("brackets hold an integer"))?));
            rest = after.strip_prefix('[').unwrap_or(after);
            if !after.is_empty() && !after.starts_with('[') {
                return Err(bad("a `]` must be followed by `.`, `[` or the end"));
            }
        }
    }
    Ok(segments)
}

impl Unit {
    /// The value at `path` (`users.alice`), as any serde type; nil (`None`, `()`) when absent.
    pub fn home_get<T: DeserializeOwned>(&mut self, path: &str) -> Result<T> {
        let segments = parse(path)?;
        let value = self.call_guest(|store, cu, handle| cu.cu_unit_home_store().call_get(store, handle, &segments))?;
        from_wit(value, path)
    }

    /// Stores `value` at `path`, making missing tables on the way; nil deletes.
    pub fn home_set<T: Serialize + ?Sized>(&mut self, path: &str, value: &T) -> Result<()> {
        let segments = parse(path)?;
        let value = self.encode(value, path)?;
        self.call_guest(|store, cu, handle| cu.cu_unit_home_store().call_set(store, handle, &segments, &value))
    }

    /// Deletes the value at `path`; not an error when it is absent.
    pub fn home_delete(&mut self, path: &str) -> Result<()> {
        let segments = parse(path)?;
        self.call_guest(|store, cu, handle| cu.cu_unit_home_store().call_delete(store, handle, &segments))
    }

    /// The keys of the stored table at `path`, in the store's order, with what each holds.
    pub fn home_keys(&mut self, path: &str) -> Result<Vec<(Value, HomeKind)>> {
        let segments = parse(path)?;
        let keys = self.call_guest(|store, cu, handle| cu.cu_unit_home_store().call_keys(store, handle, &segments))?;
        keys.into_iter()
            .map(|info| {
                let kind = match info.kind {
                    wit::Kind::Boolean => HomeKind::Boolean,
                    wit::Kind::Integer => HomeKind::Integer,
                    wit::Kind::Float => HomeKind::Float,
                    wit::Kind::String => HomeKind::String,
                    wit::Kind::Null => HomeKind::Null,
                    wit::Kind::Table => HomeKind::Table,
                    wit::Kind::Function => HomeKind::Function,
                };
                Ok((Value::from_wit(info.key)?, kind))
            })
            .collect()
    }

    /// Runs `operations` in order as one transaction, each seeing the writes of those before it,
    /// and returns one value per operation: what a `Get` read, nil for the others. When one
    /// fails, nothing of the batch is written.
    pub fn home_batch(&mut self, operations: &[HomeOp]) -> Result<Vec<Value>> {
        let operations = operations
            .iter()
            .map(|operation| {
                Ok(match operation {
                    HomeOp::Get { path } => wit::Operation::Get(parse(path)?),
                    HomeOp::Set { path, value } => wit::Operation::Set((parse(path)?, self.encode(value, path)?)),
                    HomeOp::Delete { path } => wit::Operation::Delete(parse(path)?),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let values =
            self.call_guest(|store, cu, handle| cu.cu_unit_home_store().call_batch(store, handle, &operations))?;
        values.into_iter().map(Value::from_wit).collect()
    }

    /// Counts what `_home` holds.
    pub fn home_stats(&mut self) -> Result<HomeStats> {
        let s = self.call_guest(|store, cu, handle| cu.cu_unit_home_store().call_stats(store, handle))?;
        Ok(HomeStats { tables: s.tables, functions: s.functions, entries: s.entries, bytes: s.bytes })
    }

    /// Saves a copy of `_home` as `name`, replacing a snapshot of that name.
    pub fn save_snapshot(&mut self, name: &str) -> Result<Snapshot> {
        self.call_guest(|store, cu, handle| cu.cu_unit_home_store().call_save_snapshot(store, handle, name))
            .map(Snapshot::from)
    }

    /// Replaces `_home` with the snapshot `name`.
    pub fn restore_snapshot(&mut self, name: &str) -> Result<Snapshot> {
        self.call_guest(|store, cu, handle| cu.cu_unit_home_store().call_restore_snapshot(store, handle, name))
            .map(Snapshot::from)
    }

    /// Every snapshot, by name.
    pub fn list_snapshots(&mut self) -> Result<Vec<Snapshot>> {
        let list = self.call_guest(|store, cu, handle| cu.cu_unit_home_store().call_list_snapshots(store, handle))?;
        Ok(list.into_iter().map(Snapshot::from).collect())
    }

    /// Deletes the snapshot `name`; returns whether there was one.
    pub fn delete_snapshot(&mut self, name: &str) -> Result<bool> {
        self.call_guest(|store, cu, handle| cu.cu_unit_home_store().call_delete_snapshot(store, handle, name))
    }
}
