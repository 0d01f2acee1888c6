//! Embedded tables: a small table of plain data is stored by value in the entry that holds it,
//! not as a node of its own. A record of a collection (`_home.users.alice = {name = ..., age =
//! ...}`) is then one key in the store instead of one per field plus a record: it is written,
//! read and scanned with its table. (A query over 100,000 such records reads one range.)
//!
//! A table is embedded while it is small ([`MAX_EMBEDDED`] bytes stored), holds no function,
//! userdata or stored table of its own, and is stored in one place. It becomes a node of its own
//! at the commit that breaks one of these: it grows, it is given a function, or it is stored under
//! a second path (`_home.b = _home.a`), so that both paths share it as before.
//!
//! In Lua an embedded table is a proxy like any stored table, with an id of this unit's own that
//! stands for where it is stored (its holder and key): writes through it rewrite that entry. So
//! within a call it keeps its identity, and a proxy kept from an earlier call reads what is stored
//! at that place now.

use std::collections::{HashMap, HashSet};
use std::ffi::c_void;

use mlua::{Lua, Table, Value};

use super::codec::{Body, Key, KeyCode, Record, Stored};
use super::commit::{Plan, new_id};
use super::node::{Node, key_of, segment};
use super::{Inner, lua_error};
use crate::bigint;

/// The most bytes an embedded table's stored form may take.
pub const MAX_EMBEDDED: usize = 1024;

/// Embedded tables nest at most this deep.
const MAX_DEPTH: usize = 8;

/// Where an embedded table is stored: the entry `key` of node `holder` (itself embedded or not).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Location {
    pub holder: u64,
    pub key: KeyCode,
}

/// The embedded tables this unit has made proxies for, both ways.
#[derive(Default)]
pub struct Places {
    at: HashMap<u64, Location>,
    ids: HashMap<Location, u64>,
    /// How many places there may be before the next look for those Lua no longer holds: each
    /// look is as long as the map, so they grow apart as it grows.
    prune_at: usize,
}

impl Places {
    pub fn location(&self, id: u64) -> Option<&Location> {
        self.at.get(&id)
    }

    fn id(&mut self, location: Location) -> u64 {
        if let Some(id) = self.ids.get(&location) {
            return *id;
        }
        let id = new_id();
        self.at.insert(id, location.clone());
        self.ids.insert(location, id);
        id
    }

    fn remove(&mut self, id: u64) {
        if let Some(location) = self.at.remove(&id) {
            self.ids.remove(&location);
        }
    }

    /// Forgets the places whose proxies Lua no longer holds, when there are many.
    pub fn prune(&mut self, proxies: &Table) -> mlua::Result<()> {
        if self.at.len() < self.prune_at.max(4096) {
            return Ok(());
        }
        let mut gone = Vec::new();
        for id in self.at.keys() {
            if proxies.raw_get::<Option<Table>>(*id as i64)?.is_none() {
                gone.push(*id);
            }
        }
        for id in gone {
            self.remove(id);
        }
        self.prune_at = 2 * self.at.len();
        Ok(())
    }
}

/// How many times each plain table is stored by a commit, so that one stored twice becomes a node.
pub type Counts = HashMap<*const c_void, usize>;

impl Inner {
    pub(super) fn is_embedded(&self, id: u64) -> bool {
        self.places.location(id).is_some()
    }

    /// The proxy of the table embedded in entry `key` of `holder`.
    pub(super) fn embedded_proxy(
        &mut self,
        holder: u64,
        key: &KeyCode,
        stored: Stored,
        path: &str,
    ) -> mlua::Result<Value> {
        let id = self.places.id(Location { holder, key: key.clone() });
        self.call.embedded.insert(id, stored);
        Ok(Value::Table(self.proxy(id, path)?))
    }

