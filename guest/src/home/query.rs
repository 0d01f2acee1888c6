//! Queries over the records of a stored table: conditions on fields (the seed's ten operators,
//! several joined by AND), a sort by the first condition's field and a limit.
//!
//! A query reads committed data and overlays the call's own writes. The committed part comes from
//! an index on a condition's field when the table has one — only the range of index entries the
//! condition selects, in order, so a sorted query with a limit stops early — or else from one scan
//! of the table and batched reads of the fields. The records this call changed (found through the
//! watches of the tables it wrote, or the tables the scan passed through) are left out of that and
//! judged as the call sees them. Every comparison is on the codes of order.rs, so the index and
//! the scan agree by construction.

use std::cmp::Ordering;
use std::collections::{BTreeSet, HashMap, HashSet};

use mlua::{Lua, Table, Value};

use super::catalog::{Index, Watched, display};
use super::codec::{self, Key, KeyCode, Step, Stored};
use super::node::{key_of, segment};
use super::order::{self, Class};
use super::views::{Fired, watches};
use super::{GLOBAL, HomeError, Inner, to_host};
use crate::bindings::cu::unit::kv::KeyRange;

/// The seed's default limit.
pub const DEFAULT_LIMIT: usize = 100;

/// Values read per batch when fields are fetched from the store.
const BATCH: usize = 4096;

/// Entries per page of a scan that reads a whole table.
const SCAN_PAGE: u32 = 1024;

const OPERATORS: &str = "=, !=, <, <=, >, >=, between, startsWith, endsWith, contains";

/// A parsed query.
#[derive(Debug)]
pub struct Query {
    pub table: Vec<KeyCode>,
    conditions: Vec<Condition>,
    limit: usize,
    descending: bool,
}

/// A condition on one field: the codes it accepts are a span of the order, with a further test
/// for the operators whose matches are not one span.
#[derive(Debug)]
struct Condition {
    field: Vec<KeyCode>,
    start: Vec<u8>,
    end: Option<Vec<u8>>,
    test: Test,
}

#[derive(Debug)]
enum Test {
    Span,
    NotEqual(Vec<u8>),
    EndsWith(Vec<u8>),
    Contains(Vec<u8>),
}

impl Condition {
    fn matches(&self, code: &[u8]) -> bool {
        let in_span = order::compare(code, &self.start).is_ge()
            && self.end.as_ref().is_none_or(|end| order::compare(code, end).is_lt());
        in_span
            && match &self.test {
                Test::Span => true,
                Test::NotEqual(value) => code != value.as_slice(),
                Test::EndsWith(suffix) => order::string_of(code).is_some_and(|s| s.ends_with(suffix)),
                Test::Contains(part) => {
                    order::string_of(code).is_some_and(|s| part.is_empty() || s.windows(part.len()).any(|w| w == part))
                }
            }
    }

    /// Whether an index reads only what matches (rather than all of it, filtered).
    fn narrows(&self) -> bool {
        matches!(self.test, Test::Span) && !self.start.is_empty()
    }
}

/// A path from a query or a definition: a dotted string (`address.city`, the empty string for
/// none) or an array of keys.
pub fn path_of(value: &Value, what: &str) -> Result<Vec<KeyCode>, String> {
    match value {
        Value::String(s) if s.as_bytes().is_empty() => Ok(Vec::new()),
        Value::String(s) => {
            Ok(s.as_bytes().split(|b| *b == b'.').map(|part| Key::String(part.to_vec()).encode()).collect())
        }
        Value::Table(keys) => keys
            .sequence_values::<Value>()
            .map(|key| {
                let key = key.map_err(|e| e.to_string())?;
                key_of(&key).map(|k| k.encode()).map_err(|why| format!("{what}: {why}"))
            })
            .collect(),
        other => Err(format!("{what} must be a string or an array of keys, not a {}", other.type_name())),
    }
}

