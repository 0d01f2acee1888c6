//! A call's writes to `_home`, turned into one conditional `kv` commit.
//!
//! Plain tables and functions assigned in the call become new nodes only here, so changes made to
//! them after the assignment are stored too. Each node counts the stored values that refer to it;
//! a node nothing refers to any more is deleted with its entries, and so on down. (Cycles keep
//! each other alive; docs/HOME.md says so.) The commit expects every record the call read to be
//! unchanged, so two units that read and write the same table cannot lose each other's updates:
//! the second one fails with a conflict and writes nothing.

use std::cell::RefCell;
use std::collections::hash_map::Entry as MapEntry;
use std::collections::{HashMap, HashSet};
use std::ffi::c_void;

use mlua::{Function, Lua, Table, Value};

use super::codec::{self, Body, Key, KeyCode, Record, Shape, Stored, Upvalue};
use super::embed::{Counts, Location};
use super::function::{dump, is_native, upvalue, upvalue_count, upvalue_id};
use super::node::{key_of, segment};
use super::store::StoreError;
use super::{HomeError, Inner};
use crate::bigint;
use crate::bindings::cu::unit::kv::{Entry, Expectation, Keys, Write};

fn unstorable(path: &str, reason: impl Into<String>) -> HomeError {
    HomeError::Unstorable { path: path.to_string(), reason: reason.into() }
}

/// A stored value changing in a table entry or a cell.
struct Change {
    node: u64,
    /// `None` for a cell.
    key: Option<KeyCode>,
    old: Option<Stored>,
    new: Option<Stored>,
}

#[derive(Default)]
pub struct Plan {
    /// Entry writes of new and changed tables, and index writes (views.rs).
    pub writes: Vec<Write>,
    /// Records to write: new nodes and changed ones, by id.
    pub records: HashMap<u64, Record>,
    /// Nodes created by this commit.
    created: HashSet<u64>,
    /// Stored references each new node holds (to undo if it ends up unreferenced).
    holds: HashMap<u64, Vec<u64>>,
    /// Reference count changes.
    deltas: HashMap<u64, i64>,
    /// Plain tables, functions and upvalues already given a node in this commit.
    pub tables: HashMap<*const c_void, u64>,
    functions: HashMap<*const c_void, u64>,
    cells: HashMap<*mut c_void, u64>,
    /// Expectations beyond the records the call read (views.rs).
    pub expected: Vec<Expectation>,
    /// How many times each plain table is stored (embed.rs).
    pub counts: Counts,
    /// Embedded tables made nodes, and those being made so (embed.rs).
    pub promoted: HashMap<u64, u64>,
    pub promoting: HashSet<u64>,
    /// The places of the tables promoted, whose entries must refer to the new nodes.
    pub relocate: Vec<(u64, Location)>,
}

impl Plan {
    fn refer(&mut self, holder: Option<u64>, stored: &Stored) {
        if let Some(id) = stored.node() {
            *self.deltas.entry(id).or_default() += 1;
            if let Some(holder) = holder {
                self.holds.entry(holder).or_default().push(id);
            }
        }
    }
}

thread_local! {
    /// Seeded once per instance from the host's random source: a host call per id made a commit
    /// of 100,000 new tables spend seconds in Node, where each call reaches Web Crypto.
    static IDS: RefCell<fastrand::Rng> =
        RefCell::new(fastrand::Rng::with_seed(getrandom::u64().unwrap_or_else(|_| std::process::abort())));
}

pub fn new_id() -> u64 {
    // Random ids need no coordination between units sharing a store; 0 is `_home`.
    IDS.with_borrow_mut(|ids| {
        loop {
            let id = ids.u64(..);
            if id != codec::ROOT {
                return id;
            }
        }
    })
}

impl Inner {
    pub(super) fn commit(&mut self, operation: &str) -> Result<(), HomeError> {
        let changes_something = self.call.nodes.values().any(|node| !node.dirty.is_empty())
            || !self.call.cells.is_empty()
            || self.call.catalog.as_ref().is_some_and(|c| c.changed());
        if changes_something { self.write_changes(operation) } else { Ok(()) }
    }

