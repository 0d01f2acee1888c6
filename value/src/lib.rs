//! [`Value`]: a Lua value that can cross the boundary of cu's component, and its conversions: any
//! `Serialize` type into the packed nodes of wit/types.wit (ser.rs), packed nodes into any
//! `Deserialize` type (de.rs) — `Value` itself being one of each — and JSON for display (json.rs).
//! The Rust host re-exports it as `cu::Value`; components that use cu (cu-run) print with it.

mod de;
mod json;
mod ser;

use std::fmt::{self, Write};

pub use de::{from_packed, from_value};
pub use json::Json;
pub use ser::{to_packed, to_value};

use num_bigint::BigInt;

use packed::Node;

/// Deepest nesting a value may have on its way in or out (the guest enforces the same).
pub const MAX_DEPTH: usize = 512;

/// A structured Lua value: what code returns, what functions take as arguments, what `_io` holds.
///
/// A Lua table becomes an [`Array`](Value::Array) when its keys are exactly `1..=n` (n ≥ 1) and a
/// [`Map`](Value::Map) otherwise, with entries sorted: booleans, then numbers, then strings. A
/// [`Nil`](Value::Nil) inside an array or map is Lua's `null`, so `[1, null, 3]` keeps its length.
/// docs/VALUES.md has every rule.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// `nil`; inside an array or map, Lua's `null`.
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
    /// An integer of any size: a Lua `bigint` (docs/BIGINT.md). In serde's data model it is the
    /// map `{"$bigint": "<decimal digits>"}` ([`BIGINT_MARKER`]), and such a map is a bigint.
    BigInt(BigInt),
}

/// The one key of the map that stands for a bigint in serde's data model and in JSON:
/// `{"$bigint": "-123"}`.
pub const BIGINT_MARKER: &str = "$bigint";

/// A value that does not fit where it goes: the path to it (`_io.input.users[2].age`) and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Conversion {
    /// Where in the value, from the root the conversion was given.
    pub path: String,
    /// What is wrong there.
    pub reason: String,
}

impl fmt::Display for Conversion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.reason)
    }
}

impl std::error::Error for Conversion {}

/// What a conversion gives.
pub type Result<T, E = Conversion> = std::result::Result<T, E>;

/// The one key of the map in which serde_json (built with `arbitrary_precision`, as this
/// workspace has it) passes a number as its text: every number that does not fit 64 bits, and
/// every one with a fraction or an exponent. So an integer of any size reaches cu exactly.
const JSON_NUMBER: &str = "$serde_json::private::Number";

/// The value a single-entry map stands for, when it is a marker: `{"$bigint": "<digits>"}`, or
/// serde_json's number.
fn marker(key: &[u8], text: &[u8]) -> Option<Value> {
    let text = std::str::from_utf8(text).ok()?;
    match key {
        k if k == BIGINT_MARKER.as_bytes() => parse_bigint(text).map(Value::BigInt),
        k if k == JSON_NUMBER.as_bytes() => json_number(text),
        _ => None,
    }
}

/// A JSON number from its text. An integer literal is an integer, a bigint when it does not fit
/// 64 bits; one with a fraction or an exponent is a float, as Lua reads `1.0` and `1e3`.
fn json_number(text: &str) -> Option<Value> {
    if text.contains(['.', 'e', 'E']) {
        return text.parse().ok().map(Value::Float);
    }
    match text.parse() {
        Ok(integer) => Some(Value::Integer(integer)),
        Err(_) => parse_bigint(text).map(Value::BigInt),
    }
}

/// An integer of any width: an [`Integer`](Value::Integer) when it fits, else a bigint.
fn integer(value: i128) -> Value {
    i64::try_from(value).map_or_else(|_| Value::BigInt(value.into()), Value::Integer)
}

/// The bigint a marker map's value stands for: decimal digits after an optional `-`.
fn parse_bigint(digits: &str) -> Option<BigInt> {
    let unsigned = digits.strip_prefix('-').unwrap_or(digits);
    (!unsigned.is_empty() && unsigned.bytes().all(|b| b.is_ascii_digit())).then(|| digits.parse().ok()).flatten()
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
            Value::BigInt(_) => "bigint",
        }
    }
}

impl Value {
    /// Rebuilds a value from packed nodes, checking their shape.
    pub fn from_packed(nodes: &[u8]) -> Result<Value> {
        from_packed(nodes, "the component's value")
    }
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
            Value::BigInt(value) => write!(f, "bigint.new(\"{value}\")"),
            Value::Array(items) => {
                f.write_char('{')?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{}", Nested(item))?;
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
                    write!(f, " = {}", Nested(value))?;
                }
                f.write_char('}')
            }
        }
    }
}

/// A value inside a container, where nil is Lua's `null`.
struct Nested<'a>(&'a Value);

impl fmt::Display for Nested<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Value::Nil => f.write_str("null"),
            other => other.fmt(f),
        }
    }
}

/// How a key node appears in a path: `.name`, `[3]`, `["two words"]`.
fn key_segment(key: Option<Node<'_>>) -> String {
    let key = match key {
        Some(Node::String(bytes)) => Value::String(bytes.to_vec()),
        Some(Node::Integer(i)) => Value::Integer(i),
        Some(Node::Float(f)) => Value::Float(f),
        Some(Node::Boolean(b)) => Value::Boolean(b),
        _ => return String::new(),
    };
    match &key {
        Value::String(bytes) if is_identifier(bytes) => format!(".{}", String::from_utf8_lossy(bytes)),
        other => format!("[{other}]"),
    }
}

/// Why a value did not fit while converting between [`Value`] and Rust types, and where: path
/// segments are collected innermost first as the error travels out.
#[derive(Debug)]
struct Mismatch {
    reason: String,
    path: Vec<String>,
}

impl Mismatch {
    fn new(reason: impl Into<String>) -> Self {
        Mismatch { reason: reason.into(), path: Vec::new() }
    }

    fn at(mut self, segment: impl FnOnce() -> String) -> Self {
        self.path.push(segment());
        self
    }

    /// The crate's error, with the path starting at `root` (e.g. `_io.input`).
    fn into_error(self, root: &str) -> Conversion {
        let mut path = root.to_string();
        for segment in self.path.iter().rev() {
            path.push_str(segment);
        }
        Conversion { path, reason: self.reason }
    }
}

impl fmt::Display for Mismatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for Mismatch {}

impl serde::ser::Error for Mismatch {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Mismatch::new(msg.to_string())
    }
}

impl serde::de::Error for Mismatch {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        Mismatch::new(format!("does not match the requested type: {msg}"))
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