    /// Makes the node of embedded table `id` in this call, its backing holding every entry.
    pub(super) fn load_embedded(&mut self, id: u64) -> mlua::Result<()> {
        if !self.call.embedded.contains_key(&id) {
            // A proxy from an earlier call: read its place again.
            let location = self.places.location(id).cloned().ok_or_else(|| lua_error("not an embedded table"))?;
            let key = Key::decode(&location.key.0).map_err(|e| lua_error(e.to_string()))?;
            let lua_key = self.key_value(&key)?;
            self.index(location.holder, lua_key)?;
        }
        let path = self.path(id);
        let Some(Stored::Embedded(shape, entries)) = self.call.embedded.get(&id).cloned() else {
            return Err(lua_error(format!("{path} is no longer stored where it was: another writer replaced it")));
        };
        let lua = self.lua()?;
        let backing = lua.create_table_with_capacity(0, entries.len())?;
        let record = Record { refs: 0, version: 0, body: Body::Table(shape, Vec::new()) };
        let node = Node::new(Some(record), backing.clone(), HashMap::new());
        self.call.nodes.insert(id, node);
        for (code, value) in entries {
            let key = Key::decode(&code.0).map_err(|e| lua_error(format!("{path} has a damaged key: {e}")))?;
            let entry_path = format!("{path}{}", segment(&key));
            let value = match value {
                nested @ Stored::Embedded(..) => self.embedded_proxy(id, &code, nested, &entry_path)?,
                scalar => self.materialize(&scalar, &entry_path)?,
            };
            backing.raw_set(self.key_value(&key)?, value)?;
        }
        self.mark_complete(id)
    }

    /// Makes each embedded table the call changed change its place too, up to a stored node.
    pub(super) fn propagate_embedded_changes(&mut self) -> mlua::Result<()> {
        let mut done = HashSet::new();
        loop {
            let pending: Vec<u64> = self
                .call
                .nodes
                .iter()
                .filter(|(id, node)| !node.dirty.is_empty() && !done.contains(*id) && self.is_embedded(**id))
                .map(|(id, _)| *id)
                .collect();
            if pending.is_empty() {
                return Ok(());
            }
            for id in pending {
                done.insert(id);
                let Some(location) = self.places.location(id).cloned() else { continue };
                let key = Key::decode(&location.key.0).map_err(|e| lua_error(e.to_string()))?;
                let lua_key = self.key_value(&key)?;
                let holder = self.node(location.holder, Some(&location.key))?;
                holder.dirty.insert(location.key, lua_key);
            }
        }
    }

    /// Counts the plain tables `value` stores, through tables and function upvalues.
    pub(super) fn count_plain(
        &self,
        lua: &Lua,
        value: &Value,
        counts: &mut Counts,
        seen: &mut HashSet<*const c_void>,
    ) -> mlua::Result<()> {
        match value {
            Value::Table(t) if self.id_of(t)?.is_none() => {
                let count = counts.entry(t.to_pointer()).or_default();
                *count += 1;
                if *count == 1 {
                    for pair in t.pairs::<Value, Value>() {
                        let (_, value) = pair?;
                        self.count_plain(lua, &value, counts, seen)?;
                    }
                }
            }
            Value::Function(f) if seen.insert(f.to_pointer()) => {
                for index in 1..=super::function::upvalue_count(f) {
                    self.count_plain(lua, &super::function::upvalue(lua, f, index)?, counts, seen)?;
                }
            }
            _ => {}
        }
        Ok(())
    }

    /// Where an embedded table's holder is stored by this commit: the node it becomes, if it is
    /// being made one.
    fn holder_now(&self, plan: &Plan, holder: u64) -> mlua::Result<u64> {
        if let Some(id) = plan.promoted.get(&holder) {
            return Ok(*id);
        }
        if let Some(node) = self.call.nodes.get(&holder)
            && let Some(id) = plan.tables.get(&node.backing.to_pointer())
        {
            return Ok(*id);
        }
        Ok(holder)
    }

    /// Whether embedded table `id` is stored at `at`.
    fn is_at(&self, plan: &Plan, id: u64, at: &Location) -> mlua::Result<bool> {
        let Some(place) = self.places.location(id) else { return Ok(false) };
        Ok(place.key == at.key && self.holder_now(plan, place.holder)? == at.holder)
    }

    /// The embedded form of `table` for entry `at`, if it may be embedded there: a plain table
    /// stored once, or the embedded table whose place `at` is, small and of plain data.
    pub(super) fn embedding(
        &mut self,
        lua: &Lua,
        plan: &Plan,
        table: &Table,
        at: &Location,
    ) -> mlua::Result<Option<Stored>> {
        let mut size = 0;
        self.embedded_form(lua, plan, table, Some(at), 0, &mut size)
    }