    /// Out of line, because V8 compiles a function whole at its first call: a call that changes
    /// nothing (most, and a cold start's first) then never compiles the commit (17 KB of code).
    #[inline(never)]
    fn write_changes(&mut self, operation: &str) -> Result<(), HomeError> {
        let lua = self.lua()?;
        let mut plan = Plan {
            functions: self.call.function_ids.iter().map(|(p, id)| (*p, *id)).collect(),
            cells: self.call.cell_ids.iter().map(|(p, id)| (*p, *id)).collect(),
            ..Plan::default()
        };
        let mut changes = Vec::new();
        let mut unknown = Vec::new();

        // What the audit log names, when it logs this: what the operation named, or else every
        // entry the call changed, embedded tables' included, and the variables (below).
        let logs = self.store.audit_settings()?.logs(operation);
        let mut targets = std::mem::take(&mut self.call.targets);
        let name_changes = logs && targets.is_empty();
        if name_changes {
            for (id, node) in &self.call.nodes {
                for code in node.dirty.keys() {
                    let key = Key::decode(&code.0).ok();
                    targets.push(format!("{}{}", self.path(*id), key.map(|k| segment(&k)).unwrap_or_default()));
                }
            }
        }
        // An embedded table's entries are stored in its holder's entry: that is what changes.
        self.propagate_embedded_changes()?;
        let mut dirty: Vec<(u64, KeyCode, Value)> = Vec::new();
        for (id, node) in &self.call.nodes {
            if self.is_embedded(*id) {
                continue;
            }
            for (code, key) in &node.dirty {
                dirty.push((*id, code.clone(), key.clone()));
            }
        }
        let mut seen = HashSet::new();
        for (id, _, key) in &dirty {
            let value: Value = self.call.nodes[id].backing.raw_get(key.clone())?;
            self.count_plain(&lua, &value, &mut plan.counts, &mut seen)?;
        }
        for binding in self.call.cells.values() {
            let value = upvalue(&lua, &binding.function, binding.index)?;
            self.count_plain(&lua, &value, &mut plan.counts, &mut seen)?;
        }
        for (id, code, key) in dirty {
            let node = &self.call.nodes[&id];
            let value: Value = node.backing.raw_get(key)?;
            let old = node.stored.get(&code).cloned();
            let parsed = Key::decode(&code.0).map_err(|e| unstorable(&self.path(id), e.0))?;
            let path = format!("{}{}", self.path(id), segment(&parsed));
            let at = Location { holder: id, key: code.clone() };
            let new = self.encode(&lua, &mut plan, &value, &path, None, Some(&at))?;
            match old {
                Some(old) => changes.push(Change { node: id, key: Some(code), old: self.decoded(old, &path)?, new }),
                None => {
                    unknown.push(changes.len());
                    changes.push(Change { node: id, key: Some(code), old: None, new });
                }
            }
        }
        let cells: Vec<(u64, Function, i32, Stored)> =
            self.call.cells.iter().map(|(id, b)| (*id, b.function.clone(), b.index, b.stored.clone())).collect();
        for (id, function, index, stored) in cells {
            let value = upvalue(&lua, &function, index)?;
            let path = format!("{} (upvalue {index})", self.path(id));
            let new = self.encode(&lua, &mut plan, &value, &path, None, None)?.unwrap_or(Stored::Nil);
            if new != stored {
                changes.push(Change { node: id, key: None, old: Some(stored), new: Some(new) });
            }
        }
        self.relocate(&mut plan, &mut changes)?;
        if changes.is_empty() && !self.call.catalog.as_ref().is_some_and(|c| c.changed()) {
            return Ok(());
        }

        // The values the call overwrote without reading them.
        let keys: Vec<Vec<u8>> = unknown
            .iter()
            .map(|&i| codec::entry_key(changes[i].node, changes[i].key.as_ref().unwrap_or(&KeyCode(Vec::new()))))
            .collect();
        let found = self.store.get_many(&keys)?;
        let mut expected_entries = Vec::new();
        for (&i, (key, bytes)) in unknown.iter().zip(keys.into_iter().zip(found)) {
            let path = self.path(changes[i].node);
            changes[i].old = match &bytes {
                Some(bytes) => {
                    Some(Stored::decode(bytes).map_err(|e| unstorable(&path, format!("cannot be read: {e}")))?)
                }
                None => None,
            };
            // Its old value decides which references to drop: it must not change under us.
            expected_entries.push(Expectation { key, value: bytes });
        }

        for change in &changes {
            if let Some(old) = change.old.as_ref().and_then(Stored::node) {
                *plan.deltas.entry(old).or_default() -= 1;
            }
            if let Some(new) = &change.new {
                plan.refer(None, new);
            }
            self.touch(&mut plan, change.node)?;
            let Some(record) = plan.records.get_mut(&change.node) else { continue };
            match (&change.key, &change.new) {
                (Some(code), Some(new)) => {
                    let value = new.encode();
                    if value.len() > codec::MAX_VALUE {
                        return Err(unstorable(&self.path(change.node), "is larger than the store's limit per value"));
                    }
                    plan.writes.push(Write::Set(Entry { key: codec::entry_key(change.node, code), value }));
                }
                (Some(code), None) => plan.writes.push(Write::Delete(codec::entry_key(change.node, code))),
                (None, new) => record.body = Body::Cell(new.clone().unwrap_or(Stored::Nil)),
            }
        }

        if logs {
            if name_changes {
                targets.extend(changes.iter().filter(|c| c.key.is_none()).map(|c| self.path(c.node)));
            }
            targets.sort();
            targets.dedup();
            plan.writes.extend(self.audit_write(operation, targets, None)?);
        }
        let deleted = self.settle(&mut plan, &changes)?;
        let changed: Vec<(u64, KeyCode)> =
            changes.iter().filter_map(|c| c.key.as_ref().map(|key| (c.node, key.clone()))).collect();
        self.maintain_views(&lua, &mut plan, &changed, &deleted)?;
        let mut writes = plan.writes;
        for (id, record) in &plan.records {
            if !deleted.contains(id) {
                writes.push(Write::Set(Entry { key: codec::record_key(*id), value: record.encode() }));
            }
        }
        for id in &deleted {
            writes.push(Write::Delete(codec::record_key(*id)));
            writes.push(Write::DeleteKeys(Keys::Prefix(codec::entry_prefix(*id))));
        }
        let mut expected: Vec<Expectation> = self
            .call
            .records
            .iter()
            .map(|(id, value)| Expectation { key: codec::record_key(*id), value: value.clone() })
            .collect();
        expected.extend(expected_entries);
        expected.extend(plan.expected);
        self.store.commit(writes, expected)?;
        self.promoted(&plan.promoted)?;
        Ok(())
    }

