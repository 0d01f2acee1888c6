//! Lua values into packed nodes.
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
use packed::{Container, Node};

use super::{Failure, Key, MAX_DEPTH, SHAPE_FIELD};
use crate::bindings::cu::unit::types::Value;
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

/// The longest a marked array of `count` elements may be.
pub fn longest_array(count: usize) -> u64 {
    (count as u64 * MAX_SLOTS_PER_ELEMENT).max(16)
}

/// Converts one Lua value.
pub fn from_lua(lua: &Lua, value: &LuaValue) -> Result<Value, Failure> {
    let mut flattener = Flattener { out: Vec::new(), ancestors: Vec::new(), entries: Vec::new(), scratch: Vec::new() };
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
        LuaValue::Error(error) => flattener.push_node(Node::String(crate::errors::message_of(error).as_bytes()))?,
        LuaValue::String(s) => flattener.push_node(Node::String(&s.as_bytes()))?,
        LuaValue::UserData(userdata) if let Some(value) = bigint::of_userdata(lua, userdata) => {
            flattener.push_bigint(&value)?;
        }
        scalar => flattener.push_node(scalar_node(scalar)?)?,
    }
    Ok(Value { nodes: flattener.out })
}

fn home_key(key: &std::ffi::CStr) -> &str {
    key.to_str().unwrap_or_default()
}

fn scalar_node(value: &LuaValue) -> Result<Node<'static>, Failure> {
    Ok(match value {
        LuaValue::Nil => Node::Nil,
        LuaValue::LightUserData(p) if p.0.is_null() => Node::Nil,
        LuaValue::Boolean(b) => Node::Boolean(*b),
        LuaValue::Integer(i) => Node::Integer(*i),
        LuaValue::Number(n) => Node::Float(*n),
        other => return Err(Failure::invalid(format!("is a {}", other.type_name()))),
    })
}

/// Writes packed nodes; `'a` is the walk, during which Lua's strings stay where they are.
struct Flattener<'a> {
    out: Vec<u8>,
    /// Tables being converted, outermost first: meeting one again is a cycle.
    ancestors: Vec<*const c_void>,
    /// The entries written so far of the tables being converted, innermost last: each table's
    /// entries are put in order when it ends, and dropped from here.
    entries: Vec<Entry<'a>>,
    /// Room for reordering a table's entries, kept from one table to the next.
    scratch: Vec<u8>,
}

/// An entry of a table, and where it lies in the output: its key's node, its value's, and the end.
#[derive(Clone, Copy)]
struct Entry<'a> {
    key: Key<'a>,
    at: usize,
    value: usize,
    end: usize,
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

impl<'a> Flattener<'a> {
    fn push_node(&mut self, node: Node<'_>) -> Result<(), Failure> {
        packed::push(&mut self.out, node).map_err(|_| Failure::invalid("is longer than 4 GiB"))
    }

