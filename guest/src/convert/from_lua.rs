//! Lua values into nodes.
//!
//! Safety: the walk uses only C API calls that neither allocate Lua objects nor raise errors
//! (`lua_next`, raw gets, `lua_tolstring` on strings only, `lua_checkstack`, which may grow the
//! stack but runs no garbage-collection step). So no finalizer can run and change a table while it
//! is walked, string keys borrowed from a table stay valid, and no Lua error unwinds through these
//! Rust frames.

use std::ffi::{c_int, c_void};
use std::ptr;

use mlua::ffi::{self, lua_State};
use mlua::{Lua, Value as LuaValue};
use num_bigint::BigInt;

use super::{Failure, Key, MAX_DEPTH, SHAPE_FIELD};
use crate::bindings::cu::unit::types::{Node, Value};
use crate::{bigint, home};

/// Stack slots inside the protected call: the value being converted, the `__jsontype` string, the
/// metatable of stored tables and the table of their loaded backings (home/mod.rs).
const VALUE: c_int = 1;
const SHAPE_KEY: c_int = 2;
const STORED_META: c_int = 3;
const LOADED: c_int = 4;

/// A marked array may have holes (they become `null`), but not so many that a few keys turn into
/// a huge list: at most this many slots per present element, or 16 for small arrays.
const MAX_SLOTS_PER_ELEMENT: u64 = 4;

/// Converts one Lua value.
pub fn from_lua(lua: &Lua, value: &LuaValue) -> Result<Value, Failure> {
    let mut flattener = Flattener { value: Value { nodes: Vec::new(), bytes: Vec::new() }, ancestors: Vec::new() };
    match value {
        LuaValue::Table(_) => {
            let mut walked = Ok(());
            let meta: LuaValue = lua.named_registry_value(home_key(home::METATABLE))?;
            let loaded: LuaValue = lua.named_registry_value(home_key(home::LOADED))?;
            // SAFETY: see the module documentation; the closure leaves only its arguments on the stack.
            unsafe {
                lua.exec_raw::<()>((value, SHAPE_FIELD, meta, loaded), |state| walked = flattener.push(state, VALUE))
            }?;
            walked?;
        }
        // mlua's error values (a failed Rust callback) cross as their message.
        LuaValue::Error(error) => flattener.push_bytes(crate::errors::message_of(error).as_bytes())?,
        LuaValue::String(s) => flattener.push_bytes(&s.as_bytes())?,
        LuaValue::UserData(userdata) if let Some(value) = bigint::of_userdata(lua, userdata) => {
            flattener.push_bigint(&value)?;
        }
        scalar => flattener.value.nodes.push(scalar_node(scalar)?),
    }
    Ok(flattener.value)
}

fn home_key(key: &std::ffi::CStr) -> &str {
    key.to_str().unwrap_or_default()
}

fn scalar_node(value: &LuaValue) -> Result<Node, Failure> {
    Ok(match value {
        LuaValue::Nil => Node::Nil,
        LuaValue::LightUserData(p) if p.0.is_null() => Node::Nil,
        LuaValue::Boolean(b) => Node::Boolean(*b),
        LuaValue::Integer(i) => Node::Integer(*i),
        LuaValue::Number(n) => Node::Float(*n),
        other => return Err(Failure::invalid(format!("is a {}", other.type_name()))),
    })
}

struct Flattener {
    value: Value,
    /// Tables being converted, outermost first: meeting one again is a cycle.
    ancestors: Vec<*const c_void>,
}

/// How a table converts, from its metatable's `__jsontype`.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    Inferred,
    Array,
    Object,
}

/// The bytes of the string at `index`. Valid while the string stays reachable and no garbage
/// collection runs: for the whole walk (see the module documentation).
unsafe fn string_at<'a>(state: *mut lua_State, index: c_int) -> &'a [u8] {
    let mut len = 0;
    // SAFETY: the caller checked that the value is a string, so this neither converts nor allocates.
    unsafe {
        let data = ffi::lua_tolstring(state, index, &mut len);
        std::slice::from_raw_parts(data.cast::<u8>(), len)
    }
}

