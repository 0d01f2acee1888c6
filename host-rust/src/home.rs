//! `_home` from Rust, without running Lua code: read and write by path, list keys, indexes and
//! queries, schemas, stored functions, statistics and named snapshots (the `home-store` export).
//! Each method is one transaction (docs/HOME.md).

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
    /// Stored tables of their own, `_home` included (small tables embedded in another's entry are not counted).
    pub tables: u64,
    /// Stored functions.
    pub functions: u64,
    /// Entries of all stored tables.
    pub entries: u64,
    /// Bytes of `_home`'s keys and values in the store, indexes included (snapshots and the
    /// audit log not).
    pub bytes: u64,
    /// Bytes that compressing long strings and functions saves.
    pub saved: u64,
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
    /// Runs a query as [`Unit::home_query`] does; its result is the array of `{key, value}` maps.
    /// As in the seeds, the table may stand beside the query: `{"type": "query", "table":
    /// "users", "query": {"field": "age", "operator": ">", "value": 30}}`.
    Query {
        /// The table, when the query does not name it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        table: Option<String>,
        /// The query, in the seeds' form.
        query: Value,
    },
}

/// How an index was asked to be kept. Both are the same ordered index in cu; `Hash` is accepted
/// because the seeds write it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum IndexKind {
    /// Ordered (the default).
    #[default]
    Btree,
    /// Kept as `Btree`.
    Hash,
}

/// An index on a field of every record of a stored table.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct IndexInfo {
    /// The table's path (`appUsers`, `org.users`).
    pub table: String,
    /// The field's path inside a record (`score`, `address.city`); empty for the record itself.
    pub field: String,
    /// The kind it was created as.
    pub kind: IndexKind,
}

/// One record a query found.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Hit {
    /// Its key in the table.
    pub key: Value,
    /// The record.
    pub value: Value,
}

/// One entry of the audit log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct AuditEntry {
    /// When the operation committed, in milliseconds since the Unix epoch.
    pub time_ms: u64,
    /// The operation (`compute`, `set`, `batchTableOperations`, ...).
    pub operation: String,
    /// What it changed: paths in `_home`, a snapshot's name, or the operations enabled.
    pub targets: Vec<String>,
    /// How many more targets there were than an entry keeps.
    pub more: u64,
    /// The unit's label when it committed ([`UnitOptions::audit_label`](crate::UnitOptions::audit_label)).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
}

/// Whether code compiles, as the seeds' `validateFunction` reports it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Validation {
    /// Whether it compiles as an expression.
    pub is_valid: bool,
    /// The compiler's message when it does not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// The line the compiler stopped at, when known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
}

impl From<wit::IndexInfo> for IndexInfo {
    fn from(info: wit::IndexInfo) -> Self {
        let kind = match info.kind {
            wit::IndexKind::Btree => IndexKind::Btree,
            wit::IndexKind::Hash => IndexKind::Hash,
        };
        IndexInfo { table: display(&info.table), field: display(&info.field), kind }
    }
}