fn described(lua: &Lua, value: &Value) -> String {
    match value {
        Value::String(s) => format!("{:?}", s.to_string_lossy()),
        Value::Integer(i) => i.to_string(),
        Value::Number(n) => format!("{n:?}"),
        Value::Boolean(b) => b.to_string(),
        Value::Nil => "nil".into(),
        other if order::of_lua(lua, other).is_some() => other.type_name().to_string(),
        other => format!("a {}", other.type_name()),
    }
}

impl Query {
    /// A query in the seed's form: `{ table = 'appUsers', field = 'score', operator = '>=',
    /// value = 800, limit = 10, sort = 'desc' }`, with further conditions in `where`.
    pub fn parse(lua: &Lua, spec: &Table) -> Result<Query, String> {
        for pair in spec.pairs::<Value, Value>() {
            let (key, _) = pair.map_err(|e| e.to_string())?;
            let known = matches!(&key, Value::String(s)
                if ["table", "field", "operator", "value", "where", "limit", "sort"].contains(&&*s.to_string_lossy()));
            if !known {
                return Err(format!(
                    "unknown query option {}: a query has table, field, operator, value, where, limit and sort",
                    described(lua, &key)
                ));
            }
        }
        let get = |name: &str| spec.raw_get::<Value>(name).map_err(|e| e.to_string());
        let table = match get("table")? {
            Value::Nil => return Err("a query needs a table: { table = 'users', ... }".into()),
            table => path_of(&table, "the query's table")?,
        };
        let mut conditions = Vec::new();
        if !get("field")?.is_nil() || !get("operator")?.is_nil() {
            conditions.push(Condition::parse(lua, &get("field")?, &get("operator")?, get("value")?)?);
        }
        match get("where")? {
            Value::Nil => {}
            Value::Table(list) => {
                for (i, condition) in list.sequence_values::<Value>().enumerate() {
                    let Value::Table(c) = condition.map_err(|e| e.to_string())? else {
                        return Err(format!("where[{}] must be a table: {{ field, operator, value }}", i + 1));
                    };
                    let at = |name: &str, n: i64| -> Result<Value, String> {
                        let named: Value = c.raw_get(name).map_err(|e| e.to_string())?;
                        if named.is_nil() { c.raw_get(n).map_err(|e| e.to_string()) } else { Ok(named) }
                    };
                    let condition = Condition::parse(lua, &at("field", 1)?, &at("operator", 2)?, at("value", 3)?)
                        .map_err(|why| format!("where[{}]: {why}", i + 1))?;
                    conditions.push(condition);
                }
            }
            other => return Err(format!("where must be an array of conditions, not a {}", other.type_name())),
        }
        let limit = match get("limit")? {
            Value::Nil => DEFAULT_LIMIT,
            Value::Integer(n) if n >= 1 => n as usize,
            Value::Number(n) if n >= 1.0 && n.fract() == 0.0 => n as usize,
            other => return Err(format!("limit must be a whole number of at least 1, not {}", described(lua, &other))),
        };
        let descending = match get("sort")? {
            Value::Nil => false,
            Value::String(s) if s.as_bytes().as_ref() == b"asc" => false,
            Value::String(s) if s.as_bytes().as_ref() == b"desc" => true,
            other => return Err(format!("sort must be 'asc' or 'desc', not {}", described(lua, &other))),
        };
        Ok(Query { table, conditions, limit, descending })
    }

    /// The query's table as a path from `_home`.
    pub fn table_path(&self) -> String {
        let shown = display(&self.table);
        if shown.is_empty() { GLOBAL.to_string() } else { format!("{GLOBAL}.{shown}") }
    }
}