fn type_name(kind: c_int) -> &'static str {
    match kind {
        ffi::LUA_TFUNCTION => "function",
        ffi::LUA_TTHREAD => "thread",
        ffi::LUA_TUSERDATA | ffi::LUA_TLIGHTUSERDATA => "userdata",
        ffi::LUA_TTABLE => "table",
        ffi::LUA_TNIL => "nil",
        _ => "value of an unknown type",
    }
}

/// The key at `index`, when it is one that can cross.
unsafe fn key_at<'a>(state: *mut lua_State, index: c_int) -> Result<Key<'a>, Failure> {
    // SAFETY: `index` is a valid stack slot; the string case is checked before reading it.
    unsafe {
        Ok(match ffi::lua_type(state, index) {
            ffi::LUA_TBOOLEAN => Key::Boolean(ffi::lua_toboolean(state, index) != 0),
            ffi::LUA_TNUMBER if ffi::lua_isinteger(state, index) != 0 => {
                Key::Integer(ffi::lua_tointegerx(state, index, ptr::null_mut()))
            }
            ffi::LUA_TNUMBER => Key::Float(ffi::lua_tonumberx(state, index, ptr::null_mut())),
            ffi::LUA_TSTRING => Key::String(string_at(state, index)),
            other => {
                return Err(Failure::invalid(format!("has a {} as a key", type_name(other))));
            }
        })
    }
}

impl Flattener {
    fn push_bytes(&mut self, bytes: &[u8]) -> Result<(), Failure> {
        self.push_contents(bytes, Node::Bytes)
    }

    /// A bigint, as its decimal digits.
    fn push_bigint(&mut self, value: &BigInt) -> Result<(), Failure> {
        self.push_contents(value.to_string().as_bytes(), Node::Bigint)
    }

    /// A node whose contents are bytes of the value's buffer: a string or a bigint.
    fn push_contents(&mut self, bytes: &[u8], node: fn(u32) -> Node) -> Result<(), Failure> {
        let len = u32::try_from(bytes.len()).map_err(|_| Failure::invalid("is longer than 4 GiB"))?;
        self.value.bytes.extend_from_slice(bytes);
        self.value.nodes.push(node(len));
        Ok(())
    }

    fn push_key(&mut self, key: Key<'_>) -> Result<(), Failure> {
        match key {
            Key::Boolean(b) => self.value.nodes.push(Node::Boolean(b)),
            Key::Integer(i) => self.value.nodes.push(Node::Integer(i)),
            Key::Float(f) => self.value.nodes.push(Node::Float(f)),
            Key::String(bytes) => return self.push_bytes(bytes),
        }
        Ok(())
    }

    /// Converts the value at `index`.
    unsafe fn push(&mut self, state: *mut lua_State, index: c_int) -> Result<(), Failure> {
        // SAFETY: `index` is a valid stack slot; each accessor matches the value's type.
        unsafe {
            let node = match ffi::lua_type(state, index) {
                ffi::LUA_TNIL => Node::Nil,
                ffi::LUA_TBOOLEAN => Node::Boolean(ffi::lua_toboolean(state, index) != 0),
                ffi::LUA_TNUMBER if ffi::lua_isinteger(state, index) != 0 => {
                    Node::Integer(ffi::lua_tointegerx(state, index, ptr::null_mut()))
                }
                ffi::LUA_TNUMBER => Node::Float(ffi::lua_tonumberx(state, index, ptr::null_mut())),
                ffi::LUA_TSTRING => return self.push_bytes(string_at(state, index)),
                ffi::LUA_TLIGHTUSERDATA if ffi::lua_touserdata(state, index).is_null() => Node::Nil,
                ffi::LUA_TTABLE => return self.table(state, ffi::lua_absindex(state, index)),
                // Reading the digits allocates outside Lua only: Lua's heap is left alone.
                ffi::LUA_TUSERDATA if let Some(value) = bigint::at_index(state, index) => {
                    return self.push_bigint(&value);
                }
                other => return Err(Failure::invalid(format!("is a {}", type_name(other)))),
            };
            self.value.nodes.push(node);
            Ok(())
        }
    }