    /// Points the places of the embedded tables this commit made nodes at those nodes.
    fn relocate(&mut self, plan: &mut Plan, changes: &mut Vec<Change>) -> Result<(), HomeError> {
        for (table, place) in std::mem::take(&mut plan.relocate) {
            // An embedded holder became a node itself, with the new reference in it.
            if self.is_embedded(place.holder) {
                continue;
            }
            // Only if the place still holds the table: the call may have stored another there.
            let key = Key::decode(&place.key.0).map_err(|e| unstorable(&self.path(place.holder), e.0))?;
            let lua_key = self.key_value(&key)?;
            let node = self.node(place.holder, Some(&place.key))?;
            let held: Value = node.backing.raw_get(lua_key)?;
            let old = node.stored.get(&place.key).cloned().flatten();
            let proxy = self.proxies.raw_get::<Option<Table>>(table as i64)?;
            if !matches!((&held, &proxy), (Value::Table(held), Some(proxy)) if held == proxy) {
                continue;
            }
            let new = Some(Stored::Table(plan.promoted[&table]));
            match changes.iter_mut().find(|c| c.node == place.holder && c.key.as_ref() == Some(&place.key)) {
                Some(change) => change.new = new,
                None => {
                    let path = self.path(place.holder);
                    changes.push(Change {
                        node: place.holder,
                        key: Some(place.key),
                        old: self.decoded(old, &path)?,
                        new,
                    });
                }
            }
        }
        Ok(())
    }

    fn decoded(&self, bytes: Option<Vec<u8>>, path: &str) -> Result<Option<Stored>, HomeError> {
        bytes.map(|b| Stored::decode(&b).map_err(|e| unstorable(path, format!("cannot be read: {e}")))).transpose()
    }

    /// Puts node `id` in the plan's records with its version incremented, reading its record when
    /// this call has not.
    pub(super) fn touch(&mut self, plan: &mut Plan, id: u64) -> Result<(), HomeError> {
        if plan.records.contains_key(&id) {
            return Ok(());
        }
        let mut record = self.record_of(id)?;
        record.version += 1;
        plan.records.insert(id, record);
        Ok(())
    }

    /// Node `id`'s record as stored, read (and expected unchanged) when this call has not.
    pub(super) fn record_of(&mut self, id: u64) -> Result<Record, HomeError> {
        let current = match self.call.records.get(&id) {
            Some(bytes) => bytes.clone(),
            None => {
                let bytes = self.store.get_many(&[codec::record_key(id)])?.into_iter().next().flatten();
                self.call.records.insert(id, bytes.clone());
                bytes
            }
        };
        match current {
            Some(bytes) => {
                Record::decode(&bytes).map_err(|e| unstorable(&self.path(id), format!("cannot be read: {e}")))
            }
            None if id == codec::ROOT => {
                Ok(Record { refs: 0, version: 0, body: Body::Table(Shape::Inferred, Vec::new()) })
            }
            // A node that vanished: another unit deleted it. The commit's expectations fail.
            None => Err(HomeError::Store(StoreError::Conflict)),
        }
    }