impl Condition {
    fn parse(lua: &Lua, field: &Value, operator: &Value, value: Value) -> Result<Condition, String> {
        if field.is_nil() {
            return Err("a condition needs a field".into());
        }
        let field = path_of(field, "a condition's field")?;
        let Value::String(operator) = operator else {
            return Err(format!("a condition needs an operator ({OPERATORS}), not {}", described(lua, operator)));
        };
        let operator = operator.to_string_lossy();
        let code = |value: &Value| -> Result<Vec<u8>, String> {
            order::of_lua(lua, value).ok_or_else(|| {
                format!(
                    "operator {operator} compares with a boolean, number, string or null, not {}",
                    described(lua, value)
                )
            })
        };
        // Ordered comparisons stay within numbers or within strings, as Lua's do.
        let ordered = |value: &Value| -> Result<(Vec<u8>, Class), String> {
            let code = code(value)?;
            match Class::of(&code) {
                Some(class @ (Class::Number | Class::String)) => Ok((code, class)),
                _ => Err(format!("operator {operator} compares numbers or strings, not {}", described(lua, value))),
            }
        };
        let text = |value: &Value| -> Result<Vec<u8>, String> {
            match value {
                Value::String(s) => Ok(s.as_bytes().to_vec()),
                other => Err(format!("operator {operator} needs a string, not {}", described(lua, other))),
            }
        };
        let span =
            |start: Vec<u8>, end: Option<Vec<u8>>| Condition { field: field.clone(), start, end, test: Test::Span };
        let after = |code: &[u8]| order::after_prefix(code);
        Ok(match operator.as_str() {
            "=" | "==" => {
                let code = code(&value)?;
                span(code.clone(), after(&code))
            }
            "!=" | "~=" => Condition { field, start: Vec::new(), end: None, test: Test::NotEqual(code(&value)?) },
            "<" => {
                let (code, class) = ordered(&value)?;
                span(class.bounds().0, Some(code))
            }
            "<=" => {
                let (code, class) = ordered(&value)?;
                span(class.bounds().0, after(&code))
            }
            ">" => {
                let (code, class) = ordered(&value)?;
                span(after(&code).unwrap_or_default(), Some(class.bounds().1))
            }
            ">=" => {
                let (code, class) = ordered(&value)?;
                span(code, Some(class.bounds().1))
            }
            "between" => {
                let bounds: Vec<Value> = match &value {
                    Value::Table(t) => t.sequence_values().collect::<mlua::Result<_>>().map_err(|e| e.to_string())?,
                    _ => Vec::new(),
                };
                let [low, high] = bounds.as_slice() else {
                    return Err(format!(
                        "operator between needs two values, {{low, high}}, not {}",
                        described(lua, &value)
                    ));
                };
                let ((low, a), (high, b)) = (ordered(low)?, ordered(high)?);
                if a != b {
                    return Err("operator between needs two numbers or two strings".into());
                }
                span(low, after(&high))
            }
            "startsWith" => {
                let prefix = order::string_prefix(&text(&value)?);
                span(prefix.clone(), after(&prefix))
            }
            "endsWith" | "contains" => {
                let (start, end) = Class::String.bounds();
                let part = text(&value)?;
                let test = if operator == "endsWith" { Test::EndsWith(part) } else { Test::Contains(part) };
                Condition { field, start, end: Some(end), test }
            }
            other => return Err(format!("unknown operator '{other}': use {OPERATORS}")),
        })
    }
}

/// A record that matched: what it sorts by, and its key.
type Hit = (Vec<u8>, KeyCode);

/// A record's fields as committed: the code of each (none: absent or not a scalar), and the
/// tables read on the way to them.
type Fetched = (Vec<Option<Vec<u8>>>, Vec<u64>);

/// The first hits of a query in its order, up to its limit, of however many are offered: a hit
/// that cannot be among them is turned away before its code and key are copied.
struct Best<'q> {
    query: &'q Query,
    hits: Vec<Hit>,
    /// The last hit kept by the latest trim: no hit after it is among the first.
    bound: Option<Hit>,
}

