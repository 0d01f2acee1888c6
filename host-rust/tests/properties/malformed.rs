//! Bytes nobody checked: packed values sent to the component as they are, and bytes written under
//! `_home`'s keys in the store. Each is a clear error or a valid value; never a trap, a panic or a
//! hang, and the unit goes on working.

use cu::{Error, LimitKind, Store, Unit, Value};
use packed::Node;
use proptest::collection::vec;
use proptest::prelude::*;

use crate::common;
use crate::common::backends::unit_on;
use crate::generate::{assert_same, key_order, normal_key, normalize, same, value};
use crate::raw::{Called, RawUnit, WitError, WitLimit};

/// Nodes as they come: any tag with any payload, counts that do not close or claim billions,
/// keys Lua refuses (nil, NaN, tables, bigints), bigint digits that are not digits.
fn node() -> impl Strategy<Value = (u8, Vec<u8>)> {
    let count = prop_oneof![4 => 0u32..4, 1 => Just(u32::MAX), 1 => any::<u32>()];
    let digits = prop_oneof![
        Just(b"123".to_vec()),
        Just(b"-98765432109876543210987654321".to_vec()),
        Just(b"-0".to_vec()),
        Just(b"007".to_vec()),
        Just(b"".to_vec()),
        Just(b"-".to_vec()),
        Just(b"12a".to_vec()),
        Just(b" 1".to_vec()),
        Just(b"0x10".to_vec()),
        "[0-9]{1,60}".prop_map(String::into_bytes),
        vec(any::<u8>(), 0..6),
    ];
    prop_oneof![
        Just((0, vec![])),
        any::<bool>().prop_map(|b| (if b { 2 } else { 1 }, vec![])),
        any::<i64>().prop_map(|i| (3, i.to_le_bytes().to_vec())),
        crate::generate::float().prop_map(|f| (4, f.to_le_bytes().to_vec())),
        vec(any::<u8>(), 0..8).prop_map(|s| (5, s)),
        digits.prop_map(|d| (6, d)),
        count.clone().prop_map(|n| (7, n.to_le_bytes().to_vec())),
        count.prop_map(|n| (8, n.to_le_bytes().to_vec())),
        (9u8..=255, vec(any::<u8>(), 0..4)),
    ]
}

fn pack_nodes(nodes: &[(u8, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (tag, payload) in nodes {
        let node = match *tag {
            0 => Node::Nil,
            1 => Node::Boolean(false),
            2 => Node::Boolean(true),
            3..=4 | 7..=8 => {
                out.push(*tag);
                out.extend_from_slice(payload);
                continue;
            }
            5 => Node::String(payload),
            6 => Node::Bigint(payload),
            other => {
                out.push(other);
                out.extend_from_slice(payload);
                continue;
            }
        };
        packed::push(&mut out, node).expect("short");
    }
    out
}

/// One change to a byte string: overwrite, cut, insert or remove at a position (modulo its length).
#[derive(Clone, Debug)]
enum Mutation {
    Set(usize, u8),
    Cut(usize),
    Insert(usize, u8),
    Remove(usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        3 => (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Set(at, b)),
        1 => any::<usize>().prop_map(Mutation::Cut),
        1 => (any::<usize>(), any::<u8>()).prop_map(|(at, b)| Mutation::Insert(at, b)),
        1 => any::<usize>().prop_map(Mutation::Remove),
    ]
}

fn mutate(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len();
        match *m {
            Mutation::Set(at, b) if len > 0 => bytes[at % len] = b,
            Mutation::Cut(at) => bytes.truncate(at % (len + 1)),
            Mutation::Insert(at, b) => bytes.insert(at % (len + 1), b),
            Mutation::Remove(at) if len > 0 => drop(bytes.remove(at % len)),
            _ => {}
        }
    }
    bytes
}

/// Packed bytes of every sort: random, a valid value with a few bytes changed, and nodes that are
/// each whole but need not form a tree.
fn packed_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        1 => vec(any::<u8>(), 0..48),
        2 => (value(), vec(mutation(), 1..4)).prop_map(|(value, mutations)| {
            mutate(::value::to_packed(&value, "v").expect("a generated value packs"), &mutations)
        }),
        2 => vec(node(), 1..12).prop_map(|nodes| pack_nodes(&nodes)),
    ]
}

/// What Lua makes of a tree the host would also read, with later duplicate keys replacing
/// earlier ones (entries are set in order, as a table constructor does).
fn expected_from(value: &Value) -> Value {
    fn dedupe(value: &Value) -> Value {
        match value {
            Value::Array(items) => Value::Array(items.iter().map(dedupe).collect()),
            Value::Map(entries) => {
                let mut kept: Vec<(Value, Value)> = Vec::new();
                for (key, value) in entries {
                    let key = normal_key(key);
                    kept.retain(|(k, _)| !(key_order(k, &key).is_eq() && same(k, &key)));
                    kept.push((key, dedupe(value)));
                }
                Value::Map(kept)
            }
            other => other.clone(),
        }
    }
    normalize(&dedupe(value))
}

