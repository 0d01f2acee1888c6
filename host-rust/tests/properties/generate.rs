//! Strategies for `cu::Value`, and what docs/VALUES.md says a value becomes in Lua and back.

use std::cmp::Ordering;

use cu::{BigInt, Value};
use proptest::collection::vec;
use proptest::prelude::*;

/// 2^63: the first float past `i64::MAX`, which Lua keeps a float key.
const TWO_63: f64 = (1u64 << 63) as f64;

/// Any float: every bit pattern (signalling and quiet NaNs with payloads, subnormals), with the
/// special values made common.
pub fn float() -> impl Strategy<Value = f64> {
    prop_oneof![
        3 => any::<u64>().prop_map(f64::from_bits),
        2 => prop::sample::select(vec![
            0.0,
            -0.0,
            1.0,
            -1.5,
            0.1,
            f64::NAN,
            -f64::NAN,
            f64::INFINITY,
            f64::NEG_INFINITY,
            f64::MAX,
            f64::MIN,
            f64::MIN_POSITIVE,
            f64::EPSILON,
            5e-324,
            TWO_63,
            -TWO_63,
            2f64.powi(53) + 2.0,
            1e100,
        ]),
        2 => -1000.0..1000.0f64,
    ]
}

/// Any integer, with the edges made common.
pub fn integer() -> impl Strategy<Value = i64> {
    prop_oneof![
        3 => any::<i64>(),
        2 => -100i64..100,
        // Past 32 bits: the guest's `size_t` (wasm32) is narrower than a Lua integer.
        1 => prop::sample::select(vec![
            i64::MIN,
            i64::MIN + 1,
            i64::MAX,
            i64::MAX - 1,
            1 << 53,
            -(1 << 53) - 1,
            1 << 32,
            (1 << 32) + 1,
            -(1 << 32),
            u32::MAX as i64,
        ]),
    ]
}

/// Any bytes: UTF-8 text, and bytes that are not UTF-8.
pub fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        vec(any::<u8>(), 0..12),
        "[a-z]{0,6}".prop_map(String::into_bytes),
        any::<String>().prop_map(|s| s.chars().take(6).collect::<String>().into_bytes()),
        Just(vec![0xff, 0xfe, 0x00, b'a']),
        Just(b"$bigint".to_vec()),
    ]
}

/// An integer of any size, small ones included (they stay bigints: docs/BIGINT.md).
pub fn bigint() -> impl Strategy<Value = BigInt> {
    vec(any::<u8>(), 0..24).prop_map(|bytes| BigInt::from_signed_bytes_le(&bytes))
}

/// A scalar that may be a value anywhere (nil is `null` inside a container).
pub fn scalar() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => Just(Value::Nil),
        1 => any::<bool>().prop_map(Value::Boolean),
        3 => integer().prop_map(Value::Integer),
        3 => float().prop_map(Value::Float),
        3 => bytes().prop_map(Value::String),
        1 => bigint().prop_map(Value::BigInt),
    ]
}

/// A key Lua accepts: a boolean, an integer, a float that is not NaN (integral ones included,
/// which Lua turns into integers), a string.
pub fn key() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => any::<bool>().prop_map(Value::Boolean),
        3 => integer().prop_map(Value::Integer),
        1 => (1i64..6).prop_map(Value::Integer),
        2 => float().prop_filter("NaN is not a key", |f| !f.is_nan()).prop_map(Value::Float),
        1 => (1i64..4).prop_map(|i| Value::Float(i as f64)),
        4 => bytes().prop_map(Value::String),
    ]
}

/// Any value: nested arrays and maps of every scalar, up to four levels deep. Map keys are
/// distinct once Lua has normalized them (two keys Lua holds as one would leave one entry, which
/// the host API does not promise to pick).
pub fn value() -> impl Strategy<Value = Value> {
    scalar().prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec((key(), inner), 0..6)
                .prop_map(|entries| Value::Map(distinct_keys(entries)))
                .prop_filter("a bigint's marker map is a bigint", |map| !is_marker(map)),
        ]
    })
}