impl<'q> Best<'q> {
    fn new(query: &'q Query) -> Self {
        Best { query, hits: Vec::new(), bound: None }
    }

    /// The query's order: by code, ties by key, both backwards in a descending sort.
    fn order(&self, (code, key): (&[u8], &[u8]), other: &Hit) -> Ordering {
        let ascending = order::compare(code, &other.0).then_with(|| order::compare(key, &other.1.0));
        if self.query.descending { ascending.reverse() } else { ascending }
    }

    fn admits(&self, code: &[u8], key: &[u8]) -> bool {
        self.bound.as_ref().is_none_or(|bound| self.order((code, key), bound).is_lt())
    }

    /// Offers a hit by reference, copied only if it is kept.
    fn offer(&mut self, code: &[u8], key: &[u8]) {
        if self.admits(code, key) {
            self.keep((code.to_vec(), KeyCode(key.to_vec())));
        }
    }

    fn push(&mut self, hit: Hit) {
        if self.admits(&hit.0, &hit.1.0) {
            self.keep(hit);
        }
    }

    fn keep(&mut self, hit: Hit) {
        self.hits.push(hit);
        if self.hits.len() >= 2 * self.query.limit.max(64) {
            self.trim();
        }
    }

    fn trim(&mut self) {
        let limit = self.query.limit;
        if self.hits.len() > limit {
            let mut hits = std::mem::take(&mut self.hits);
            hits.select_nth_unstable_by(limit - 1, |a, b| self.order((&a.0, &a.1.0), b));
            hits.truncate(limit);
            self.bound = hits.last().cloned();
            self.hits = hits;
        }
    }

    /// The hits kept, in order.
    fn into_sorted(mut self) -> Vec<Hit> {
        self.trim();
        let mut hits = std::mem::take(&mut self.hits);
        hits.sort_unstable_by(|a, b| self.order((&a.0, &a.1.0), b));
        hits
    }
}

impl Inner {
    /// The records `query` selects, in order: each key with its value as the call sees it.
    pub(super) fn query(&mut self, lua: &Lua, query: &Query) -> Result<Vec<(Value, Value)>, HomeError> {
        let (table, hits) = self.select(lua, query)?;
        if let Some(id) = self.id_of(&table)? {
            self.read_entries(id, &hits)?;
            // The records themselves, in one round trip rather than one each when they are read.
            let backing = self.call.nodes.get(&id).map(|node| node.backing.clone());
            let mut records = Vec::new();
            for code in &hits {
                let key = self.key_value(&key_of_hit(code)?)?;
                if let Some(Value::Table(record)) = backing.as_ref().map(|b| b.raw_get(key)).transpose()?
                    && let Some(record) = self.id_of(&record)?
                {
                    records.push(record);
                }
            }
            self.prefetch(&records, &[])?;
        }
        hits.iter()
            .map(|code| {
                let key = key_of_hit(code)?;
                let value = self.get_in_view(&table, &key)?;
                Ok((self.key_value(&key)?, value))
            })
            .collect()
    }

