//! Indexes and schemas kept in step with the data, in the commit that changes it.
//!
//! A watched table (catalog.rs) is found by its path from `_home`. Every table on the way to it,
//! the table itself, and every table on the way from it to an indexed field of a record carry a
//! watch in their record (codec.rs). A commit that changes an entry of a table with watches knows
//! from them which records that may change: a changed key on the path means the whole watched
//! table is indexed and checked again (a rebuild); a changed key of the table is a record; a
//! changed key below a record, on the way to an indexed field, is that record. Each such record is
//! then read as it stands at the end of the call and its index entries, watches and schema made
//! to agree with it. Watches are added wherever the walk passes, so a table that becomes part of
//! the way is watched from then on; a watch left where the way no longer passes only costs a
//! needless check, and is dropped when that table is next written.
//!
//! Index entries are `x ‖ index ‖ code ‖ record key` (order.rs); beside each, `X ‖ index ‖
//! record key` holds the code, so the entry can be found and removed when the field changes.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use mlua::{Lua, Table, Value};

use super::catalog::{Catalog, Watched};
use super::codec::{self, Body, CATALOG_KEY, Key, KeyCode, Record, Watch};
use super::commit::Plan;
use super::node::{key_of, segment};
use super::order;
use super::{GLOBAL, HomeError, Inner};
use crate::bindings::cu::unit::kv::{Entry, Expectation, Keys, Write};

/// The catalog as this call knows it.
pub struct CatalogState {
    /// Its bytes as read (`None`: absent): a commit that relies on it expects them unchanged.
    read: Option<Vec<u8>>,
    /// As committed when read: what queries plan with, since a new index is built only at commit.
    pub committed: Catalog,
    /// With this call's changes.
    pub current: Catalog,
    /// Watched tables to index and check whole at commit (new or changed indexes and schemas).
    pub rebuild: BTreeSet<u64>,
    /// Indexes this call dropped, whose entries the commit deletes.
    pub dropped: Vec<u64>,
}

impl CatalogState {
    pub fn changed(&self) -> bool {
        self.current != self.committed || !self.dropped.is_empty()
    }
}

/// What a change of watched data calls for, per watched table.
#[derive(Debug)]
pub enum Fired {
    /// The path to the table changed, or its views did: every record again.
    Rebuild,
    /// These records, each with the tables whose watch fired for it.
    Records(BTreeMap<KeyCode, Vec<u64>>),
}

/// Watches that fired, by watched table, and watches naming a table the catalog no longer has.
#[derive(Debug, Default)]
pub struct Triggers {
    pub fired: BTreeMap<u64, Fired>,
    stale: Vec<(u64, Watch)>,
}

impl Triggers {
    /// Notes what a change of `key` in node `node`, whose watches are `watches`, calls for.
    pub fn fire(&mut self, catalog: &Catalog, node: u64, watches: &[Watch], key: &KeyCode) {
        for watch in watches {
            let Some(table) = catalog.table(watch.table()) else {
                self.stale.push((node, watch.clone()));
                continue;
            };
            let record = match watch {
                Watch::Path { position, .. } => {
                    if table.path.get(*position as usize) == Some(key) {
                        self.fired.insert(table.id, Fired::Rebuild);
                    }
                    continue;
                }
                Watch::Table { .. } => key,
                Watch::Record { depth, key: record, .. } if table.depends_on(*depth, key) => record,
                Watch::Record { .. } => continue,
            };
            match self.fired.entry(table.id).or_insert_with(|| Fired::Records(BTreeMap::new())) {
                Fired::Rebuild => {}
                Fired::Records(records) => records.entry(record.clone()).or_default().push(node),
            }
        }
    }
}

/// The watches of a table record.
pub fn watches(record: Option<&Record>) -> &[Watch] {
    match record {
        Some(Record { body: Body::Table(_, watches), .. }) => watches,
        _ => &[],
    }
}

