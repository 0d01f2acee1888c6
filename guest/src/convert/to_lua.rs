//! Nodes into Lua values.
//!
//! Safety: the node list is checked completely first, in Rust. Only then is it built, inside a
//! protected call, by code that holds nothing needing a destructor, so a memory error Lua raises in
//! the middle unwinds through plain frames and leaves the call as an ordinary error.

use std::ffi::c_int;

use mlua::ffi::{self, lua_State};
use mlua::{Lua, Value as LuaValue};
use num_bigint::BigInt;

use super::{ARRAY_METATABLE, Failure, Key, MAX_DEPTH};
use crate::bigint;
use crate::bindings::cu::unit::types::{Node, Value};

/// Stack slot of the value's bigints, made before the build, inside the protected call.
const BIGINTS: c_int = 1;
/// Stack slot of the array metatable inside the protected call.
const ARRAY_MT: c_int = 2;

/// Builds the Lua value a structured value describes. `nil` at the root is Lua's nil; inside a
/// container, `null`.
pub fn to_lua(lua: &Lua, value: &Value) -> Result<LuaValue, Failure> {
    let mut checker = Checker { value, next_node: 0, next_byte: 0, bigints: Vec::new() };
    checker.check_root()?;
    // Bigints are userdata that only mlua can make: they are made first and picked up by the build.
    let bigints = lua.create_sequence_from(
        checker.bigints.iter().map(|b| bigint::push(lua, b)).collect::<mlua::Result<Vec<_>>>()?,
    )?;
    Ok(match value.nodes[0] {
        Node::Bigint(_) => LuaValue::UserData(bigints.raw_get(1)?),
        Node::Nil => LuaValue::Nil,
        Node::Boolean(b) => LuaValue::Boolean(b),
        Node::Integer(i) => LuaValue::Integer(i),
        Node::Float(f) => LuaValue::Number(f),
        Node::Bytes(len) => LuaValue::String(lua.create_string(&value.bytes[..len as usize])?),
        Node::Array(_) | Node::Map(_) => {
            let mut builder = Builder { value, next_node: 0, next_byte: 0, next_bigint: 0 };
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

/// Validates a node list: every container complete, strings within the bytes, keys that Lua
/// accepts, nesting within `MAX_DEPTH`, nothing left over.
struct Checker<'a> {
    value: &'a Value,
    next_node: usize,
    next_byte: usize,
    /// The value's bigints, in node order.
    bigints: Vec<BigInt>,
}

impl<'a> Checker<'a> {
    fn check_root(&mut self) -> Result<(), Failure> {
        if self.value.nodes.is_empty() {
            return Err(Failure::invalid("is empty: a value needs at least its root node"));
        }
        self.node(0)?;
        if self.next_node != self.value.nodes.len() {
            return Err(Failure::invalid(format!(
                "is malformed: {} nodes follow the end of the root",
                self.value.nodes.len() - self.next_node
            )));
        }
        Ok(())
    }

    /// The next `len` bytes of the value.
    fn bytes(&mut self, len: u32) -> Result<&'a [u8], Failure> {
        let end = self.next_byte.saturating_add(len as usize);
        let Some(bytes) = self.value.bytes.get(self.next_byte..end) else {
            return Err(Failure::invalid("is malformed: its strings run past its bytes"));
        };
        self.next_byte = end;
        Ok(bytes)
    }

    /// Checks the next node and its contents; gives it as a key when it is a scalar.
    fn node(&mut self, depth: usize) -> Result<Option<Key<'a>>, Failure> {
        let Some(node) = self.value.nodes.get(self.next_node) else {
            return Err(Failure::invalid("is malformed: its nodes end inside a container"));
        };
        self.next_node += 1;
        let nested_too_deep = || Failure::invalid(format!("nests containers deeper than {MAX_DEPTH} levels"));
        Ok(match *node {
            Node::Nil => None,
            Node::Boolean(b) => Some(Key::Boolean(b)),
            Node::Integer(i) => Some(Key::Integer(i)),
            Node::Float(f) => Some(Key::Float(f)),
            Node::Bytes(len) => Some(Key::String(self.bytes(len)?)),
            Node::Bigint(len) => {
                let digits = self.bytes(len)?;
                let value = bigint::parse_decimal(digits).ok_or_else(|| {
                    Failure::invalid(format!("is a malformed bigint: {:?}", String::from_utf8_lossy(digits)))
                })?;
                self.bigints.push(value);
                None
            }
            Node::Array(len) => {
                if depth >= MAX_DEPTH {
                    return Err(nested_too_deep());
                }
                for i in 1..=len {
                    self.node(depth + 1).map_err(|f| f.at(|| format!("[{i}]")))?;
                }
                None
            }
            Node::Map(len) => {
                if depth >= MAX_DEPTH {
                    return Err(nested_too_deep());
                }
                for _ in 0..len {
                    let key_node = self.value.nodes.get(self.next_node).copied();
                    let key = match (self.node(depth + 1)?, key_node) {
                        (Some(Key::Float(f)), _) if f.is_nan() => {
                            return Err(Failure::invalid("has NaN as a key"));
                        }
                        (Some(key), _) => key,
                        (None, Some(Node::Nil)) => {
                            return Err(Failure::invalid("has a nil as a key"));
                        }
                        (None, Some(Node::Bigint(_))) => return Err(Failure::invalid("has a bigint as a key")),
                        (None, _) => return Err(Failure::invalid("has a table as a key")),
                    };
                    self.node(depth + 1).map_err(|f| f.at(|| key.segment()))?;
                }
                None
            }
        })
    }
}

/// Builds a checked node list on the Lua stack.
struct Builder<'a> {
    value: &'a Value,
    next_node: usize,
    next_byte: usize,
    next_bigint: i64,
}