    /// The records `query` selects, in order, for the host: each key and value in the packed
    /// form, straight from the store when the record is plain and the call has not changed it,
    /// else as the call sees it, to be converted.
    pub(super) fn query_for_host(&mut self, lua: &Lua, query: &Query) -> Result<Vec<(Vec<u8>, Found)>, HomeError> {
        let (table, hits) = self.select(lua, query)?;
        let id = self.id_of(&table)?.filter(|id| !self.is_embedded(*id));
        let stored = match id.and_then(|id| self.call.nodes.get(&id).map(|node| (id, node))) {
            Some((id, node)) => {
                let unread: Vec<&KeyCode> =
                    hits.iter().filter(|c| !node.dirty.contains_key(*c) && !node.stored.contains_key(*c)).collect();
                let keys: Vec<Vec<u8>> = unread.iter().map(|c| codec::entry_key(id, c)).collect();
                let read: HashMap<&KeyCode, Option<Stored>> =
                    unread.into_iter().zip(self.read_values(&keys)?).collect();
                let node = &self.call.nodes[&id];
                let mut stored = Vec::with_capacity(hits.len());
                for code in &hits {
                    stored.push(match (node.dirty.contains_key(code), node.stored.get(code), read.get(code)) {
                        (true, ..) => None,
                        (false, Some(bytes), _) => bytes.as_deref().map(Stored::decode).transpose().ok().flatten(),
                        (false, None, Some(value)) => value.clone(),
                        (false, None, None) => None,
                    });
                }
                stored
            }
            None => vec![None; hits.len()],
        };
        let mut out = Vec::with_capacity(hits.len());
        for (code, stored) in hits.iter().zip(stored) {
            let key = key_of_hit(code)?;
            let found = match stored.as_ref().and_then(to_host::value) {
                Some(packed) => Found::Packed(packed),
                None => Found::Lua(self.get_in_view(&table, &key)?),
            };
            out.push((to_host::key(&key), found));
        }
        Ok(out)
    }

    /// The table `query` reads and the keys of the records it selects, in order.
    fn select(&mut self, lua: &Lua, query: &Query) -> Result<(Table, Vec<KeyCode>), HomeError> {
        let way = self.walk_table_path(None, &query.table)?;
        let invalid = |why: String| HomeError::Invalid(why);
        let table = match (way.table, way.obstacle) {
            (Some((table, _)), _) => table,
            (None, Some((at, what))) => {
                return Err(invalid(format!(
                    "{GLOBAL}.{} is a {what}, not a table of records",
                    display(&query.table[..=at])
                )));
            }
            (None, None) => return Err(invalid(format!("{} does not exist", query.table_path()))),
        };
        // The call's changes to embedded records are changes to their tables' entries.
        self.propagate_embedded_changes()?;
        let hits = match self.id_of(&table)? {
            Some(id) if !self.is_embedded(id) => self.query_stored(lua, query, &table, id)?,
            _ => self.scan_in_view(lua, query, &table, None)?,
        };
        let mut best = Best::new(query);
        for hit in hits {
            best.push(hit);
        }
        Ok((table, best.into_sorted().into_iter().map(|(_, key)| key).collect()))
    }

    fn query_stored(&mut self, lua: &Lua, query: &Query, table: &Table, id: u64) -> Result<Vec<Hit>, HomeError> {
        let catalog = self.catalog()?.committed.clone();
        let record = self.node(id, None)?.record.as_ref();
        let watched =
            catalog.table_at(&query.table).filter(|w| watches(record).contains(&codec::Watch::Table { table: w.id }));
        // The index by which to read, and the condition it serves.
        let driver = watched.and_then(|w| {
            let indexed = |c: &Condition| w.indexes.iter().find(|i| i.field == c.field);
            let by = |narrowing: bool| {
                query.conditions.iter().enumerate().find_map(|(n, c)| {
                    (c.narrows() == narrowing).then(|| indexed(c).map(|index| (n, index.clone()))).flatten()
                })
            };
            by(true).or_else(|| by(false))
        });
        let (Some(watched), Some((n, index))) = (watched, driver) else {
            return self.scan_stored(lua, query, table, id);
        };
        let mine: BTreeSet<KeyCode> = match self.pending_triggers(&catalog).fired.remove(&watched.id) {
            None => BTreeSet::new(),
            Some(Fired::Records(records)) => records.into_keys().collect(),
            // The call changed the way to the table: the index is not its table's.
            Some(Fired::Rebuild) => return self.scan_in_view(lua, query, table, None),
        };
        let mut hits = self.read_index(query, watched, n, &index, id, &mine)?;
        hits.extend(self.scan_in_view(lua, query, table, Some(&mine))?);
        Ok(hits)
    }