/// Where a watched table's path leads in the call's view.
pub struct TablePath {
    /// The stored tables on the way, each with its position (`_home` is 0).
    pub ancestors: Vec<(u64, u16)>,
    /// The table at the end, with its node when it is stored or about to be.
    pub table: Option<(Table, Option<u64>)>,
    /// Where the path meets a value that is not a table, and that value's type.
    pub obstacle: Option<(usize, &'static str)>,
}

/// One record as the call leaves it, as its watched table's views see it.
struct RecordState {
    /// The code of each index's field (`None`: not indexed).
    codes: Vec<Option<Vec<u8>>>,
    /// The tables on the way to the fields, with their depth below the watched table.
    nodes: BTreeSet<(u16, u64)>,
    /// The record itself, for the schema.
    value: Value,
}

fn corrupt(path: &str, error: codec::Corrupt) -> HomeError {
    HomeError::Corrupt(format!("{path} cannot be read: {error}"))
}

impl Inner {
    /// The catalog, read on first use in this call.
    pub(super) fn catalog(&mut self) -> Result<&mut CatalogState, HomeError> {
        if self.call.catalog.is_none() {
            let read = self.store.get_many(&[CATALOG_KEY.to_vec()])?.into_iter().next().flatten();
            let committed = match &read {
                Some(bytes) => Catalog::decode(bytes).map_err(|e| corrupt("the catalog of _home's indexes", e))?,
                None => Catalog::default(),
            };
            let current = committed.clone();
            self.call.catalog =
                Some(CatalogState { read, committed, current, rebuild: BTreeSet::new(), dropped: Vec::new() });
        }
        Ok(self.call.catalog.as_mut().unwrap_or_else(|| unreachable!("read above")))
    }

    /// A value in the call's view: an entry of a stored table (read if need be) or of a plain one.
    pub(super) fn get_in_view(&mut self, table: &Table, key: &Key) -> mlua::Result<Value> {
        let lua_key = self.key_value(key)?;
        match self.id_of(table)? {
            Some(id) => self.index(id, lua_key),
            None => table.raw_get(lua_key),
        }
    }

    /// The node of a table in the call's view: its own, or the one this commit gives it. An
    /// embedded table has none: its changes are its holder's.
    fn node_of(&self, plan: Option<&Plan>, table: &Table) -> mlua::Result<Option<u64>> {
        Ok(match self.id_of(table)? {
            Some(id) if self.is_embedded(id) => plan.and_then(|plan| plan.promoted.get(&id).copied()),
            Some(id) => Some(id),
            None => plan.and_then(|plan| plan.tables.get(&table.to_pointer()).copied()),
        })
    }

    /// Follows `path` from `_home` in the call's view.
    pub(super) fn walk_table_path(&mut self, plan: Option<&Plan>, path: &[KeyCode]) -> Result<TablePath, HomeError> {
        let mut ancestors = Vec::new();
        let mut current = self.proxy(codec::ROOT, GLOBAL)?;
        for (position, code) in path.iter().enumerate() {
            if let Some(id) = self.node_of(plan, &current)? {
                ancestors.push((id, position as u16));
            }
            let key = Key::decode(&code.0).map_err(|e| corrupt("the catalog", e))?;
            match self.get_in_view(&current, &key)? {
                Value::Table(next) => current = next,
                Value::Nil => return Ok(TablePath { ancestors, table: None, obstacle: None }),
                other => {
                    // As Lua's `type` names it.
                    let kind = if matches!(other, Value::Integer(_)) { "number" } else { other.type_name() };
                    return Ok(TablePath { ancestors, table: None, obstacle: Some((position, kind)) });
                }
            }
        }
        let id = self.node_of(plan, &current)?;
        Ok(TablePath { ancestors, table: Some((current, id)), obstacle: None })
    }

