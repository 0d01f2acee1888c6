//! Packed nodes into Lua values.
//!
//! Safety: the nodes are checked completely first, in Rust. Only then are they built, inside a
//! protected call, by code that holds nothing needing a destructor, so a memory error Lua raises in
//! the middle unwinds through plain frames and leaves the call as an ordinary error.

use std::ffi::c_int;

use mlua::ffi::{self, lua_State};
use mlua::{Lua, Value as LuaValue};
use num_bigint::BigInt;
use packed::{Node, Reader};

use super::{ARRAY_METATABLE, Failure, Key, MAX_DEPTH};
use crate::bigint;
use crate::bindings::cu::unit::types::Value;

/// Stack slot of the value's bigints, made before the build, inside the protected call.
const BIGINTS: c_int = 1;
/// Stack slot of the array metatable inside the protected call.
const ARRAY_MT: c_int = 2;

/// Builds the Lua value a structured value describes. `nil` at the root is Lua's nil; inside a
/// container, `null`.
pub fn to_lua(lua: &Lua, value: &Value) -> Result<LuaValue, Failure> {
    let bigints = check(&value.nodes)?;
    // Bigints are userdata that only mlua can make: they are made first and picked up by the build.
    let bigints =
        lua.create_sequence_from(bigints.into_iter().map(|b| bigint::push(lua, b)).collect::<mlua::Result<Vec<_>>>()?)?;
    let reader = Reader::new(&value.nodes);
    Ok(match reader.peek().map_err(|m| Failure::invalid(m.to_string()))? {
        Node::Bigint(_) => LuaValue::UserData(bigints.raw_get(1)?),
        Node::Nil => LuaValue::Nil,
        Node::Boolean(b) => LuaValue::Boolean(b),
        Node::Integer(i) => LuaValue::Integer(i),
        Node::Float(f) => LuaValue::Number(f),
        Node::String(bytes) => LuaValue::String(lua.create_string(bytes)?),
        Node::Array(_) | Node::Map(_) => {
            let mut builder = Builder { reader, next_bigint: 0 };
            // Everything built stays reachable, so collecting while building only wastes time: it
            // doubled the cost of a large input. A memory error still collects before it fails.
            let collecting = lua.gc_is_running();
            lua.gc_stop();
            // SAFETY: see the module documentation. The closure leaves the array metatable and the
            // built value; the value replaces the metatable, so it is the one result.
            let built = unsafe {
                lua.exec_raw::<LuaValue>(bigints, |state| {
                    ffi::lua_getfield(state, ffi::LUA_REGISTRYINDEX, ARRAY_METATABLE.as_ptr());
                    builder.build(state);
                    ffi::lua_replace(state, BIGINTS);
                    ffi::lua_settop(state, BIGINTS);
                })
            };
            if collecting {
                lua.gc_restart();
            }
            built?
        }
    })
}

/// What a node being checked sits in.
#[derive(Clone, Copy, PartialEq)]
enum Within {
    Root,
    Array,
    Map,
}

/// A container being checked: how many of its slots (elements, or keys and values) are left, and
/// where its current key starts.
#[derive(Clone, Copy)]
struct Open {
    within: Within,
    slots: u64,
    left: u64,
    key: usize,
}

impl Open {
    /// How the slot being read appears in a path: `[3]` in an array, the key's segment for a map's
    /// value, nothing for a key or the root.
    fn segment(&self, reader: &Reader<'_>) -> Option<String> {
        let slot = self.slots - self.left;
        match self.within {
            Within::Array => Some(format!("[{slot}]")),
            Within::Map if slot.is_multiple_of(2) => reader.node_at(self.key).and_then(Key::of).map(|k| k.segment()),
            Within::Map | Within::Root => None,
        }
    }
}