    /// The committed records an index finds for condition `n`, but those in `skip`.
    fn read_index(
        &mut self,
        query: &Query,
        watched: &Watched,
        n: usize,
        index: &Index,
        table: u64,
        skip: &BTreeSet<KeyCode>,
    ) -> Result<Vec<Hit>, HomeError> {
        let driver = &query.conditions[n];
        let prefix = codec::index_prefix(index.id);
        let start = [prefix.as_slice(), &driver.start].concat();
        let end = match &driver.end {
            Some(end) => Some([prefix.as_slice(), end].concat()),
            None => order::after_prefix(&prefix),
        };
        // In the sort's order when the index is on the sort's field, so that the limit ends it.
        let in_order = n == 0;
        let reverse = in_order && query.descending;
        let page = if in_order { (query.limit * 2).clamp(64, BATCH) } else { BATCH } as u32;
        let others = query.conditions.len() > 1;
        let fields: Vec<Vec<KeyCode>> = query.conditions.iter().map(|c| c.field.clone()).collect();
        let path = format!("the index on {}", display(&[watched.path.clone(), index.field.clone()].concat()));
        let range = KeyRange { start, end };
        let mut hits = Vec::new();
        let mut cursor = None;
        loop {
            let (entries, next) = self.store.scan_page(&range, reverse, cursor.as_deref(), page)?;
            let mut found = Vec::new();
            for (key, _) in entries.entries() {
                let rest = &key[prefix.len()..];
                let length =
                    order::length(rest).ok_or_else(|| HomeError::Corrupt(format!("{path} holds a damaged entry")))?;
                let (code, record) = (rest[..length].to_vec(), KeyCode(rest[length..].to_vec()));
                if !skip.contains(&record) && driver.matches(&code) {
                    found.push((code, record));
                }
            }
            if others {
                // The other conditions, on the fields as committed.
                let records = found.iter().map(|(_, key)| (key.clone(), None)).collect();
                let fetched = self.fetch_fields(table, records, &fields)?;
                hits.extend(
                    found
                        .into_iter()
                        .zip(fetched)
                        .filter_map(|((_, key), (codes, _))| judge(query, codes).map(|s| (s, key))),
                );
            } else {
                hits.extend(found);
            }
            match next {
                Some(next) if !(in_order && hits.len() >= query.limit) => cursor = Some(next),
                _ => return Ok(hits),
            }
        }
    }

    /// The committed records of a table without a usable index: one scan of the table and the
    /// fields in batches. Records the call changed are judged as it sees them.
    fn scan_stored(&mut self, lua: &Lua, query: &Query, table: &Table, id: u64) -> Result<Vec<Hit>, HomeError> {
        let prefix = codec::entry_prefix(id);
        let path = query.table_path();
        let corrupt = |e: codec::Corrupt| HomeError::Corrupt(format!("{path} cannot be read: {e}"));
        let mut mine: BTreeSet<KeyCode> =
            self.call.nodes.get(&id).map(|node| node.dirty.keys().cloned().collect()).unwrap_or_default();
        // Fields are read in place from the records' bytes, a page at a time; records with a
        // field behind a stored table are decoded, and their tables read, in batches after.
        let mut best = Best::new(query);
        let mut behind = Vec::new();
        let mut codes = vec![Vec::new(); query.conditions.len()];
        let end = order::after_prefix(&prefix);
        self.store.scan_pages::<HomeError>(prefix.clone(), end, false, SCAN_PAGE, |page| {
            for (key, bytes) in page.entries() {
                let key = &key[prefix.len()..];
                if !mine.is_empty() && mine.contains(&KeyCode(key.to_vec())) {
                    continue;
                }
                let (_, value) = codec::unsealed(bytes).map_err(corrupt)?;
                match judge_in_place(value, &query.conditions, &mut codes).map_err(corrupt)? {
                    Some(true) => best.offer(codes.first().map_or(&[], Vec::as_slice), key),
                    Some(false) => {}
                    None => behind.push((KeyCode(key.to_vec()), Some(Stored::read(value).map_err(corrupt)?))),
                }
            }
            Ok(true)
        })?;
        let keys: Vec<KeyCode> = behind.iter().map(|(key, _)| key.clone()).collect();
        let fields: Vec<Vec<KeyCode>> = query.conditions.iter().map(|c| c.field.clone()).collect();
        let fetched = self.fetch_fields(id, behind, &fields)?;
        let changed: HashSet<u64> =
            self.call.nodes.iter().filter(|(_, node)| !node.dirty.is_empty()).map(|(id, _)| *id).collect();
        for (key, (codes, nodes)) in keys.into_iter().zip(fetched) {
            if nodes.iter().any(|node| changed.contains(node)) {
                mine.insert(key);
            } else if let Some(sort) = judge(query, codes) {
                best.push((sort, key));
            }
        }
        for hit in self.scan_in_view(lua, query, table, Some(&mine))? {
            best.push(hit);
        }
        Ok(best.into_sorted())
    }