    /// What the watches of the call's changed nodes call for, before it commits (for queries).
    pub(super) fn pending_triggers(&mut self, catalog: &Catalog) -> Triggers {
        let mut triggers = Triggers::default();
        for (id, node) in &self.call.nodes {
            let watches = watches(node.record.as_ref());
            if watches.is_empty() {
                continue;
            }
            for key in node.dirty.keys() {
                triggers.fire(catalog, *id, watches, key);
            }
        }
        triggers
    }

    /// Brings the indexes and schemas up to date with a commit's changes, adding their writes,
    /// record changes and expectations to `plan`. `changed` lists every table entry the commit
    /// changes; `deleted` the nodes it deletes.
    pub(super) fn maintain_views(
        &mut self,
        lua: &Lua,
        plan: &mut Plan,
        changed: &[(u64, KeyCode)],
        deleted: &HashSet<u64>,
    ) -> Result<(), HomeError> {
        let has_watches = changed.iter().any(|(id, _)| !watches(plan.records.get(id)).is_empty());
        if !has_watches && self.call.catalog.as_ref().is_none_or(|c| !c.changed()) {
            return Ok(());
        }
        self.catalog()?;
        let state = self.call.catalog.take().unwrap_or_else(|| unreachable!("read above"));
        let result = self.apply_views(lua, plan, changed, deleted, &state);
        self.call.catalog = Some(state);
        result
    }