impl Builder<'_> {
    /// Pushes the next node's value. Holds nothing that needs dropping: Lua may raise a memory
    /// error from any push.
    unsafe fn build(&mut self, state: *mut lua_State) {
        let node = self.value.nodes[self.next_node];
        self.next_node += 1;
        // Sizes come from outside: never reserve more than the remaining nodes could fill.
        let capacity = |len: u32| (len as usize).min(self.value.nodes.len() - self.next_node).min(i32::MAX as usize);
        // SAFETY: the list was checked; each container reserves the three slots it uses (itself,
        // a key, a value) before filling.
        unsafe {
            match node {
                Node::Nil => ffi::lua_pushlightuserdata(state, std::ptr::null_mut()),
                Node::Boolean(b) => ffi::lua_pushboolean(state, c_int::from(b)),
                Node::Integer(i) => ffi::lua_pushinteger(state, i),
                Node::Float(f) => ffi::lua_pushnumber(state, f),
                Node::Bytes(len) => {
                    let bytes = &self.value.bytes[self.next_byte..self.next_byte + len as usize];
                    self.next_byte += len as usize;
                    ffi::lua_pushlstring(state, bytes.as_ptr().cast(), bytes.len());
                }
                Node::Bigint(len) => {
                    self.next_byte += len as usize;
                    self.next_bigint += 1;
                    ffi::lua_rawgeti(state, BIGINTS, self.next_bigint);
                }
                Node::Array(len) => {
                    ffi::luaL_checkstack(state, 3, c"values nest too deeply".as_ptr());
                    ffi::lua_createtable(state, capacity(len) as c_int, 0);
                    for i in 1..=i64::from(len) {
                        self.build(state);
                        ffi::lua_rawseti(state, -2, i);
                    }
                    ffi::lua_pushvalue(state, ARRAY_MT);
                    ffi::lua_setmetatable(state, -2);
                }
                Node::Map(len) => {
                    ffi::luaL_checkstack(state, 3, c"values nest too deeply".as_ptr());
                    ffi::lua_createtable(state, 0, capacity(len) as c_int);
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