    /// Records judged as the call sees them: those in `only`, or all of the table.
    fn scan_in_view(
        &mut self,
        lua: &Lua,
        query: &Query,
        table: &Table,
        only: Option<&BTreeSet<KeyCode>>,
    ) -> Result<Vec<Hit>, HomeError> {
        let keys: Vec<KeyCode> = match only {
            Some(only) => only.iter().cloned().collect(),
            None => {
                let first = query.conditions.iter().filter_map(|c| c.field.first().cloned()).collect();
                self.keys_read_ahead(table, first)?
            }
        };
        if let Some(id) = self.id_of(table)? {
            self.read_entries(id, &keys)?;
        }
        let mut hits = Vec::new();
        for code in keys {
            let key = key_of_hit(&code)?;
            let record = self.get_in_view(table, &key)?;
            let mut codes = Vec::with_capacity(query.conditions.len());
            for condition in &query.conditions {
                let mut value = record.clone();
                for step in &condition.field {
                    let Value::Table(t) = &value else {
                        value = Value::Nil;
                        break;
                    };
                    let step =
                        Key::decode(&step.0).map_err(|e| HomeError::Corrupt(format!("a field cannot be read: {e}")))?;
                    value = self.get_in_view(t, &step)?;
                }
                codes.push(order::of_lua(lua, &value));
            }
            if !record.is_nil()
                && let Some(sort) = judge(query, codes)
            {
                hits.push((sort, code));
            }
        }
        Ok(hits)
    }

    /// The codes of `fields` of the records of table `table` as committed, with the tables read
    /// on the way to them. A record's own value is given when known, else read.
    fn fetch_fields(
        &mut self,
        table: u64,
        records: Vec<(KeyCode, Option<Stored>)>,
        fields: &[Vec<KeyCode>],
    ) -> Result<Vec<Fetched>, HomeError> {
        let unknown: Vec<usize> =
            records.iter().enumerate().filter(|(_, (_, v))| v.is_none()).map(|(i, _)| i).collect();
        let keys: Vec<Vec<u8>> = unknown.iter().map(|&i| codec::entry_key(table, &records[i].0)).collect();
        let found = self.read_values(&keys)?;
        let mut values: Vec<Option<Stored>> = records.into_iter().map(|(_, v)| v).collect();
        for (i, value) in unknown.into_iter().zip(found) {
            values[i] = value;
        }
        let mut out: Vec<Fetched> =
            values.iter().map(|v| (Vec::new(), v.as_ref().and_then(Stored::node).into_iter().collect())).collect();
        for field in fields {
            // The records themselves until the first step: only the values found are copied.
            let mut current: Option<Vec<Option<Stored>>> = None;
            for step in field {
                let mut next = vec![None; values.len()];
                let mut at = Vec::new();
                let here = current.as_deref().unwrap_or(&values);
                for (i, value) in here.iter().enumerate() {
                    match value {
                        // An embedded table holds its entries: no read.
                        Some(Stored::Embedded(_, entries)) => {
                            next[i] = entries.iter().find(|(key, _)| key == step).map(|(_, value)| value.clone());
                        }
                        Some(Stored::Table(node)) => at.push((i, codec::entry_key(*node, step))),
                        _ => {}
                    }
                }
                let found = self.read_values(&at.iter().map(|(_, k)| k.clone()).collect::<Vec<_>>())?;
                for ((i, _), value) in at.into_iter().zip(found) {
                    if let Some(node) = value.as_ref().and_then(Stored::node) {
                        out[i].1.push(node);
                    }
                    next[i] = value;
                }
                current = Some(next);
            }
            let last = current.as_deref().unwrap_or(&values);
            for (i, value) in last.iter().enumerate() {
                out[i].0.push(value.as_ref().and_then(order::of_stored));
            }
        }
        Ok(out)
    }