/// Whether a map is `{"$bigint": "<digits>"}`, which serde and JSON read as the bigint it stands
/// for (docs/BIGINT.md): not a map that can round-trip as one.
pub fn is_marker(value: &Value) -> bool {
    match value {
        Value::Map(entries) => match entries.as_slice() {
            [(Value::String(key), Value::String(_))] => key.as_slice() == cu::BIGINT_MARKER.as_bytes(),
            _ => false,
        },
        _ => false,
    }
}

/// The entries whose keys are the first of their normalized value, in their given order.
pub fn distinct_keys(entries: Vec<(Value, Value)>) -> Vec<(Value, Value)> {
    let mut seen: Vec<Value> = Vec::new();
    let mut kept = Vec::new();
    for (key, value) in entries {
        let normal = normal_key(&key);
        if !seen.iter().any(|s| same(s, &normal)) {
            seen.push(normal);
            kept.push((key, value));
        }
    }
    kept
}

/// What a value becomes once it has been a Lua value (docs/VALUES.md, "Rules"): float keys with an
/// integral value are integers; map entries are sorted (booleans, numbers by value, strings
/// bytewise); a table whose keys are exactly 1..n (n ≥ 1) is an array. Arrays keep their shape,
/// the empty one included (arrays from the host are marked); everything else is unchanged.
pub fn normalize(value: &Value) -> Value {
    match value {
        Value::Array(items) => Value::Array(items.iter().map(normalize).collect()),
        Value::Map(entries) => {
            let mut entries: Vec<(Value, Value)> = entries.iter().map(|(k, v)| (normal_key(k), normalize(v))).collect();
            entries.sort_by(|a, b| key_order(&a.0, &b.0));
            let is_sequence =
                !entries.is_empty() && entries.iter().enumerate().all(|(i, (k, _))| *k == Value::Integer(i as i64 + 1));
            if is_sequence { Value::Array(entries.into_iter().map(|(_, v)| v).collect()) } else { Value::Map(entries) }
        }
        other => other.clone(),
    }
}

/// Lua's key for `key`: a float with an exact integer value in range is that integer.
pub fn normal_key(key: &Value) -> Value {
    match *key {
        // -2^63 ≤ f < 2^63, as lua_numbertointeger checks.
        Value::Float(f) if f.fract() == 0.0 && (-TWO_63..TWO_63).contains(&f) => Value::Integer(f as i64),
        ref other => other.clone(),
    }
}

/// The order of map entries: booleans (false first), then numbers by value, then strings bytewise.
pub fn key_order(a: &Value, b: &Value) -> Ordering {
    fn rank(v: &Value) -> u8 {
        match v {
            Value::Boolean(_) => 0,
            Value::Integer(_) | Value::Float(_) => 1,
            _ => 2,
        }
    }
    match (a, b) {
        (Value::Boolean(x), Value::Boolean(y)) => x.cmp(y),
        (Value::Integer(x), Value::Integer(y)) => x.cmp(y),
        (Value::Float(x), Value::Float(y)) => x.total_cmp(y),
        (Value::Integer(i), Value::Float(f)) => int_float(*i, *f),
        (Value::Float(f), Value::Integer(i)) => int_float(*i, *f).reverse(),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => rank(a).cmp(&rank(b)),
    }
}

/// Compares an integer with a float exactly (no rounding of the integer to a float).
fn int_float(i: i64, f: f64) -> Ordering {
    if f.is_nan() {
        return Ordering::Less;
    }
    if f >= TWO_63 {
        return Ordering::Less;
    }
    if f < -TWO_63 {
        return Ordering::Greater;
    }
    let floor = f.floor() as i64;
    match i.cmp(&floor) {
        Ordering::Equal if f.fract() != 0.0 => Ordering::Less,
        other => other,
    }
}

/// Equality in which NaN equals NaN and -0.0 differs from 0.0: "unchanged" for a float.
pub fn same(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Float(x), Value::Float(y)) => (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits(),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same(a, b)),
        (Value::Map(x), Value::Map(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|((ka, va), (kb, vb))| same(ka, kb) && same(va, vb))
        }
        _ => a == b,
    }
}

/// Fails the case unless `actual` is `expected` by [`same`].
pub fn assert_same(actual: &Value, expected: &Value, what: &str) -> Result<(), TestCaseError> {
    if same(actual, expected) {
        Ok(())
    } else {
        Err(TestCaseError::fail(format!("{what}: got {actual:?}, expected {expected:?}")))
    }
}
