//! [`Value`]: a Lua value that can cross the boundary, and its conversions.

use std::fmt::{self, Write};

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use crate::bindings::cu::unit::types::{Entry, Node, Value as WitValue};
use crate::error::{Error, Result};

/// Deepest nesting a value may have on its way in or out (the guest enforces the same).
pub const MAX_DEPTH: usize = 512;

/// A structured Lua value: what code returns, what functions take as arguments.
///
/// A Lua table becomes an [`Array`](Value::Array) when its keys are exactly `1..=n` (n ≥ 1) and a
/// [`Map`](Value::Map) otherwise, with entries sorted: booleans, then numbers, then strings.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `nil`.
    Nil,
    /// `true` or `false`.
    Boolean(bool),
    /// A Lua integer: exact 64-bit.
    Integer(i64),
    /// A Lua float.
    Float(f64),
    /// A Lua string. Lua strings are bytes and need not be UTF-8; see [`Value::as_str`].
    String(Vec<u8>),
    /// A table with keys `1..=n`, in order.
    Array(Vec<Value>),
    /// Any other table, as key/value pairs.
    Map(Vec<(Value, Value)>),
}

impl Value {
    /// The string, when this is a string holding valid UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Value::String(bytes) => std::str::from_utf8(bytes).ok(),
            _ => None,
        }
    }

    /// The Lua type name: `nil`, `boolean`, `number`, `string` or `table`.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Nil => "nil",
            Value::Boolean(_) => "boolean",
            Value::Integer(_) | Value::Float(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) | Value::Map(_) => "table",
        }
    }

    /// Flattens the value into the node list the component takes. `path` names it in errors.
    pub(crate) fn to_wit(&self, path: &str) -> Result<WitValue> {
        let mut nodes = Vec::new();
        self.push_nodes(&mut nodes, 0).map_err(|reason| Error::Conversion { path: path.to_string(), reason })?;
        Ok(WitValue { nodes })
    }

    fn push_nodes(&self, nodes: &mut Vec<Node>, depth: usize) -> Result<u32, String> {
        if depth > MAX_DEPTH {
            return Err(format!("nests tables deeper than {MAX_DEPTH} levels"));
        }
        let index = u32::try_from(nodes.len()).map_err(|_| "has more than 2^32 nodes".to_string())?;
        let node = match self {
            Value::Nil => Node::Nil,
            Value::Boolean(b) => Node::Boolean(*b),
            Value::Integer(i) => Node::Integer(*i),
            Value::Float(f) => Node::Float(*f),
            Value::String(s) => Node::Bytes(s.clone()),
            Value::Array(items) => {
                nodes.push(Node::Nil); // placeholder: children come after their parent
                let children = items.iter().map(|v| v.push_nodes(nodes, depth + 1)).collect::<Result<_, _>>()?;
                nodes[index as usize] = Node::Array(children);
                return Ok(index);
            }
            Value::Map(entries) => {
                nodes.push(Node::Nil);
                let mut wit_entries = Vec::with_capacity(entries.len());
                for (key, value) in entries {
                    let key = key.push_nodes(nodes, depth + 1)?;
                    let value = value.push_nodes(nodes, depth + 1)?;
                    wit_entries.push(Entry { key, value });
                }
                nodes[index as usize] = Node::Map(wit_entries);
                return Ok(index);
            }
        };
        nodes.push(node);
        Ok(index)
    }

    /// Rebuilds a value from the component's node list, checking its shape.
    pub(crate) fn from_wit(value: WitValue) -> Result<Value> {
        let malformed = |reason: String| Error::Conversion {
            path: "the component's value".into(),
            reason: format!("is malformed: {reason}"),
        };
        let mut slots: Vec<Option<Node>> = value.nodes.into_iter().map(Some).collect();
        if slots.is_empty() {
            return Err(malformed("it has no nodes".into()));
        }
        build(&mut slots, 0, 0).map_err(malformed)
    }
}

fn build(slots: &mut [Option<Node>], index: u32, depth: usize) -> Result<Value, String> {
    if depth > MAX_DEPTH {
        return Err(format!("it nests deeper than {MAX_DEPTH} levels"));
    }
    let node = slots
        .get_mut(index as usize)
        .ok_or_else(|| format!("node {index} does not exist"))?
        .take()
        .ok_or_else(|| format!("node {index} is used twice"))?;
    let child = |slots: &mut [Option<Node>], child: u32| {
        if child <= index {
            return Err(format!("node {index} refers back to node {child}"));
        }
        build(slots, child, depth + 1)
    };
    Ok(match node {
        Node::Nil => Value::Nil,
        Node::Boolean(b) => Value::Boolean(b),
        Node::Integer(i) => Value::Integer(i),
        Node::Float(f) => Value::Float(f),
        Node::Bytes(bytes) => Value::String(bytes),
        Node::Array(children) => {
            Value::Array(children.into_iter().map(|c| child(slots, c)).collect::<Result<_, _>>()?)
        }
        Node::Map(entries) => Value::Map(
            entries
                .into_iter()
                .map(|e| Ok((child(slots, e.key)?, child(slots, e.value)?)))
                .collect::<Result<_, String>>()?,
        ),
    })
}