    /// Stored values of `keys`, in batches.
    fn read_values(&mut self, keys: &[Vec<u8>]) -> Result<Vec<Option<Stored>>, HomeError> {
        let mut values = Vec::with_capacity(keys.len());
        for batch in keys.chunks(BATCH) {
            for (key, bytes) in batch.iter().zip(self.store.get_many(batch)?) {
                values.push(match bytes {
                    Some(bytes) => Some(
                        Stored::decode(&bytes)
                            .map_err(|e| HomeError::Corrupt(format!("{} cannot be read: {e}", self.entry_path(key))))?,
                    ),
                    None => None,
                });
            }
        }
        Ok(values)
    }

    /// An entry key as a path, for messages.
    fn entry_path(&self, key: &[u8]) -> String {
        let id = key.get(1..9).and_then(|b| b.try_into().ok()).map_or(0, u64::from_be_bytes);
        let segment = Key::decode(key.get(9..).unwrap_or_default()).map(|k| segment(&k)).unwrap_or_default();
        format!("{}{segment}", self.path(id))
    }
}

/// The key of a record a query selected.
fn key_of_hit(code: &KeyCode) -> Result<Key, HomeError> {
    Key::decode(&code.0).map_err(|e| HomeError::Corrupt(format!("a key cannot be read: {e}")))
}

/// A record a query selected, for the host.
pub enum Found {
    /// In the packed form already.
    Packed(Vec<u8>),
    /// As the call sees it: converted by the caller.
    Lua(Value),
}

/// Whether a record whose condition fields have `codes` matches every condition; if so, what it
/// sorts by (the first condition's field).
fn judge(query: &Query, codes: Vec<Option<Vec<u8>>>) -> Option<Vec<u8>> {
    for (condition, code) in query.conditions.iter().zip(&codes) {
        if !code.as_ref().is_some_and(|code| condition.matches(code)) {
            return None;
        }
    }
    // A query without conditions sorts by key alone.
    Some(codes.into_iter().next().flatten().unwrap_or_default())
}

/// Whether a record matches every condition, judged on its value's bytes: `codes` receives the
/// code of each field up to the first that fails (the first, what the record sorts by; a query
/// without conditions has none). None when a field lies behind a stored table, to be read.
fn judge_in_place(
    record: &[u8],
    conditions: &[Condition],
    codes: &mut [Vec<u8>],
) -> Result<Option<bool>, codec::Corrupt> {
    'fields: for (condition, code) in conditions.iter().zip(codes) {
        let mut value = record;
        for step in &condition.field {
            value = match Stored::step(value, step)? {
                Step::Found(value) => value,
                Step::Node => return Ok(None),
                Step::Missing => return Ok(Some(false)),
            };
        }
        if order::of_bytes_into(value, code)? && condition.matches(code) {
            continue 'fields;
        }
        return Ok(Some(false));
    }
    Ok(Some(true))
}