/// A call's result as a test verdict: a trap fails the case; so does any error but a conversion
/// error (the one docs/VALUES.md gives malformed nodes) or a memory limit (a count of billions
/// may be believed as far as the memory limit allows).
fn verdict<T>(what: &str, bytes: &[u8], called: Called<T>) -> Result<Option<T>, TestCaseError> {
    match called {
        Ok(Ok(value)) => Ok(Some(value)),
        Ok(Err(WitError::Conversion(_))) => Ok(None),
        Ok(Err(WitError::Limit(limit))) if matches!(limit.kind, WitLimit::Memory) => Ok(None),
        Ok(Err(other)) => Err(TestCaseError::fail(format!("{what} of {bytes:?} gave {other:?}"))),
        Err(trap) => Err(TestCaseError::fail(format!("{what} of {bytes:?} trapped: {trap}"))),
    }
}

fn works(unit: &mut RawUnit, what: &str) -> Result<(), TestCaseError> {
    match unit.compute("local t = {} for i = 1, 10 do t[i] = i end return #t") {
        Ok(Ok(values)) if values == [vec![3, 10, 0, 0, 0, 0, 0, 0, 0]] => Ok(()),
        other => Err(TestCaseError::fail(format!("after {what} the unit answers {other:?}"))),
    }
}

/// Every entry point that takes a value, given the same bytes. When the component takes them, the
/// host reads them too, and what Lua holds is that value (docs/VALUES.md); whatever happens, the
/// unit then runs code and takes a valid value.
#[test]
fn packed_bytes_are_a_value_or_a_conversion_error() {
    crate::check("malformed_packed_values", 512, packed_bytes(), |bytes| {
        // The host's reader, on its own: no panic, and what it reads it writes back the same.
        let host = Value::from_packed(&bytes);
        if let Ok(value) = &host {
            let again = ::value::to_packed(value, "v").map(|nodes| Value::from_packed(&nodes));
            if let Ok(Ok(again)) = again {
                assert_same(&again, value, "the host's reading packed again")?;
            }
        }

        let mut unit = RawUnit::new();
        let taken = verdict("set-input", &bytes, unit.set_input(&bytes))?;
        if taken.is_some() {
            let Ok(host) = &host else {
                return Err(TestCaseError::fail(format!(
                    "the component took {bytes:?}, the host refuses it: {host:?}"
                )));
            };
            let back =
                verdict("get-input", &bytes, unit.input())?.ok_or_else(|| TestCaseError::fail("no input back"))?;
            let back = Value::from_packed(&back).map_err(|e| TestCaseError::fail(format!("input back: {e}")))?;
            assert_same(&back, &expected_from(host), &format!("{bytes:?} through _io.input"))?;
        }
        works(&mut unit, "set-input")?;
        verdict("set-metadata", &bytes, unit.set_meta(&bytes))?;
        verdict("set-global", &bytes, unit.set_global("given", &bytes))?;
        // `_io.input` may hold a non-table now, which set-input-field refuses (io.wit): clear it.
        prop_assert!(matches!(unit.set_input(&[0]), Ok(Ok(()))), "nil is refused as input");
        verdict("set-input-field", &bytes, unit.set_input_field("field", &bytes))?;
        let called = verdict("compute", &bytes, unit.compute("function echo(...) return ... end"))?;
        prop_assert!(called.is_some(), "defining echo failed");
        verdict("call", &bytes, unit.call("echo", &[vec![2], bytes.clone()]))?;
        works(&mut unit, "every entry point")?;
        let valid = ::value::to_packed(&Value::Array(vec![Value::Integer(1)]), "v").expect("packs");
        prop_assert!(matches!(unit.set_input(&valid), Ok(Ok(()))), "a valid input is refused afterwards");
        Ok(())
    });
}

/// A store's keys of `_home`, written by a unit: records and entries of tables (embedded and
/// not), a closure and its cell, a compressed string, an index and its catalog.
fn fixture(store: &Store) -> Vec<Vec<u8>> {
    let mut unit = unit_on(store);
    common::values(
        &mut unit,
        "_home.s = 'text'
        _home.n = 42
        _home.t = {x = 1.5, list = {1, 2, 3}, deep = {a = {b = 'c'}}, flag = true}
        local count = 0
        function _home.f() count = count + 1 return count end
        _home.big = {}
        for i = 1, 40 do _home.big['k' .. i] = string.rep('x', 40) end
        _home.long = string.rep('compressible ', 100)
        _home.users = {alice = {age = 30}, bob = {age = 40}}
        require('home').createIndex('users', 'age')",
    );
    store.scan_all("home", b"").expect("scans").into_iter().map(|(key, _)| key).collect()
}

