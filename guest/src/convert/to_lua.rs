//! Packed nodes into Lua values.
//!
//! Most values are well formed and hold no bigint: they are built in one pass that checks each
//! node as it reads it and gives up at the first fault or bigint. Then `check` runs over the whole
//! value, either to name the fault or to make the bigints (userdata only mlua can make, so they are
//! made before a build, outside it), and the build runs again.
//!
//! Safety: reading the nodes is bounds-checked Rust. The build runs inside a protected call, in
//! frames that hold nothing needing a destructor, so an error Lua raises in the middle (out of
//! memory, or the build giving up) unwinds through plain frames and leaves the call as an ordinary
//! error.

use std::ffi::c_int;

use mlua::ffi::{self, lua_State};
use mlua::{Lua, Table, Value as LuaValue};
use num_bigint::BigInt;
use packed::{Node, Reader};

use super::{ARRAY_METATABLE, Failure, Key, MAX_DEPTH};
use crate::bigint;
use crate::bindings::cu::unit::types::Value;

/// Stack slot of the value's bigints (or nil) inside the protected call.
const BIGINTS: c_int = 1;
/// Stack slot of the array metatable inside the protected call.
const ARRAY_MT: c_int = 2;

/// Packed bytes of a value from which the collector is paused while it is built.
const PAUSE_GC_FROM: usize = 64 * 1024;

/// Builds the Lua value a structured value describes. `nil` at the root is Lua's nil; inside a
/// container, `null`.
pub fn to_lua(lua: &Lua, value: &Value) -> Result<LuaValue, Failure> {
    if let Some(built) = build(lua, &value.nodes, None)? {
        return Ok(built);
    }
    let bigints = check(&value.nodes)?;
    let bigints =
        lua.create_sequence_from(bigints.iter().map(|b| bigint::push(lua, b)).collect::<mlua::Result<Vec<_>>>()?)?;
    build(lua, &value.nodes, Some(&bigints))?.ok_or_else(|| Failure::invalid("is malformed"))
}

/// The value `nodes` describe, or `None` when the build gave up: at a fault, or at a bigint when
/// `bigints` holds none.
fn build(lua: &Lua, nodes: &[u8], bigints: Option<&Table>) -> Result<Option<LuaValue>, Failure> {
    let mut reader = Reader::new(nodes);
    let root = match reader.next() {
        Ok(container @ (Node::Array(_) | Node::Map(_))) => container,
        Ok(scalar) if reader.is_at_end() => scalar,
        _ => return Ok(None),
    };
    Ok(Some(match root {
        Node::Nil => LuaValue::Nil,
        Node::Boolean(b) => LuaValue::Boolean(b),
        Node::Integer(i) => LuaValue::Integer(i),
        Node::Float(f) => LuaValue::Number(f),
        Node::String(bytes) => LuaValue::String(lua.create_string(bytes)?),
        Node::Bigint(_) => match bigints {
            Some(bigints) => LuaValue::UserData(bigints.raw_get(1)?),
            None => return Ok(None),
        },
        Node::Array(_) | Node::Map(_) => {
            let mut builder = Builder {
                reader: Reader::new(nodes),
                bigints: bigints.is_some(),
                next_bigint: 0,
                depth: 0,
                gave_up: false,
            };
            // Everything built stays reachable, so collecting while building only wastes time: it
            // doubled the cost of a large input. A memory error still collects before it fails.
            // Not for small values: restarting the collector starts a collection step, and one per
            // value made a batch of 10,000 small tables quadratic.
            let collecting = lua.gc_is_running() && nodes.len() >= PAUSE_GC_FROM;
            if collecting {
                lua.gc_stop();
            }
            // SAFETY: see the module documentation. The closure leaves the array metatable and the
            // built value; the value replaces the bigints and the metatable is dropped, so it is the
            // one result.
            let built = unsafe {
                lua.exec_raw::<LuaValue>(bigints, |state| {
                    ffi::lua_getfield(state, ffi::LUA_REGISTRYINDEX, ARRAY_METATABLE.as_ptr());
                    builder.build(state);
                    if !builder.reader.is_at_end() {
                        builder.give_up(state);
                    }
                    ffi::lua_replace(state, BIGINTS);
                    ffi::lua_settop(state, BIGINTS);
                })
            };
            if collecting {
                lua.gc_restart();
            }
            if builder.gave_up {
                return Ok(None);
            }
            built?
        }
    }))
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

/// Builds nodes on the Lua stack, checking each as `check` would, and gives up at the first fault,
/// or at a bigint when there are none in `BIGINTS`.
struct Builder<'a> {
    reader: Reader<'a>,
    /// Whether `BIGINTS` holds the value's bigints.
    bigints: bool,
    next_bigint: i64,
    /// Containers around the next node.
    depth: usize,
    /// Set when the build gave up, which tells its error from Lua's.
    gave_up: bool,
}