    unsafe fn table(&mut self, state: *mut lua_State, table: c_int) -> Result<(), Failure> {
        // SAFETY: `table` is an absolute index holding a table; every push below is within the
        // slots `lua_checkstack` reserved and is popped before the next.
        unsafe {
            if ffi::lua_checkstack(state, 4) == 0 {
                return Err(Failure::invalid("nests tables too deeply for Lua's stack"));
            }
            if is_stored(state, table) {
                // A stored table converts as its backing, which holds every entry once loaded.
                ffi::lua_pushvalue(state, table);
                if ffi::lua_rawget(state, LOADED) != ffi::LUA_TTABLE {
                    return Err(Failure::Unloaded);
                }
                let converted = self.table(state, ffi::lua_gettop(state));
                ffi::lua_pop(state, 1);
                return converted;
            }
            let pointer = ffi::lua_topointer(state, table);
            if self.ancestors.contains(&pointer) {
                return Err(Failure::invalid("is a cycle: a table that contains itself"));
            }
            if self.ancestors.len() >= MAX_DEPTH {
                return Err(Failure::invalid(format!("nests tables deeper than {MAX_DEPTH} levels")));
            }
            self.ancestors.push(pointer);
            let shape = shape(state, table)?;
            let keys = survey(state, table);
            match shape {
                Shape::Array if !keys.all_positive_integers => {
                    let key = first_key(state, table, |key| !matches!(key, Key::Integer(i) if i >= 1))?;
                    return Err(Failure::invalid(format!(
                        "is marked as an array ({SHAPE_FIELD} = \"array\") but has the key {}",
                        key.map_or_else(String::new, |k| k.display())
                    )));
                }
                Shape::Array => {
                    let limit = (keys.count as u64 * MAX_SLOTS_PER_ELEMENT).max(16);
                    if keys.largest > limit {
                        return Err(Failure::invalid(format!(
                            "is an array too sparse to convert: {} elements spread up to index {}",
                            keys.count, keys.largest
                        )));
                    }
                    self.array(state, table, keys.largest)?;
                }
                Shape::Inferred if keys.is_sequence() => self.array(state, table, keys.largest)?,
                Shape::Inferred | Shape::Object => self.map(state, table, keys.count)?,
            }
            self.ancestors.pop();
            Ok(())
        }
    }

    /// Elements 1..=len, missing ones as `null`.
    unsafe fn array(&mut self, state: *mut lua_State, table: c_int, len: u64) -> Result<(), Failure> {
        let count = u32::try_from(len).map_err(|_| Failure::invalid("has more than 2^32 elements"))?;
        self.value.nodes.push(Node::Array(count));
        for i in 1..=i64::from(count) {
            // SAFETY: one slot pushed and popped; the table stays at `table`.
            unsafe {
                ffi::lua_rawgeti(state, table, i);
                self.push(state, -1).map_err(|f| f.at(|| format!("[{i}]")))?;
                ffi::lua_pop(state, 1);
            }
        }
        Ok(())
    }