    fn embedded_form(
        &mut self,
        lua: &Lua,
        plan: &Plan,
        table: &Table,
        at: Option<&Location>,
        depth: usize,
        size: &mut usize,
    ) -> mlua::Result<Option<Stored>> {
        if depth > MAX_DEPTH {
            return Ok(None);
        }
        let id = self.id_of(table)?;
        let backing = match (id, at) {
            (None, _) if plan.counts.get(&table.to_pointer()).copied().unwrap_or(0) <= 1 => table.clone(),
            (Some(id), Some(at)) if !plan.promoting.contains(&id) && self.is_at(plan, id, at)? => self.complete(id)?,
            _ => return Ok(None),
        };
        let Ok(shape) = super::commit::shape_of(&backing, "") else { return Ok(None) };
        let mut entries = Vec::new();
        for pair in backing.pairs::<Value, Value>() {
            let (key, value) = pair?;
            let Ok(key) = key_of(&key) else { return Ok(None) };
            let code = key.encode();
            *size += code.0.len() + 8;
            let stored = match &value {
                Value::Boolean(b) => Stored::Boolean(*b),
                Value::Integer(i) => Stored::Integer(*i),
                Value::Number(n) => Stored::Float(*n),
                Value::String(s) => Stored::String(s.as_bytes().to_vec()),
                Value::LightUserData(p) if p.0.is_null() => Stored::Null,
                Value::UserData(u) => match bigint::of_userdata(lua, u) {
                    Some(big) => Stored::BigInt(big),
                    None => return Ok(None),
                },
                Value::Table(nested) => {
                    // A nested embedded table's place is in this one; a plain table has none.
                    let inner = id.map(|holder| Location { holder, key: code.clone() });
                    match self.embedded_form(lua, plan, nested, inner.as_ref(), depth + 1, size)? {
                        Some(stored) => stored,
                        None => return Ok(None),
                    }
                }
                _ => return Ok(None),
            };
            if let Stored::String(s) = &stored {
                *size += s.len();
            }
            if *size > MAX_EMBEDDED {
                return Ok(None);
            }
            entries.push((code, stored));
        }
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Ok(Some(Stored::Embedded(shape, entries)))
    }

    /// The node embedded table `id` becomes in this commit (with its embedded holders), because
    /// it is stored in a second place or can no longer be embedded. `path` names it.
    pub(super) fn promote(&mut self, lua: &Lua, plan: &mut Plan, id: u64, path: &str) -> Result<u64, super::HomeError> {
        if let Some(node) = plan.promoted.get(&id) {
            return Ok(*node);
        }
        let backing = self.complete(id)?;
        if let Some(node) = plan.tables.get(&backing.to_pointer()) {
            return Ok(*node); // being made already, further up this promotion
        }
        let place = self.places.location(id).cloned().ok_or_else(|| lua_error("not an embedded table"))?;
        plan.promoting.insert(id);
        // Its holder cannot hold a reference while embedded: it becomes a node first, and this
        // table becomes one inside it.
        if self.is_embedded(place.holder) {
            let holder_path = self.path(place.holder);
            self.promote(lua, plan, place.holder, &holder_path)?;
            if let Some(node) = plan.promoted.get(&id) {
                return Ok(*node);
            }
        }
        let node = self.new_table(lua, plan, &backing, path)?;
        plan.promoted.insert(id, node);
        plan.relocate.push((id, place));
        Ok(node)
    }

    /// After a commit: embedded tables that became nodes are those nodes from now on.
    pub(super) fn promoted(&mut self, promoted: &HashMap<u64, u64>) -> mlua::Result<()> {
        for (&old, &new) in promoted {
            self.places.remove(old);
            if let Some(proxy) = self.proxies.raw_get::<Option<Table>>(old as i64)? {
                self.proxies.raw_set(old as i64, Value::Nil)?;
                self.proxies.raw_set(new as i64, &proxy)?;
                self.ids.raw_set(&proxy, new as i64)?;
            }
        }
        Ok(())
    }
}