macro_rules! from_scalar {
    ($($t:ty => $variant:ident($conv:expr)),* $(,)?) => {
        $(impl From<$t> for Value {
            fn from(v: $t) -> Self {
                Value::$variant($conv(v))
            }
        })*
    };
}

from_scalar! {
    bool => Boolean(|v| v),
    i64 => Integer(|v| v),
    i32 => Integer(i64::from),
    f64 => Float(|v| v),
    &str => String(|v: &str| v.as_bytes().to_vec()),
    String => String(String::into_bytes),
    Vec<u8> => String(|v| v),
}

impl From<Vec<Value>> for Value {
    fn from(items: Vec<Value>) -> Self {
        Value::Array(items)
    }
}

/// Lua-like text: `42`, `1.5`, `"two"`, `{1, 2, a = true}`; strings are escaped as Lua would
/// read them back, and non-finite floats are written `math.huge`, `-math.huge` and `0/0`.
impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Nil => f.write_str("nil"),
            Value::Boolean(b) => write!(f, "{b}"),
            Value::Integer(i) => write!(f, "{i}"),
            Value::Float(x) => write_float(f, *x),
            Value::String(bytes) => write_string(f, bytes),
            Value::Array(items) => {
                f.write_char('{')?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_char('}')
            }
            Value::Map(entries) => {
                f.write_char('{')?;
                for (i, (key, value)) in entries.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    match key {
                        Value::String(bytes) if is_identifier(bytes) => {
                            f.write_str(std::str::from_utf8(bytes).map_err(|_| fmt::Error)?)?;
                        }
                        _ => write!(f, "[{key}]")?,
                    }
                    write!(f, " = {value}")?;
                }
                f.write_char('}')
            }
        }
    }
}

fn write_float(f: &mut fmt::Formatter<'_>, x: f64) -> fmt::Result {
    if x.is_nan() {
        f.write_str("0/0")
    } else if x.is_infinite() {
        f.write_str(if x > 0.0 { "math.huge" } else { "-math.huge" })
    } else {
        // Rust's shortest round-trip form always shows a float as one (`1.0`, `1e100`).
        write!(f, "{x:?}")
    }
}

fn write_string(f: &mut fmt::Formatter<'_>, bytes: &[u8]) -> fmt::Result {
    f.write_char('"')?;
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => f.write_str("\\\"")?,
                '\\' => f.write_str("\\\\")?,
                '\n' => f.write_str("\\n")?,
                '\r' => f.write_str("\\r")?,
                '\t' => f.write_str("\\t")?,
                // Three digits, so that a digit after the escape cannot join it.
                c if c.is_ascii_control() => write!(f, "\\{:03}", c as u32)?,
                c => f.write_char(c)?,
            }
        }
        for byte in chunk.invalid() {
            write!(f, "\\{byte:03}")?;
        }
    }
    f.write_char('"')
}

const KEYWORDS: &[&str] = &[
    "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if", "in", "local", "nil",
    "not", "or", "repeat", "return", "then", "true", "until", "while",
];

fn is_identifier(bytes: &[u8]) -> bool {
    bytes.first().is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        && bytes.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
        && !KEYWORDS.iter().any(|k| k.as_bytes() == bytes)
}

/// JSON-shaped serialization: nil is `null`, arrays are sequences, maps are objects whose keys are
/// written as text (`1`, `true`), strings that are not UTF-8 get U+FFFD for their invalid bytes,
/// and non-finite floats become `null` (JSON has no NaN or infinity).
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Nil => serializer.serialize_unit(),
            Value::Boolean(b) => serializer.serialize_bool(*b),
            Value::Integer(i) => serializer.serialize_i64(*i),
            Value::Float(x) if x.is_finite() => serializer.serialize_f64(*x),
            Value::Float(_) => serializer.serialize_unit(),
            Value::String(bytes) => serializer.serialize_str(&String::from_utf8_lossy(bytes)),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    let key = match key {
                        Value::String(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                        other => other.to_string(),
                    };
                    map.serialize_entry(&key, value)?;
                }
                map.end()
            }
        }
    }
}