/// What is written under a key.
#[derive(Clone, Debug)]
enum Damage {
    /// Any bytes (almost never with a checksum that holds).
    Random(Vec<u8>),
    /// Any contents, sealed as format 3 with a checksum that holds.
    Sealed(Vec<u8>),
    /// A sealed value of one of the stored form's tags with any payload.
    SealedValue(u8, Vec<u8>),
    /// The value that was there, changed, and sealed again or not.
    Mutated(Vec<Mutation>, bool),
    /// The key removed, as if a write had been lost.
    Deleted,
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        vec(any::<u8>(), 0..40).prop_map(Damage::Random),
        vec(any::<u8>(), 0..40).prop_map(Damage::Sealed),
        (prop::sample::select(b"FTIDSNRPBGLZEtfc".to_vec()), vec(any::<u8>(), 0..24))
            .prop_map(|(tag, payload)| Damage::SealedValue(tag, payload)),
        (vec(mutation(), 1..4), any::<bool>()).prop_map(|(m, seal)| Damage::Mutated(m, seal)),
        Just(Damage::Deleted),
    ]
}

/// Format 3's seal: the format byte, the contents, the low 32 bits of XXH64 (seed 0) of what
/// precedes them, little-endian (docs/HOME.md).
fn seal(mut contents: Vec<u8>) -> Vec<u8> {
    contents.insert(0, 3);
    let sum = xxhash_rust::xxh64::xxh64(&contents, 0) as u32;
    contents.extend_from_slice(&sum.to_le_bytes());
    contents
}

/// Fails the case on a trap, a reset, a time limit (a hang, for data this small) or an engine
/// error; any other error is a clear one.
fn clear<T>(what: &str, result: cu::Result<T>) -> Result<(), TestCaseError> {
    match result {
        Ok(_) => Ok(()),
        Err(Error::Trap { .. } | Error::Limit { reset: true, .. } | Error::Limit { kind: LimitKind::Time, .. }) => {
            Err(TestCaseError::fail(format!("{what}: {:?}", result.err())))
        }
        Err(e) if e.is_lua_error() => Ok(()),
        Err(e) => Err(TestCaseError::fail(format!("{what}: {e:?}"))),
    }
}

/// Reads and writes all of `_home` in every way a unit can; each is a clear error or works.
fn exercise(unit: &mut Unit) -> Result<(), TestCaseError> {
    for code in [
        "return _home.s, _home.n, _home.long",
        "return _home.t",
        "return _home.t.deep.a.b, #_home.t.list",
        "return _home.f()",
        "local n = 0 for k, v in pairs(_home.big) do n = n + #v end return n",
        "local n = 0 for k, v in pairs(_home) do n = n + 1 end return n",
        "return require('home').query{table = 'users', field = 'age', operator = '>=', value = 35}",
        "return require('home').checkIndexes()",
        "_home.users.carol = {age = 50}",
        "_home.t.x = 2 _home.fresh = {1, 2, {3}}",
        "_home.s = nil _home.big.k1 = nil",
        "_home.big = nil",
    ] {
        clear(code, unit.compute(code))?;
    }
    clear("home_get", unit.home_get::<Value>("t"))?;
    clear("home_keys", unit.home_keys(""))?;
    clear("home_stats", unit.home_stats())?;
    clear("save_snapshot", unit.save_snapshot("s"))?;
    clear("restore_snapshot", unit.restore_snapshot("s"))?;
    Ok(())
}

/// Any bytes under any of `_home`'s keys (docs/HOME.md, "The stored form"). Function records
/// whose checksum holds are left out: "a store that anyone but cu writes to is as trusted as the
/// code it holds", since Lua's bytecode loader does not verify bytecode (sealed random bytes are
/// still given to function records: they fail the loader's header check). One backend (memory)
/// suffices: the bytes reach the same decoder from every store.
#[test]
fn bytes_under_home_keys_are_an_error_or_a_value() {
    crate::check("malformed_home_entries", 64, (any::<prop::sample::Index>(), damage()), |(index, damage)| {
        let store = Store::memory();
        let keys = fixture(&store);
        let key = index.get(&keys).clone();
        let old = store.get("home", &key).expect("reads").unwrap_or_default();
        let function_record = key.first() == Some(&b'n') && old.get(1) == Some(&b'f');
        prop_assume!(!(function_record && matches!(damage, Damage::Mutated(_, true))), "bytecode is trusted");
        match &damage {
            Damage::Random(bytes) => store.set("home", &key, bytes),
            Damage::Sealed(contents) => store.set("home", &key, &seal(contents.clone())),
            Damage::SealedValue(tag, payload) => {
                store.set("home", &key, &seal([std::slice::from_ref(tag), payload].concat()))
            }
            Damage::Mutated(mutations, reseal) => {
                // A mutated value keeps its format byte and checksum at the ends: strip, change, reseal.
                let mutated = if *reseal && old.len() >= 5 {
                    seal(mutate(old[1..old.len() - 4].to_vec(), mutations))
                } else {
                    mutate(old.clone(), mutations)
                };
                store.set("home", &key, &mutated)
            }
            Damage::Deleted => store.commit("home", &[cu::Write::Delete(key.clone())], &[]),
        }
        .expect("writes");
        let mut unit = unit_on(&store);
        exercise(&mut unit)
            .map_err(|e| TestCaseError::fail(format!("key {key:?} ({} bytes before): {e}", old.len())))?;
        common::assert_alive(&mut unit);
        Ok(())
    });
}