    fn apply_views(
        &mut self,
        lua: &Lua,
        plan: &mut Plan,
        changed: &[(u64, KeyCode)],
        deleted: &HashSet<u64>,
        state: &CatalogState,
    ) -> Result<(), HomeError> {
        let catalog = &state.current;
        let mut triggers = Triggers::default();
        for (id, key) in changed {
            let watches = watches(plan.records.get(id)).to_vec();
            triggers.fire(catalog, *id, &watches, key);
        }
        for id in &state.rebuild {
            triggers.fired.insert(*id, Fired::Rebuild);
        }
        // What the commit relies on must not change under it.
        plan.expected.push(Expectation { key: CATALOG_KEY.to_vec(), value: state.read.clone() });
        if state.changed() {
            let write = match catalog.tables.is_empty() {
                true => Write::Delete(CATALOG_KEY.to_vec()),
                false => Write::Set(Entry { key: CATALOG_KEY.to_vec(), value: catalog.encode() }),
            };
            plan.writes.push(write);
        }
        for index in &state.dropped {
            plan.writes.push(Write::DeleteKeys(Keys::Prefix(codec::index_prefix(*index))));
            plan.writes.push(Write::DeleteKeys(Keys::Prefix(codec::indexed_prefix(*index))));
        }
        for (node, watch) in std::mem::take(&mut triggers.stale) {
            remove_watch(plan, node, |w| *w == watch);
        }

        // The codes the indexes hold now for the records to check, in one read.
        let mut wanted = Vec::new();
        for (table, fired) in &triggers.fired {
            let (Some(watched), Fired::Records(records)) = (catalog.table(*table), fired) else { continue };
            for key in records.keys() {
                wanted.extend(watched.indexes.iter().map(|index| codec::indexed_key(index.id, key)));
            }
        }
        let mut held: HashMap<Vec<u8>, Vec<u8>> = HashMap::new();
        for (key, bytes) in wanted.iter().zip(self.store.get_many(&wanted)?) {
            if let Some(bytes) = bytes {
                let code = codec::unsealed(&bytes).map_err(|e| corrupt("an index entry of _home", e))?.1.to_vec();
                held.insert(key.clone(), code);
            }
        }

        let find: mlua::Function = self.builtins.raw_get("string.find")?;
        for (table, fired) in &triggers.fired {
            let Some(watched) = catalog.table(*table) else { continue };
            let way = self.walk_table_path(Some(plan), &watched.path)?;
            let on_path: BTreeSet<u64> = way.ancestors.iter().map(|(id, _)| *id).collect();
            for (id, position) in &way.ancestors {
                self.add_watch(plan, deleted, *id, Watch::Path { table: watched.id, position: *position })?;
            }
            let records = match fired {
                Fired::Rebuild => {
                    for index in &watched.indexes {
                        plan.writes.push(Write::DeleteKeys(Keys::Prefix(codec::index_prefix(index.id))));
                        plan.writes.push(Write::DeleteKeys(Keys::Prefix(codec::indexed_prefix(index.id))));
                    }
                    match &way.table {
                        Some((table, _)) => self.records_of(watched, table)?,
                        None => Vec::new(),
                    }
                }
                Fired::Records(records) => records.iter().map(|(key, fired)| (key.clone(), fired.clone())).collect(),
            };
            if let Some((_, Some(id))) = &way.table {
                self.add_watch(plan, deleted, *id, Watch::Table { table: watched.id })?;
            }
            let watched_id = watched.id;
            let table_node = way.table.as_ref().and_then(|(_, id)| *id);
            // A path or table watch that fired on a table no longer on the way is dropped.
            for node in triggers_nodes(fired) {
                if !on_path.contains(&node) && Some(node) != table_node {
                    remove_watch(
                        plan,
                        node,
                        |w| matches!(w, Watch::Path { table, .. } | Watch::Table { table } if *table == watched_id),
                    );
                }
            }
            let table_path = format!("{GLOBAL}.{}", super::catalog::display(&watched.path));
            for (key, fired_nodes) in records {
                let parsed = Key::decode(&key.0).map_err(|e| corrupt(&table_path, e))?;
                let record_path = format!("{table_path}{}", segment(&parsed));
                let record = match &way.table {
                    Some((table, _)) => self.record_state(lua, Some(plan), watched, table, &parsed, &record_path)?,
                    None => RecordState {
                        codes: vec![None; watched.indexes.len()],
                        nodes: BTreeSet::new(),
                        value: Value::Nil,
                    },
                };
                let rebuilt = matches!(fired, Fired::Rebuild);
                for (index, new) in watched.indexes.iter().zip(&record.codes) {
                    let old = if rebuilt { None } else { held.get(&codec::indexed_key(index.id, &key)) };
                    if old == new.as_ref() {
                        continue;
                    }
                    if let Some(old) = old {
                        plan.writes.push(Write::Delete(codec::index_key(index.id, old, &key)));
                    }
                    match new {
                        Some(code) => {
                            let entry = codec::index_key(index.id, code, &key);
                            if entry.len() > 4096 {
                                return Err(unindexable(&record_path, "its key is too long to be indexed"));
                            }
                            let held = codec::sealed(|out| out.extend_from_slice(code));
                            plan.writes.push(Write::Set(Entry { key: entry, value: Vec::new() }));
                            plan.writes
                                .push(Write::Set(Entry { key: codec::indexed_key(index.id, &key), value: held }));
                        }
                        None => plan.writes.push(Write::Delete(codec::indexed_key(index.id, &key))),
                    }
                }
                for (depth, node) in &record.nodes {
                    let watch = Watch::Record { table: watched.id, depth: *depth, key: key.clone() };
                    self.add_watch(plan, deleted, *node, watch)?;
                }
                for node in fired_nodes {
                    if !record.nodes.iter().any(|(_, n)| *n == node) {
                        remove_watch(
                            plan,
                            node,
                            |w| matches!(w, Watch::Record { table, key: k, .. } if *table == watched.id && *k == key),
                        );
                    }
                }
                if let (Some(schema), false) = (&watched.schema, record.value.is_nil()) {
                    let violation = {
                        let mut get =
                            |table: &Table, field: &[u8]| self.get_in_view(table, &Key::String(field.to_vec()));
                        schema.check(lua, &find, &record.value, &record_path, &mut get)?
                    };
                    if let Some(violation) = violation {
                        return Err(HomeError::Schema(violation));
                    }
                }
            }
        }
        Ok(())
    }