    /// Applies the reference count changes; returns the nodes nothing refers to any more, which
    /// are deleted, after dropping their own references in turn.
    fn settle(&mut self, plan: &mut Plan, changes: &[Change]) -> Result<HashSet<u64>, HomeError> {
        let mut deleted = HashSet::new();
        // A work list: taking the first key of a map that keeps shrinking would scan its empty
        // buckets each time (a commit of 10,000 new tables took seconds).
        let mut pending: Vec<u64> = plan.deltas.keys().copied().collect();
        while let Some(id) = pending.pop() {
            let Some(delta) = plan.deltas.remove(&id) else { continue };
            if delta == 0 || id == codec::ROOT || deleted.contains(&id) {
                continue;
            }
            self.touch(plan, id)?;
            let Some(record) = plan.records.get_mut(&id) else { continue };
            // A count already wrong must not delete what something may still refer to.
            let refs = record.refs as i64 + delta;
            record.refs = refs.max(0) as u64;
            if refs != 0 {
                continue;
            }
            deleted.insert(id);
            for held in self.held_by(plan, id, changes)? {
                let delta = plan.deltas.entry(held).or_insert_with(|| {
                    pending.push(held);
                    0
                });
                *delta -= 1;
            }
        }
        Ok(deleted)
    }

    /// The nodes node `id` refers to, as of the end of this call.
    fn held_by(&mut self, plan: &Plan, id: u64, changes: &[Change]) -> Result<Vec<u64>, HomeError> {
        if plan.created.contains(&id) {
            return Ok(plan.holds.get(&id).cloned().unwrap_or_default());
        }
        let path = self.path(id);
        Ok(match &plan.records[&id].body {
            Body::Cell(value) => value.node().into_iter().collect(),
            Body::Function { upvalues, .. } => upvalues
                .iter()
                .filter_map(|u| match u {
                    Upvalue::Cell(cell) => Some(*cell),
                    Upvalue::Globals => None,
                })
                .collect(),
            Body::Table(..) => {
                let mut entries: HashMap<Vec<u8>, Option<u64>> = HashMap::new();
                for (key, bytes) in self.store.scan_prefix(&codec::entry_prefix(id))? {
                    let stored =
                        Stored::decode(&bytes).map_err(|e| unstorable(&path, format!("cannot be read: {e}")))?;
                    entries.insert(key, stored.node());
                }
                for change in changes.iter().filter(|c| c.node == id) {
                    if let Some(code) = &change.key {
                        entries.insert(code.0.clone(), change.new.as_ref().and_then(Stored::node));
                    }
                }
                entries.into_values().flatten().collect()
            }
        })
    }

    /// The stored form of `value` at `path`, creating nodes for plain tables and functions.
    /// `holder` is the new node whose entry or upvalue it becomes, if any.
    fn encode(
        &mut self,
        lua: &Lua,
        plan: &mut Plan,
        value: &Value,
        path: &str,
        holder: Option<u64>,
        at: Option<&Location>,
    ) -> Result<Option<Stored>, HomeError> {
        let stored = match value {
            Value::Nil => return Ok(None),
            Value::Boolean(b) => Stored::Boolean(*b),
            Value::Integer(i) => Stored::Integer(*i),
            Value::Number(n) => Stored::Float(*n),
            Value::String(s) => Stored::String(s.as_bytes().to_vec()),
            Value::LightUserData(p) if p.0.is_null() => Stored::Null,
            Value::UserData(userdata) if let Some(value) = bigint::of_userdata(lua, userdata) => Stored::BigInt(value),
            Value::Table(t) => match self.id_of(t)? {
                Some(id) if self.is_embedded(id) => match plan.promoted.get(&id) {
                    Some(node) => Stored::Table(*node),
                    None => match at {
                        Some(at) if let Some(embedded) = self.embedding(lua, plan, t, at)? => embedded,
                        _ => Stored::Table(self.promote(lua, plan, id, path)?),
                    },
                },
                Some(id) => Stored::Table(id),
                None => match at {
                    Some(at) if let Some(embedded) = self.embedding(lua, plan, t, at)? => embedded,
                    _ => Stored::Table(self.new_table(lua, plan, t, path)?),
                },
            },
            Value::Function(f) => match self.builtins.raw_get::<Option<String>>(f)? {
                Some(name) => Stored::Builtin(name),
                None => Stored::Function(self.new_function(lua, plan, f, path)?),
            },
            other => {
                return Err(unstorable(path, format!("is a {}, which cannot be stored in _home", other.type_name())));
            }
        };
        if holder.is_some() {
            plan.refer(holder, &stored);
        }
        Ok(Some(stored))
    }

