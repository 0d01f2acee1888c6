//! Lua values to and from the flat node lists of `cu:unit/types.value`.
//!
//! Rules (also in docs/VALUES.md): a table whose keys are exactly 1..n (n ≥ 1) is an array, any other
//! table (the empty one included) a map whose entries are sorted — booleans, then numbers by value,
//! then strings bytewise — so the same table gives the same value in every host and run. Strings are
//! bytes. Functions, userdata, threads, cycles and nesting deeper than `MAX_DEPTH` cannot cross.

use std::cmp::Ordering;
use std::ffi::c_void;

use mlua::{Lua, Table, Value as LuaValue};

use crate::bindings::cu::unit::types::{Entry, Node, Value};

/// Deepest nesting of tables that converts either way.
pub const MAX_DEPTH: usize = 512;

/// Why a value did not convert, and where. Paths are built only on failure, innermost segment
/// first, so successful conversions pay nothing for them.
#[derive(Debug)]
pub enum Failure {
    /// The value cannot be represented on the other side.
    Invalid { reason: String, path: Vec<String> },
    /// Lua itself failed while building the value (out of memory).
    Lua(mlua::Error),
}

impl Failure {
    fn invalid(reason: impl Into<String>) -> Self {
        Failure::Invalid { reason: reason.into(), path: Vec::new() }
    }

    fn at(mut self, segment: impl FnOnce() -> String) -> Self {
        if let Failure::Invalid { path, .. } = &mut self {
            path.push(segment());
        }
        self
    }

    /// The path from the root, outermost first, given the root's own name (e.g. `[2]`).
    pub fn path(path: &[String], root: &str) -> String {
        let mut text = root.to_string();
        for segment in path.iter().rev() {
            text.push_str(segment);
        }
        text
    }
}

impl From<mlua::Error> for Failure {
    fn from(error: mlua::Error) -> Self {
        Failure::Lua(error)
    }
}

/// Converts one Lua value.
pub fn from_lua(value: &LuaValue) -> Result<Value, Failure> {
    let mut flattener = Flattener { nodes: Vec::new(), ancestors: Vec::new() };
    flattener.push(value)?;
    Ok(Value { nodes: flattener.nodes })
}

struct Flattener {
    nodes: Vec<Node>,
    /// Tables being converted, outermost first: meeting one again is a cycle.
    ancestors: Vec<*const c_void>,
}

impl Flattener {
    fn push(&mut self, value: &LuaValue) -> Result<u32, Failure> {
        let index = node_index(self.nodes.len())?;
        let node = match value {
            LuaValue::Nil => Node::Nil,
            LuaValue::Boolean(b) => Node::Boolean(*b),
            LuaValue::Integer(i) => Node::Integer(*i),
            LuaValue::Number(n) => Node::Float(*n),
            LuaValue::String(s) => Node::Bytes(s.as_bytes().to_vec()),
            LuaValue::Table(table) => {
                self.nodes.push(Node::Nil); // placeholder: children come after their parent
                let node = self.table(table)?;
                self.nodes[index as usize] = node;
                return Ok(index);
            }
            LuaValue::Error(error) => Node::Bytes(crate::errors::message_of(error).into_bytes()),
            other => return Err(Failure::invalid(format!("is a {}", other.type_name()))),
        };
        self.nodes.push(node);
        Ok(index)
    }

    fn table(&mut self, table: &Table) -> Result<Node, Failure> {
        let pointer = table.to_pointer();
        if self.ancestors.contains(&pointer) {
            return Err(Failure::invalid("is a cycle: a table that contains itself"));
        }
        if self.ancestors.len() >= MAX_DEPTH {
            return Err(Failure::invalid(format!("nests tables deeper than {MAX_DEPTH} levels")));
        }
        self.ancestors.push(pointer);
        let mut entries = Vec::new();
        for pair in table.pairs::<LuaValue, LuaValue>() {
            entries.push(pair?);
        }
        let node = if is_sequence(&entries) {
            entries.sort_unstable_by_key(|(k, _)| k.as_integer());
            let mut children = Vec::with_capacity(entries.len());
            for (key, value) in &entries {
                children.push(self.push(value).map_err(|f| f.at(|| segment(key)))?);
            }
            Node::Array(children)
        } else {
            for (key, _) in &entries {
                check_key(key)?;
            }
            entries.sort_unstable_by(|(a, _), (b, _)| key_order(a, b));
            let mut map = Vec::with_capacity(entries.len());
            for (key, value) in &entries {
                let key_index = self.push(key)?;
                let value_index = self.push(value).map_err(|f| f.at(|| segment(key)))?;
                map.push(Entry { key: key_index, value: value_index });
            }
            Node::Map(map)
        };
        self.ancestors.pop();
        Ok(node)
    }
}

fn node_index(len: usize) -> Result<u32, Failure> {
    u32::try_from(len).map_err(|_| Failure::invalid("has more than 2^32 nodes"))
}

/// Whether the keys are exactly the integers 1..n, n ≥ 1 (no key repeats in a Lua table).
fn is_sequence(entries: &[(LuaValue, LuaValue)]) -> bool {
    let n = entries.len() as i64;
    n > 0 && entries.iter().all(|(k, _)| matches!(k, LuaValue::Integer(i) if (1..=n).contains(i)))
}