    /// Every record of a watched table, with their tables read ahead in batches.
    fn records_of(&mut self, watched: &Watched, table: &Table) -> Result<Vec<(KeyCode, Vec<u64>)>, HomeError> {
        let mut fields: Vec<KeyCode> = watched.indexes.iter().filter_map(|i| i.field.first().cloned()).collect();
        if let Some(schema) = &watched.schema {
            fields.extend(schema.rules.iter().map(|r| Key::String(r.field.clone()).encode()));
        }
        Ok(self.keys_read_ahead(table, fields)?.into_iter().map(|key| (key, Vec::new())).collect())
    }

    /// Every key of a table in the call's view, in order, with the stored tables among its values
    /// read ahead in batches: their records and their entries `fields`.
    pub(super) fn keys_read_ahead(
        &mut self,
        table: &Table,
        mut fields: Vec<KeyCode>,
    ) -> Result<Vec<KeyCode>, HomeError> {
        let backing = match self.id_of(table)? {
            Some(id) => self.complete(id)?,
            None => table.clone(),
        };
        let mut keys = Vec::new();
        let mut stored = Vec::new();
        for pair in backing.pairs::<Value, Value>() {
            let (key, value) = pair?;
            let Ok(key) = key_of(&key) else { continue };
            keys.push(key.encode());
            if let Value::Table(record) = value
                && let Some(id) = self.id_of(&record)?
            {
                stored.push(id);
            }
        }
        fields.sort();
        fields.dedup();
        self.prefetch(&stored, &fields)?;
        keys.sort();
        Ok(keys)
    }

    /// Record `key` of `table` as the call leaves it: the code of each index's field and the
    /// tables on the way.
    fn record_state(
        &mut self,
        lua: &Lua,
        plan: Option<&Plan>,
        watched: &Watched,
        table: &Table,
        key: &Key,
        path: &str,
    ) -> Result<RecordState, HomeError> {
        let value = self.get_in_view(table, key)?;
        let mut nodes = BTreeSet::new();
        let mut codes = Vec::with_capacity(watched.indexes.len());
        for index in &watched.indexes {
            let mut current = value.clone();
            let mut field_path = path.to_string();
            for (depth, code) in index.field.iter().enumerate() {
                let Value::Table(t) = &current else {
                    current = Value::Nil;
                    break;
                };
                if let Some(node) = self.node_of(plan, t)? {
                    nodes.insert((depth as u16 + 1, node));
                }
                let key = Key::decode(&code.0).map_err(|e| corrupt("the catalog", e))?;
                field_path.push_str(&segment(&key));
                let next = self.get_in_view(t, &key)?;
                current = next;
            }
            let code = order::of_lua(lua, &current);
            if let Some(code) = &code
                && code.len() > order::MAX_CODE
            {
                let why = format!(
                    "its value takes {} bytes in an index, more than the {} an index holds",
                    code.len(),
                    order::MAX_CODE
                );
                return Err(unindexable(&field_path, &why));
            }
            codes.push(code);
        }
        if let Value::Table(t) = &value
            && watched.schema.is_some()
            && let Some(node) = self.node_of(plan, t)?
        {
            nodes.insert((1, node));
        }
        Ok(RecordState { codes, nodes, value })
    }