    /// A bigint, as its decimal digits.
    fn push_bigint(&mut self, value: &BigInt) -> Result<(), Failure> {
        self.push_node(Node::Bigint(value.to_string().as_bytes()))
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
                ffi::LUA_TSTRING => Node::String(string_at(state, index)),
                ffi::LUA_TLIGHTUSERDATA if ffi::lua_touserdata(state, index).is_null() => Node::Nil,
                ffi::LUA_TTABLE => return self.table(state, ffi::lua_absindex(state, index)),
                // Reading the digits allocates outside Lua only: Lua's heap is left alone.
                ffi::LUA_TUSERDATA if let Some(value) = bigint::at_index(state, index) => {
                    return self.push_bigint(&value);
                }
                other => return Err(Failure::invalid(format!("is a {}", type_name(other)))),
            };
            self.push_node(node)
        }
    }

    unsafe fn table(&mut self, state: *mut lua_State, table: c_int) -> Result<(), Failure> {
        // SAFETY: `table` is an absolute index holding a table; every push below is within the
        // slots `lua_checkstack` reserved and is popped before the next.
        unsafe {
            if ffi::lua_checkstack(state, 4) == 0 {
                return Err(Failure::invalid("nests tables too deeply for Lua's stack"));
            }
            let shape = match metatable(state, table) {
                Metatable::Stored => {
                    // A stored table converts as its backing, which holds every entry once loaded.
                    ffi::lua_pushvalue(state, table);
                    if ffi::lua_rawget(state, LOADED) != ffi::LUA_TTABLE {
                        return Err(Failure::Unloaded);
                    }
                    let converted = self.table(state, ffi::lua_gettop(state));
                    ffi::lua_pop(state, 1);
                    return converted;
                }
                Metatable::Shape(shape) => shape,
            };
            let pointer = ffi::lua_topointer(state, table);
            if self.ancestors.contains(&pointer) {
                return Err(Failure::invalid("is a cycle: a table that contains itself"));
            }
            if self.ancestors.len() >= MAX_DEPTH {
                return Err(Failure::invalid(format!("nests tables deeper than {MAX_DEPTH} levels")));
            }
            self.ancestors.push(pointer);
            match shape? {
                Shape::Array => {
                    let keys = survey(state, table);
                    if keys.other {
                        let key = first_key(state, table, |key| !matches!(key, Key::Integer(i) if i >= 1))?;
                        return Err(Failure::invalid(format!(
                            "is marked as an array ({SHAPE_FIELD} = \"array\") but has the key {}",
                            key.map_or_else(String::new, |k| k.display())
                        )));
                    }
                    let limit = longest_array(keys.count);
                    if keys.largest > limit {
                        return Err(Failure::invalid(format!(
                            "is an array too sparse to convert: {} elements spread up to index {}",
                            keys.count, keys.largest
                        )));
                    }
                    self.array(state, table, keys.largest)?;
                }
                shape => self.entries(state, table, shape == Shape::Inferred)?,
            }
            self.ancestors.pop();
            Ok(())
        }
    }

    /// Elements 1..=len, missing ones as `null`.
    unsafe fn array(&mut self, state: *mut lua_State, table: c_int, len: u64) -> Result<(), Failure> {
        let count = u32::try_from(len).map_err(|_| Failure::invalid("has more than 2^32 elements"))?;
        self.push_node(Node::Array(count))?;
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

    /// Every entry in one pass, written as a map; then, when `infer` and the keys turn out to be
    /// exactly 1..n, turned into an array. Entries are written in Lua's order and put in key order
    /// afterwards; most tables built in key order need no moving.
    unsafe fn entries(&mut self, state: *mut lua_State, table: c_int, infer: bool) -> Result<(), Failure> {
        let start = self.out.len();
        self.push_node(Node::Map(0))?;
        let first = self.entries.len();
        let mut keys = Keys::default();
        let mut sorted = true;
        let mut last: Option<Key<'a>> = None;
        // SAFETY: `lua_next` keeps the key and value in two slots; the value is popped each round.
        unsafe {
            ffi::lua_pushnil(state);
            while ffi::lua_next(state, table) != 0 {
                let key: Key<'a> = key_at(state, -2)?;
                keys.add(if let Key::Integer(i) = key { Some(i) } else { None });
                sorted &= last.is_none_or(|last| last.order(&key).is_lt());
                last = Some(key);
                let at = self.out.len();
                self.push_node(key.node())?;
                let value = self.out.len();
                self.push(state, -1).map_err(|f| f.at(|| key.segment()))?;
                self.entries.push(Entry { key, at, value, end: self.out.len() });
                ffi::lua_pop(state, 1);
            }
        }
        let count = u32::try_from(keys.count).map_err(|_| Failure::invalid("has more than 2^32 entries"))?;
        let array = infer && keys.is_sequence();
        let kind = if array { Container::Array } else { Container::Map };
        packed::set_container(&mut self.out, start, kind, count);
        if array || !sorted {
            self.rearrange(first, sorted, array);
        }
        self.entries.truncate(first);
        Ok(())
    }

    /// Rewrites the entries from `first` on in key order, leaving out the keys for an array.
    fn rearrange(&mut self, first: usize, sorted: bool, array: bool) {
        let entries = &mut self.entries[first..];
        let Some(region) = entries.first().map(|e| e.at) else { return };
        let part = |e: &Entry| if array { e.value..e.end } else { e.at..e.end };
        if sorted {
            // An array in order only loses its keys: its values move down in place.
            let mut to = region;
            for entry in entries.iter() {
                let range = part(entry);
                let len = range.len();
                self.out.copy_within(range, to);
                to += len;
            }
            self.out.truncate(to);
            return;
        }
        entries.sort_unstable_by(|a, b| a.key.order(&b.key));
        self.scratch.clear();
        self.scratch.extend_from_slice(&self.out[region..]);
        self.out.truncate(region);
        for entry in entries.iter() {
            let range = part(entry);
            self.out.extend_from_slice(&self.scratch[range.start - region..range.end - region]);
        }
    }
}

/// What a table's metatable makes of it.
enum Metatable {
    /// It is the proxy of a stored table.
    Stored,
    /// How it converts, or why it cannot.
    Shape(Result<Shape, Failure>),
}

/// Reads a table's metatable once: most tables have none.
unsafe fn metatable(state: *mut lua_State, table: c_int) -> Metatable {
    // SAFETY: pushes the metatable and one field of it (two of the reserved slots), pops both.
    unsafe {
        if ffi::lua_getmetatable(state, table) == 0 {
            return Metatable::Shape(Ok(Shape::Inferred));
        }
        if ffi::lua_rawequal(state, -1, STORED_META) != 0 {
            ffi::lua_pop(state, 1);
            return Metatable::Stored;
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
        Metatable::Shape(shape)
    }
}

/// What a pass over a table's keys finds.
#[derive(Default)]
struct Keys {
    count: usize,
    /// The largest positive integer key (0 if none).
    largest: u64,
    /// Whether some key is not a positive integer.
    other: bool,
}

impl Keys {
    /// Counts one key, given as the integer it is (`None` when it is not an integer).
    fn add(&mut self, integer: Option<i64>) {
        self.count += 1;
        match integer {
            Some(i) if i >= 1 => self.largest = self.largest.max(i as u64),
            _ => self.other = true,
        }
    }

    /// Keys exactly 1..n, n ≥ 1 (a table holds no key twice).
    fn is_sequence(&self) -> bool {
        self.count > 0 && !self.other && self.largest == self.count as u64
    }
}

/// Counts a table's keys, for an array marked with `__jsontype`, whose holes become `null`.
unsafe fn survey(state: *mut lua_State, table: c_int) -> Keys {
    let mut keys = Keys::default();
    // SAFETY: `lua_next` keeps the key and value in two slots; the value is popped each round.
    unsafe {
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, table) != 0 {
            keys.add((ffi::lua_isinteger(state, -2) != 0).then(|| ffi::lua_tointegerx(state, -2, ptr::null_mut())));
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