    pub(super) fn new_table(
        &mut self,
        lua: &Lua,
        plan: &mut Plan,
        table: &Table,
        path: &str,
    ) -> Result<u64, HomeError> {
        let id = match plan.tables.entry(table.to_pointer()) {
            MapEntry::Occupied(known) => return Ok(*known.get()),
            MapEntry::Vacant(slot) => *slot.insert(new_id()),
        };
        plan.created.insert(id);
        plan.records.insert(id, Record { refs: 0, version: 1, body: Body::Table(shape_of(table, path)?, Vec::new()) });
        for pair in table.pairs::<Value, Value>() {
            let (key, value) = pair?;
            let parsed = key_of(&key).map_err(|reason| unstorable(path, format!("cannot be stored: {reason}")))?;
            let entry_path = format!("{path}{}", segment(&parsed));
            let code = parsed.encode();
            if code.0.len() > codec::MAX_KEY_CODE {
                return Err(unstorable(&entry_path, "has a key longer than the store's limit"));
            }
            let at = Location { holder: id, key: code.clone() };
            let Some(stored) = self.encode(lua, plan, &value, &entry_path, Some(id), Some(&at))? else { continue };
            let value = stored.encode();
            if value.len() > codec::MAX_VALUE {
                return Err(unstorable(&entry_path, "is larger than the store's limit per value"));
            }
            plan.writes.push(Write::Set(Entry { key: codec::entry_key(id, &code), value }));
        }
        Ok(id)
    }

    fn new_function(&mut self, lua: &Lua, plan: &mut Plan, f: &Function, path: &str) -> Result<u64, HomeError> {
        let id = match plan.functions.entry(f.to_pointer()) {
            MapEntry::Occupied(known) => return Ok(*known.get()),
            MapEntry::Vacant(slot) => *slot.insert(new_id()),
        };
        if is_native(f) {
            return Err(unstorable(path, "is a C function that is not part of the sandbox's libraries"));
        }
        plan.created.insert(id);
        let mut upvalues = Vec::new();
        for index in 1..=upvalue_count(f) {
            let value = upvalue(lua, f, index)?;
            if let Value::Table(t) = &value
                && t == &self.globals
            {
                upvalues.push(Upvalue::Globals);
                continue;
            }
            let uid = upvalue_id(lua, f, index)?;
            let cell = match plan.cells.get(&uid) {
                Some(cell) => *cell,
                None => {
                    let cell = new_id();
                    plan.cells.insert(uid, cell);
                    plan.created.insert(cell);
                    let cell_path = format!("{path} (upvalue {index})");
                    let stored = self.encode(lua, plan, &value, &cell_path, Some(cell), None)?.unwrap_or(Stored::Nil);
                    plan.records.insert(cell, Record { refs: 0, version: 1, body: Body::Cell(stored) });
                    cell
                }
            };
            *plan.deltas.entry(cell).or_default() += 1;
            plan.holds.entry(id).or_default().push(cell);
            upvalues.push(Upvalue::Cell(cell));
        }
        let bytecode = dump(lua, f)?;
        let record = Record { refs: 0, version: 1, body: Body::Function { upvalues, bytecode } };
        if record.encode().len() > codec::MAX_VALUE {
            return Err(unstorable(path, "is a function larger than the store's limit per value"));
        }
        plan.records.insert(id, record);
        Ok(id)
    }
}

/// The shape a plain table's metatable gives it. Other metatables (methods, operators) cannot be
/// stored: refusing them beats silently losing them.
pub fn shape_of(table: &Table, path: &str) -> Result<Shape, HomeError> {
    let Some(meta) = table.metatable() else { return Ok(Shape::Inferred) };
    let mut shape = Shape::Inferred;
    for pair in meta.pairs::<Value, Value>() {
        let (key, value) = pair?;
        let is_shape_field =
            matches!(&key, Value::String(s) if s.as_bytes().as_ref() == crate::convert::SHAPE_FIELD.as_bytes());
        shape = match (is_shape_field, &value) {
            (true, Value::String(s)) if s.as_bytes().as_ref() == b"array" => Shape::Array,
            (true, Value::String(s)) if s.as_bytes().as_ref() == b"object" => Shape::Object,
            _ => {
                return Err(unstorable(
                    path,
                    format!(
                        "has a metatable, which cannot be stored in _home (only {{{} = \"array\"|\"object\"}} can)",
                        crate::convert::SHAPE_FIELD
                    ),
                ));
            }
        };
    }
    Ok(shape)
}