    /// Compares every index with the records it indexes, and each record's tables with the watches
    /// they need; returns what disagrees (nothing, when all is well).
    pub(super) fn check_views(&mut self, lua: &Lua) -> Result<Vec<String>, HomeError> {
        let catalog = self.catalog()?.committed.clone();
        let mut problems = Vec::new();
        for watched in &catalog.tables {
            let way = self.walk_table_path(None, &watched.path)?;
            let table_path = format!("{GLOBAL}.{}", super::catalog::display(&watched.path));
            let mut expected: Vec<BTreeSet<(Vec<u8>, KeyCode)>> = vec![BTreeSet::new(); watched.indexes.len()];
            if let Some((table, id)) = &way.table {
                if let Some(id) = id
                    && !watches(Some(&self.record_of(*id)?)).contains(&Watch::Table { table: watched.id })
                {
                    problems.push(format!("{table_path} lacks the watch of its own indexes"));
                }
                for (key, _) in self.records_of(watched, table)? {
                    let parsed = Key::decode(&key.0).map_err(|e| corrupt(&table_path, e))?;
                    let path = format!("{table_path}{}", segment(&parsed));
                    let record = self.record_state(lua, None, watched, table, &parsed, &path)?;
                    for (set, code) in expected.iter_mut().zip(&record.codes) {
                        if let Some(code) = code {
                            set.insert((code.clone(), key.clone()));
                        }
                    }
                    for (depth, node) in &record.nodes {
                        let watch = Watch::Record { table: watched.id, depth: *depth, key: key.clone() };
                        if !watches(Some(&self.record_of(*node)?)).contains(&watch) {
                            problems.push(format!("{path} lacks a watch {depth} keys below {table_path}"));
                        }
                    }
                }
            }
            for (index, expected) in watched.indexes.iter().zip(expected) {
                let name = format!(
                    "the index on {}",
                    super::catalog::display(&[watched.path.clone(), index.field.clone()].concat())
                );
                let prefix = codec::index_prefix(index.id);
                let mut held = BTreeSet::new();
                for (rest, _) in self.store.scan_prefix(&prefix)? {
                    let length = order::length(&rest)
                        .ok_or_else(|| HomeError::Corrupt(format!("{name} holds a damaged entry")))?;
                    held.insert((rest[..length].to_vec(), KeyCode(rest[length..].to_vec())));
                }
                let mut codes = BTreeSet::new();
                for (key, bytes) in self.store.scan_prefix(&codec::indexed_prefix(index.id))? {
                    let code = codec::unsealed(&bytes).map_err(|e| corrupt(&name, e))?.1.to_vec();
                    codes.insert((code, KeyCode(key)));
                }
                let describe = |(code, key): &(Vec<u8>, KeyCode)| {
                    let key = Key::decode(&key.0).map(|k| segment(&k)).unwrap_or_else(|_| "[?]".into());
                    format!("{table_path}{key} (code {})", hex(code))
                };
                for missing in expected.difference(&held) {
                    problems.push(format!("{name} lacks {}", describe(missing)));
                }
                for extra in held.difference(&expected) {
                    problems.push(format!("{name} has a stray entry for {}", describe(extra)));
                }
                if codes != held {
                    problems.push(format!("{name}: its entries and the codes kept per record disagree"));
                }
            }
        }
        Ok(problems)
    }

    /// Gives node `id` `watch`, unless it has it or the commit deletes it.
    fn add_watch(&mut self, plan: &mut Plan, deleted: &HashSet<u64>, id: u64, watch: Watch) -> Result<(), HomeError> {
        if deleted.contains(&id) {
            return Ok(());
        }
        if !plan.records.contains_key(&id) {
            if watches(Some(&self.record_of(id)?)).contains(&watch) {
                return Ok(());
            }
            self.touch(plan, id)?;
        }
        if let Some(Record { body: Body::Table(_, watches), .. }) = plan.records.get_mut(&id)
            && !watches.contains(&watch)
        {
            watches.push(watch);
        }
        Ok(())
    }
}

/// The nodes whose watches fired for a table.
fn triggers_nodes(fired: &Fired) -> Vec<u64> {
    match fired {
        Fired::Rebuild => Vec::new(),
        Fired::Records(records) => records.values().flatten().copied().collect(),
    }
}

/// Drops the watches `doomed` picks from node `id`, when the commit writes its record anyway.
fn remove_watch(plan: &mut Plan, id: u64, doomed: impl Fn(&Watch) -> bool) {
    if let Some(Record { body: Body::Table(_, watches), .. }) = plan.records.get_mut(&id) {
        watches.retain(|w| !doomed(w));
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unindexable(path: &str, why: &str) -> HomeError {
    HomeError::Invalid(format!("{path} cannot be indexed: {why}"))
}