/// Validates packed nodes: every node whole, every container complete, keys that Lua accepts,
/// nesting within `MAX_DEPTH`, nothing left over. Returns the value's bigints, in node order.
fn check(nodes: &[u8]) -> Result<Vec<BigInt>, Failure> {
    if nodes.is_empty() {
        return Err(Failure::invalid("is empty: a value needs at least its root node"));
    }
    let mut reader = Reader::new(nodes);
    let mut bigints = Vec::new();
    // The container being read is `top`, in the ones around it, outermost first: a loop rather than
    // recursion keeps the state of the innermost in locals.
    let mut top = Open { within: Within::Root, slots: 1, left: 1, key: 0 };
    let mut outer: Vec<Open> = Vec::new();
    let fail = |reason: String, frames: &mut dyn Iterator<Item = &Open>, reader: &Reader<'_>| Failure::Invalid {
        reason,
        path: frames.filter_map(|o| o.segment(reader)).collect(),
    };
    loop {
        if top.left == 0 {
            match outer.pop() {
                Some(parent) => {
                    top = parent;
                    continue;
                }
                None => break,
            }
        }
        top.left -= 1;
        // A map's slots alternate key and value, starting with a key, and `slots` is even.
        let is_key = top.within == Within::Map && top.left % 2 == 1;
        if is_key {
            top.key = reader.position();
        }
        let node = reader.next().map_err(|malformed| {
            let reason = match reader.is_at_end() {
                true => "is malformed: its nodes end inside a container".to_string(),
                false => malformed.to_string(),
            };
            fail(reason, &mut std::iter::once(&top).chain(outer.iter().rev()), &reader)
        })?;
        if is_key {
            let reason = match node {
                Node::Nil => Some("has a nil as a key"),
                Node::Float(f) if f.is_nan() => Some("has NaN as a key"),
                Node::Bigint(_) => Some("has a bigint as a key"),
                Node::Array(_) | Node::Map(_) => Some("has a table as a key"),
                _ => None,
            };
            if let Some(reason) = reason {
                // A bad key is named by its map's path.
                return Err(fail(reason.to_string(), &mut outer.iter().rev(), &reader));
            }
        }
        match node {
            Node::Bigint(digits) => {
                let Some(value) = bigint::parse_decimal(digits) else {
                    let reason = format!("is a malformed bigint: {:?}", String::from_utf8_lossy(digits));
                    return Err(fail(reason, &mut std::iter::once(&top).chain(outer.iter().rev()), &reader));
                };
                bigints.push(value);
            }
            Node::Array(len) | Node::Map(len) => {
                // Every container around this one is in `outer` (the root's pseudo-container too).
                if outer.len() >= MAX_DEPTH {
                    let reason = format!("nests containers deeper than {MAX_DEPTH} levels");
                    return Err(fail(reason, &mut std::iter::once(&top).chain(outer.iter().rev()), &reader));
                }
                let (within, slots) = match node {
                    Node::Map(_) => (Within::Map, 2 * u64::from(len)),
                    _ => (Within::Array, u64::from(len)),
                };
                outer.push(top);
                top = Open { within, slots, left: slots, key: 0 };
            }
            _ => {}
        }
    }
    if !reader.is_at_end() {
        return Err(Failure::invalid(format!(
            "is malformed: {} bytes follow the end of the root",
            nodes.len() - reader.position()
        )));
    }
    Ok(bigints)
}

/// Builds checked nodes on the Lua stack.
struct Builder<'a> {
    reader: Reader<'a>,
    next_bigint: i64,
}

impl Builder<'_> {
    /// Pushes the next node's value. Holds nothing that needs dropping: Lua may raise a memory
    /// error from any push.
    unsafe fn build(&mut self, state: *mut lua_State) {
        // Checked: every node is whole.
        let node = self.reader.next().unwrap_or(Node::Nil);
        // Counts come from outside: never reserve more than the remaining bytes could fill.
        let capacity = |len: u32| (len as usize).min(self.reader.remaining()).min(i32::MAX as usize) as c_int;
        // SAFETY: the nodes were checked; each container reserves the three slots it uses (itself,
        // a key, a value) before filling.
        unsafe {
            match node {
                Node::Nil => ffi::lua_pushlightuserdata(state, std::ptr::null_mut()),
                Node::Boolean(b) => ffi::lua_pushboolean(state, c_int::from(b)),
                Node::Integer(i) => ffi::lua_pushinteger(state, i),
                Node::Float(f) => ffi::lua_pushnumber(state, f),
                Node::String(bytes) => _ = ffi::lua_pushlstring(state, bytes.as_ptr().cast(), bytes.len()),
                Node::Bigint(_) => {
                    self.next_bigint += 1;
                    ffi::lua_rawgeti(state, BIGINTS, self.next_bigint);
                }
                Node::Array(len) => {
                    ffi::luaL_checkstack(state, 3, c"values nest too deeply".as_ptr());
                    ffi::lua_createtable(state, capacity(len), 0);
                    for i in 1..=i64::from(len) {
                        self.build(state);
                        ffi::lua_rawseti(state, -2, i);
                    }
                    ffi::lua_pushvalue(state, ARRAY_MT);
                    ffi::lua_setmetatable(state, -2);
                }
                Node::Map(len) => {
                    ffi::luaL_checkstack(state, 3, c"values nest too deeply".as_ptr());
                    ffi::lua_createtable(state, 0, capacity(len));
                    for _ in 0..len {
                        self.build(state);
                        self.build(state);
                        ffi::lua_rawset(state, -3);
                    }
                }
            }
        }
    }
}
