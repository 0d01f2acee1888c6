//! Lua values to and from the packed preorder nodes of `cu:unit/types.value`.
//!
//! Rules (also in docs/VALUES.md): a table whose keys are exactly 1..n (n ≥ 1) is an array, any other
//! table a map whose entries are sorted — booleans, then numbers by value, then strings bytewise — so
//! the same table gives the same value in every host and run. A metatable field `__jsontype` of
//! `"array"` or `"object"` overrides the rule (that is how an empty or sparse table becomes an array).
//! Strings are bytes. `nil` inside a container is Lua's `null`. Functions, userdata, threads, cycles
//! and nesting deeper than `MAX_DEPTH` cannot cross.
//!
//! Both directions work on Lua's C API directly: through mlua's handles, a 100,000-record input
//! took twice as long. from_lua.rs and to_lua.rs say how each stays memory-safe.

mod from_lua;
mod to_lua;

use std::cmp::Ordering;

pub use from_lua::{from_lua, longest_array};
pub use to_lua::to_lua;

/// Deepest nesting of tables that converts either way.
pub const MAX_DEPTH: usize = 512;

/// The registry key of the metatable given to arrays that arrive from the host.
pub const ARRAY_METATABLE: &std::ffi::CStr = c"cu.array";

/// The metatable field that says how a table converts: `"array"` or `"object"`.
pub const SHAPE_FIELD: &str = "__jsontype";

/// Why a value did not convert, and where. Paths are built only on failure, innermost segment
/// first, so successful conversions pay nothing for them.
#[derive(Debug)]
pub enum Failure {
    /// The value cannot be represented on the other side.
    Invalid { reason: String, path: Vec<String> },
    /// Lua itself failed while building the value (out of memory).
    Lua(mlua::Error),
    /// The value holds a stored table not yet loaded: load what it reaches and convert again.
    Unloaded,
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

/// A table key that can cross: the scalar kinds, strings as their bytes.
#[derive(Clone, Copy, Debug)]
pub enum Key<'a> {
    Boolean(bool),
    Integer(i64),
    Float(f64),
    String(&'a [u8]),
}

impl<'a> Key<'a> {
    /// The key a node stands for, when it is one that can cross.
    fn of(node: packed::Node<'a>) -> Option<Self> {
        Some(match node {
            packed::Node::Boolean(b) => Key::Boolean(b),
            packed::Node::Integer(i) => Key::Integer(i),
            packed::Node::Float(f) => Key::Float(f),
            packed::Node::String(bytes) => Key::String(bytes),
            _ => return None,
        })
    }

    /// The key's node.
    pub fn node(self) -> packed::Node<'a> {
        match self {
            Key::Boolean(b) => packed::Node::Boolean(b),
            Key::Integer(i) => packed::Node::Integer(i),
            Key::Float(f) => packed::Node::Float(f),
            Key::String(bytes) => packed::Node::String(bytes),
        }
    }

    /// Booleans, then numbers by value, then strings bytewise.
    pub fn order(&self, other: &Key<'_>) -> Ordering {
        fn rank(key: &Key<'_>) -> u8 {
            match key {
                Key::Boolean(_) => 0,
                Key::Integer(_) | Key::Float(_) => 1,
                Key::String(_) => 2,
            }
        }
        match (self, other) {
            (Key::Boolean(x), Key::Boolean(y)) => x.cmp(y),
            (Key::Integer(x), Key::Integer(y)) => x.cmp(y),
            (Key::Integer(x), Key::Float(y)) => integer_against_float(*x, *y),
            (Key::Float(x), Key::Integer(y)) => integer_against_float(*y, *x).reverse(),
            (Key::Float(x), Key::Float(y)) => x.total_cmp(y),
            (Key::String(x), Key::String(y)) => x.cmp(y),
            _ => rank(self).cmp(&rank(other)),
        }
    }

    /// How the key appears in a path: `.name`, `[3]`, `["two words"]`.
    fn segment(&self) -> String {
        match self {
            Key::String(bytes) if is_identifier(bytes) => {
                format!(".{}", String::from_utf8_lossy(bytes))
            }
            other => format!("[{}]", other.display()),
        }
    }

    /// The key as Lua would write it: `3`, `1.5`, `true`, `"two words"`.
    fn display(&self) -> String {
        match self {
            Key::String(bytes) => format!("{:?}", String::from_utf8_lossy(bytes)),
            Key::Integer(i) => i.to_string(),
            Key::Float(f) => format!("{f:?}"),
            Key::Boolean(b) => b.to_string(),
        }
    }
}

/// `i` against `f` exactly, as Lua compares them: converting `i` to a float would round the
/// integers near ±2^63 onto it (2^63 - 1 becomes 2^63 and ties with it).
fn integer_against_float(i: i64, f: f64) -> Ordering {
    const TWO_TO_63: f64 = 9_223_372_036_854_775_808.0;
    if f.is_nan() {
        return Ordering::Less; // not a key Lua allows; any consistent order does
    }
    if f >= TWO_TO_63 {
        return Ordering::Less;
    }
    if f < -TWO_TO_63 {
        return Ordering::Greater;
    }
    // In range: the integer part is exact as an i64, and the fraction breaks a tie.
    let whole = f.trunc();
    i.cmp(&(whole as i64)).then_with(|| 0f64.total_cmp(&(f - whole)))
}

fn is_identifier(bytes: &[u8]) -> bool {
    bytes.first().is_some_and(|c| c.is_ascii_alphabetic() || *c == b'_')
        && bytes.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}