impl Builder<'_> {
    /// Abandons the build by raising an error.
    unsafe fn give_up(&mut self, state: *mut lua_State) -> ! {
        self.gave_up = true;
        // SAFETY: the protected call catches the error; the frames it unwinds hold nothing that
        // needs dropping, and the error object (whatever is on top) is discarded.
        unsafe { ffi::lua_error(state) }
    }

    /// Pushes the next node's value. Holds nothing that needs dropping: Lua may raise a memory
    /// error from any push.
    unsafe fn build(&mut self, state: *mut lua_State) {
        // SAFETY: each container reserves the three slots it uses (itself, a key, a value) before
        // filling; giving up raises through frames like this one.
        unsafe {
            let Ok(node) = self.reader.next() else { self.give_up(state) };
            // Counts come from outside: never reserve more than the remaining bytes could fill.
            let capacity = |len: u32| (len as usize).min(self.reader.remaining()).min(i32::MAX as usize) as c_int;
            match node {
                Node::Nil => ffi::lua_pushlightuserdata(state, std::ptr::null_mut()),
                Node::Boolean(b) => ffi::lua_pushboolean(state, c_int::from(b)),
                Node::Integer(i) => ffi::lua_pushinteger(state, i),
                Node::Float(f) => ffi::lua_pushnumber(state, f),
                Node::String(bytes) => _ = ffi::lua_pushlstring(state, bytes.as_ptr().cast(), bytes.len()),
                Node::Bigint(_) if !self.bigints => self.give_up(state),
                Node::Bigint(_) => {
                    self.next_bigint += 1;
                    ffi::lua_rawgeti(state, BIGINTS, self.next_bigint);
                }
                Node::Array(_) | Node::Map(_) if self.depth >= MAX_DEPTH => self.give_up(state),
                Node::Array(len) => {
                    ffi::luaL_checkstack(state, 3, c"values nest too deeply".as_ptr());
                    ffi::lua_createtable(state, capacity(len), 0);
                    self.depth += 1;
                    for i in 1..=i64::from(len) {
                        self.build(state);
                        ffi::lua_rawseti(state, -2, i);
                    }
                    self.depth -= 1;
                    ffi::lua_pushvalue(state, ARRAY_MT);
                    ffi::lua_setmetatable(state, -2);
                }
                Node::Map(len) => {
                    ffi::luaL_checkstack(state, 3, c"values nest too deeply".as_ptr());
                    ffi::lua_createtable(state, 0, capacity(len));
                    self.depth += 1;
                    for _ in 0..len {
                        match self.reader.peek() {
                            Ok(Node::Boolean(_) | Node::Integer(_) | Node::String(_)) => {}
                            Ok(Node::Float(f)) if !f.is_nan() => {}
                            _ => self.give_up(state),
                        }
                        self.build(state);
                        self.build(state);
                        ffi::lua_rawset(state, -3);
                    }
                    self.depth -= 1;
                }
            }
        }
    }
}