/// A path as [`parse`] reads it: `users.alice`, `list[2]`.
fn display(segments: &[Segment]) -> String {
    let mut text = String::new();
    for segment in segments {
        match segment {
            Segment::Name(name) if text.is_empty() => text.push_str(name),
            Segment::Name(name) => {
                text.push('.');
                text.push_str(name);
            }
            Segment::Index(i) => text.push_str(&format!("[{i}]")),
        }
    }
    text
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
                Ok((crate::value::value_of(info.key)?, kind))
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
                    HomeOp::Query { table, query } => {
                        let mut query = query.clone();
                        if let (Some(table), Value::Map(entries)) = (table, &mut query) {
                            entries.push((Value::from("table"), Value::from(table.as_str())));
                        }
                        wit::Operation::Query(self.encode(&query, "query")?)
                    }
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let values =
            self.call_guest(|store, cu, handle| cu.cu_unit_home_store().call_batch(store, handle, &operations))?;
        values.into_iter().map(crate::value::value_of).collect()
    }

    /// Counts what `_home` holds.
    pub fn home_stats(&mut self) -> Result<HomeStats> {
        let s = self.call_guest(|store, cu, handle| cu.cu_unit_home_store().call_stats(store, handle))?;
        Ok(HomeStats { tables: s.tables, functions: s.functions, entries: s.entries, bytes: s.bytes, saved: s.saved })
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

    /// Creates an index on `field` (`score`, `address.city`) of every record of the table at
    /// `table` (`appUsers`), built from the records it holds and kept by every commit from then
    /// on. Creating one that exists changes nothing.
    pub fn home_create_index(&mut self, table: &str, field: &str, kind: IndexKind) -> Result<IndexInfo> {
        let (table, field) = (parse(table)?, parse(field)?);
        let kind = match kind {
            IndexKind::Btree => wit::IndexKind::Btree,
            IndexKind::Hash => wit::IndexKind::Hash,
        };
        self.call_guest(|store, cu, handle| {
            cu.cu_unit_home_store().call_create_index(store, handle, &table, &field, kind)
        })
        .map(IndexInfo::from)
    }

    /// Drops the index on `field` of `table`; returns whether there was one.
    pub fn home_drop_index(&mut self, table: &str, field: &str) -> Result<bool> {
        let (table, field) = (parse(table)?, parse(field)?);
        self.call_guest(|store, cu, handle| cu.cu_unit_home_store().call_drop_index(store, handle, &table, &field))
    }

    /// Every index.
    pub fn home_indexes(&mut self) -> Result<Vec<IndexInfo>> {
        let list = self.call_guest(|store, cu, handle| cu.cu_unit_home_store().call_list_indexes(store, handle))?;
        Ok(list.into_iter().map(IndexInfo::from).collect())
    }

    /// Compares every index with its table; returns what disagrees (nothing when all is well).
    pub fn home_check_indexes(&mut self) -> Result<Vec<String>> {
        self.call_guest(|store, cu, handle| cu.cu_unit_home_store().call_check_indexes(store, handle))
    }

    /// The records a query selects, in its order. The query is in the seeds' form, e.g.
    /// `json!({"table": "appUsers", "field": "score", "operator": ">=", "value": 800, "limit":
    /// 10, "sort": "desc"})`; docs/HOME.md lists the operators and options.
    pub fn home_query<Q: Serialize + ?Sized>(&mut self, query: &Q) -> Result<Vec<Hit>> {
        let query = self.encode(query, "query")?;
        let hits = self.call_guest(|store, cu, handle| cu.cu_unit_home_store().call_query(store, handle, &query))?;
        hits.into_iter()
            .map(|hit| Ok(Hit { key: crate::value::value_of(hit.key)?, value: crate::value::value_of(hit.value)? }))
            .collect()
    }

    /// Sets the schema of every record of the table at `table`, in the seeds' form (`{"age":
    /// {"type": "number", "min": 0, "max": 150}}`; `pattern` is a Lua pattern), checked against
    /// every record now and at every commit from then on; `()` (nil) removes it. A record that
    /// breaks it fails the call with [`Error::Schema`], writing nothing.
    pub fn home_set_schema<S: Serialize + ?Sized>(&mut self, table: &str, schema: &S) -> Result<()> {
        let table = parse(table)?;
        let schema = self.encode(schema, "schema")?;
        self.call_guest(|store, cu, handle| cu.cu_unit_home_store().call_set_schema(store, handle, &table, &schema))
    }

    /// The schema of the table at `table`, nil (`None`) when it has none.
    pub fn home_schema<T: DeserializeOwned>(&mut self, table: &str) -> Result<T> {
        let segments = parse(table)?;
        let value =
            self.call_guest(|store, cu, handle| cu.cu_unit_home_store().call_get_schema(store, handle, &segments))?;
        from_wit(value, "schema")
    }

    /// Sets which operations the audit log records from now on (`compute`, `set`, `delete`,
    /// `batchTableOperations`, `persistFunction`, `createIndex`, `dropIndex`, `setSchema`,
    /// `saveSnapshot`, `restoreSnapshot`, `deleteSnapshot`), replacing the list before; an empty
    /// list stops logging. Each commit of a listed operation appends an entry in that same commit,
    /// and this change is itself always logged.
    pub fn enable_audit_log(&mut self, operations: &[&str]) -> Result<()> {
        let operations: Vec<String> = operations.iter().map(|o| o.to_string()).collect();
        self.call_guest(|store, cu, handle| cu.cu_unit_home_store().call_enable_audit_log(store, handle, &operations))
    }

    /// Entries of the audit log, oldest first, from `since_ms` up to `until_ms` (both included,
    /// milliseconds since the Unix epoch; `None`: unbounded), at most `limit`.
    pub fn audit_log(
        &mut self,
        since_ms: Option<u64>,
        until_ms: Option<u64>,
        limit: Option<u32>,
    ) -> Result<Vec<AuditEntry>> {
        let entries = self.call_guest(|store, cu, handle| {
            cu.cu_unit_home_store().call_read_audit_log(store, handle, since_ms, until_ms, limit)
        })?;
        Ok(entries
            .into_iter()
            .map(|e| AuditEntry {
                time_ms: e.time_ms,
                operation: e.operation,
                targets: e.targets,
                more: e.more,
                label: e.label,
            })
            .collect())
    }

    /// Labels this unit's entries in the audit log from now on (`None`: no label).
    pub fn set_audit_label(&mut self, label: Option<&str>) -> Result<()> {
        self.options.audit_label = label.map(str::to_string);
        self.call_guest(|store, cu, handle| cu.cu_unit_home_store().call_set_audit_label(store, handle, label).map(Ok))
    }

    /// Whether `code` compiles as an expression, without running it.
    pub fn validate_function(&mut self, code: &str) -> Result<Validation> {
        let v =
            self.call_guest(|store, cu, handle| cu.cu_unit_home_store().call_validate_function(store, handle, code))?;
        Ok(Validation { is_valid: v.is_valid, error: v.error, line: v.line })
    }

    /// Stores the function (or table of functions) `code` evaluates to as `name` in the table at
    /// `table` (empty for `_home` itself; made if missing). Inside the code, `name` is the
    /// function itself. Code that does not compile is refused with the compiler's message.
    pub fn persist_function(&mut self, table: &str, name: &str, code: &str) -> Result<()> {
        let table = parse(table)?;
        self.call_guest(|store, cu, handle| {
            cu.cu_unit_home_store().call_persist_function(store, handle, &table, name, code)
        })
    }
}