fn check_key(key: &LuaValue) -> Result<(), Failure> {
    match key {
        LuaValue::Boolean(_) | LuaValue::Integer(_) | LuaValue::Number(_) | LuaValue::String(_) => Ok(()),
        other => Err(Failure::invalid(format!("has a {} as a key", other.type_name()))),
    }
}

/// Booleans, then numbers by value, then strings bytewise.
fn key_order(a: &LuaValue, b: &LuaValue) -> Ordering {
    fn rank(v: &LuaValue) -> u8 {
        match v {
            LuaValue::Boolean(_) => 0,
            LuaValue::Integer(_) | LuaValue::Number(_) => 1,
            _ => 2,
        }
    }
    match (a, b) {
        (LuaValue::Boolean(x), LuaValue::Boolean(y)) => x.cmp(y),
        (LuaValue::Integer(x), LuaValue::Integer(y)) => x.cmp(y),
        (LuaValue::Integer(x), LuaValue::Number(y)) => (*x as f64).total_cmp(y),
        (LuaValue::Number(x), LuaValue::Integer(y)) => x.total_cmp(&(*y as f64)),
        (LuaValue::Number(x), LuaValue::Number(y)) => x.total_cmp(y),
        (LuaValue::String(x), LuaValue::String(y)) => x.as_bytes().cmp(&y.as_bytes()),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// How a key appears in a path: `.name`, `[3]`, `["two words"]`.
fn segment(key: &LuaValue) -> String {
    match key {
        LuaValue::String(s) => {
            let bytes = s.as_bytes();
            let identifier = bytes.first().is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
                && bytes.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_');
            if identifier {
                format!(".{}", s.display())
            } else {
                format!("[{:?}]", s.to_string_lossy())
            }
        }
        LuaValue::Integer(i) => format!("[{i}]"),
        LuaValue::Number(n) => format!("[{n:?}]"),
        LuaValue::Boolean(b) => format!("[{b}]"),
        other => format!("[{}]", other.type_name()),
    }
}

/// Builds the Lua value a structured value describes.
pub fn to_lua(lua: &Lua, value: &Value) -> Result<LuaValue, Failure> {
    if value.nodes.is_empty() {
        return Err(Failure::invalid("is empty: a value needs at least its root node"));
    }
    Builder { lua, nodes: &value.nodes }.node(0, 0)
}

struct Builder<'a> {
    lua: &'a Lua,
    nodes: &'a [Node],
}

impl Builder<'_> {
    fn node(&self, index: u32, depth: usize) -> Result<LuaValue, Failure> {
        let Some(node) = self.nodes.get(index as usize) else {
            return Err(Failure::invalid(format!("refers to node {index}, past the end of the value")));
        };
        Ok(match node {
            Node::Nil => LuaValue::Nil,
            Node::Boolean(b) => LuaValue::Boolean(*b),
            Node::Integer(i) => LuaValue::Integer(*i),
            Node::Float(f) => LuaValue::Number(*f),
            Node::Bytes(bytes) => LuaValue::String(self.lua.create_string(bytes)?),
            Node::Array(children) => {
                let table = self.container(index, depth, children.len(), 0)?;
                for (i, &child) in children.iter().enumerate() {
                    let at = || format!("[{}]", i + 1);
                    let value = self.child(index, child, depth).map_err(|f| f.at(at))?;
                    table.raw_set(i + 1, value)?;
                }
                LuaValue::Table(table)
            }
            Node::Map(entries) => {
                let table = self.container(index, depth, 0, entries.len())?;
                for entry in entries {
                    let key = self.child(index, entry.key, depth)?;
                    match &key {
                        LuaValue::Nil | LuaValue::Table(_) => {
                            return Err(Failure::invalid(format!("has a {} as a key", key.type_name())));
                        }
                        LuaValue::Number(n) if n.is_nan() => return Err(Failure::invalid("has NaN as a key")),
                        _ => {}
                    }
                    let value = self.child(index, entry.value, depth).map_err(|f| f.at(|| segment(&key)))?;
                    table.raw_set(key, value)?;
                }
                LuaValue::Table(table)
            }
        })
    }

    fn container(&self, index: u32, depth: usize, narr: usize, nrec: usize) -> Result<Table, Failure> {
        if depth >= MAX_DEPTH {
            return Err(Failure::invalid(format!("nests containers deeper than {MAX_DEPTH} levels")));
        }
        // Never trust sizes from outside: at most what the node list could fill.
        let limit = self.nodes.len() - index as usize;
        Ok(self.lua.create_table_with_capacity(narr.min(limit), nrec.min(limit))?)
    }

    /// Children must come after their parent: that keeps a malicious node list from forming cycles.
    fn child(&self, parent: u32, child: u32, depth: usize) -> Result<LuaValue, Failure> {
        if child <= parent {
            return Err(Failure::invalid(format!("refers back to node {child} from node {parent}")));
        }
        self.node(child, depth + 1)
    }
}