    /// Every entry, sorted by key. Entries are converted in Lua's order, then the finished ranges of
    /// nodes and bytes are put in key order; most tables built in key order need no moving.
    unsafe fn map(&mut self, state: *mut lua_State, table: c_int, count: usize) -> Result<(), Failure> {
        let len = u32::try_from(count).map_err(|_| Failure::invalid("has more than 2^32 entries"))?;
        self.value.nodes.push(Node::Map(len));
        let (first_node, first_byte) = (self.value.nodes.len(), self.value.bytes.len());
        let mut starts: Vec<(Key<'_>, usize, usize)> = Vec::with_capacity(count);
        let mut sorted = true;
        // SAFETY: `lua_next` keeps the key and value in two slots; the value is popped each round.
        unsafe {
            ffi::lua_pushnil(state);
            while ffi::lua_next(state, table) != 0 {
                let key = key_at(state, -2)?;
                if let Some((last, ..)) = starts.last() {
                    sorted &= last.order(&key).is_lt();
                }
                starts.push((key, self.value.nodes.len(), self.value.bytes.len()));
                self.push_key(key)?;
                self.push(state, -1).map_err(|f| f.at(|| key.segment()))?;
                ffi::lua_pop(state, 1);
            }
        }
        if !sorted {
            self.sort_entries(starts, first_node, first_byte);
        }
        Ok(())
    }

    /// Reorders the entries written since `first_node`/`first_byte`, which begin at `starts`.
    fn sort_entries(&mut self, starts: Vec<(Key<'_>, usize, usize)>, first_node: usize, first_byte: usize) {
        let nodes: Vec<Node> = self.value.nodes.drain(first_node..).collect();
        let bytes: Vec<u8> = self.value.bytes.drain(first_byte..).collect();
        let mut ranges: Vec<_> = starts
            .iter()
            .enumerate()
            .map(|(i, (key, node, byte))| {
                let (end_node, end_byte) = starts
                    .get(i + 1)
                    .map_or((first_node + nodes.len(), first_byte + bytes.len()), |next| (next.1, next.2));
                (*key, (node - first_node)..(end_node - first_node), (byte - first_byte)..(end_byte - first_byte))
            })
            .collect();
        ranges.sort_unstable_by(|a, b| a.0.order(&b.0));
        for (_, node_range, byte_range) in ranges {
            self.value.nodes.extend_from_slice(&nodes[node_range]);
            self.value.bytes.extend_from_slice(&bytes[byte_range]);
        }
    }
}

/// Whether the table at `table` is a proxy of a stored table.
unsafe fn is_stored(state: *mut lua_State, table: c_int) -> bool {
    // SAFETY: pushes the metatable (one of the reserved slots) and pops it.
    unsafe {
        if ffi::lua_getmetatable(state, table) == 0 {
            return false;
        }
        let stored = ffi::lua_rawequal(state, -1, STORED_META) != 0;
        ffi::lua_pop(state, 1);
        stored
    }
}

/// What a table's metatable says about its shape; most tables have none.
unsafe fn shape(state: *mut lua_State, table: c_int) -> Result<Shape, Failure> {
    // SAFETY: pushes the metatable and one field of it (two of the reserved slots), pops both.
    unsafe {
        if ffi::lua_getmetatable(state, table) == 0 {
            return Ok(Shape::Inferred);
        }
        ffi::lua_pushvalue(state, SHAPE_KEY);
        ffi::lua_rawget(state, -2);
        let shape = match ffi::lua_type(state, -1) {
            ffi::LUA_TNIL => Ok(Shape::Inferred),
            ffi::LUA_TSTRING => match string_at(state, -1) {
                b"array" => Ok(Shape::Array),
                b"object" => Ok(Shape::Object),
                other => Err(Failure::invalid(format!(
                    "has a metatable whose {SHAPE_FIELD} is {:?}: it must be \"array\" or \"object\"",
                    String::from_utf8_lossy(other)
                ))),
            },
            other => Err(Failure::invalid(format!(
                "has a metatable whose {SHAPE_FIELD} is a {}: it must be \"array\" or \"object\"",
                type_name(other)
            ))),
        };
        ffi::lua_pop(state, 2);
        shape
    }
}

/// What a first pass over a table's keys finds.
struct Keys {
    count: usize,
    /// The largest positive integer key (0 if none).
    largest: u64,
    all_positive_integers: bool,
}

impl Keys {
    /// Keys exactly 1..n, n ≥ 1 (a table holds no key twice).
    fn is_sequence(&self) -> bool {
        self.count > 0 && self.all_positive_integers && self.largest == self.count as u64
    }
}

unsafe fn survey(state: *mut lua_State, table: c_int) -> Keys {
    let mut keys = Keys { count: 0, largest: 0, all_positive_integers: true };
    // SAFETY: `lua_next` keeps the key and value in two slots; the value is popped each round.
    unsafe {
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, table) != 0 {
            keys.count += 1;
            match (ffi::lua_isinteger(state, -2) != 0).then(|| ffi::lua_tointegerx(state, -2, ptr::null_mut())) {
                Some(i) if i >= 1 => keys.largest = keys.largest.max(i as u64),
                _ => keys.all_positive_integers = false,
            }
            ffi::lua_pop(state, 1);
        }
    }
    keys
}

/// The first key for which `wanted` holds, in Lua's order (for error messages).
unsafe fn first_key<'a>(
    state: *mut lua_State,
    table: c_int,
    wanted: impl Fn(Key<'_>) -> bool,
) -> Result<Option<Key<'a>>, Failure> {
    // SAFETY: as in `survey`; when returning early the key and value stay on the stack, which the
    // protected call discards.
    unsafe {
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, table) != 0 {
            let key = key_at(state, -2)?;
            if wanted(key) {
                return Ok(Some(key));
            }
            ffi::lua_pop(state, 1);
        }
    }
    Ok(None)
}
