//! Values keep what they are across every path: host → `_io` → Lua → host, `_home` on every
//! store, serde, and JSON where JSON can say it.

use std::cell::RefCell;

use cu::{Json, Store, Unit, Value};
use proptest::collection::vec;
use proptest::prelude::*;

use crate::common;
use crate::common::backends::unit_on;
use crate::generate::{assert_same, bigint, distinct_keys, is_marker, normalize, value};

/// Defines `copy`, which rebuilds a value table by table in Lua (keeping each table's metatable,
/// which is how an array from the host stays an array).
fn copying_unit() -> Unit {
    let mut unit = common::unit();
    common::values(
        &mut unit,
        "function copy(v)
            if type(v) ~= 'table' then return v end
            local t = {}
            for k, x in pairs(v) do t[k] = copy(x) end
            return setmetatable(t, getmetatable(v))
        end",
    );
    unit
}

fn ok<T>(result: cu::Result<T>, what: &str) -> Result<T, TestCaseError> {
    result.map_err(|e| TestCaseError::fail(format!("{what} failed: {e:?}")))
}

#[test]
fn any_value_crosses_io_and_lua_unchanged() {
    let unit = RefCell::new(copying_unit());
    crate::check("io_round_trip", 512, value(), |value| {
        let mut unit = unit.borrow_mut();
        let expected = normalize(&value);
        ok(unit.set_input(&value), "set_input")?;
        let outcome = ok(unit.compute("_io.output = _io.input return copy(_io.input)"), "compute")?;
        assert_same(&ok(unit.output::<Value>(), "output")?, &expected, "_io.output = _io.input")?;
        assert_same(&outcome.values[0], &expected, "a copy made in Lua, returned")?;
        assert_same(&ok(unit.input::<Value>(), "input")?, &expected, "_io.input read back")?;
        let called = ok(unit.call("copy", std::slice::from_ref(&value)), "call")?;
        assert_same(&called.values[0], &expected, "an argument copied and returned")
    });
}

/// Through `_home`: set by the host and by Lua, committed, read by a new unit on the same store.
fn home_round_trip(name: &str, store: &Store) {
    crate::check(name, 96, value(), |value| {
        let expected = normalize(&value);
        let mut writer = unit_on(store);
        ok(writer.home_set("v", &value), "home_set")?;
        ok(writer.set_input(&value), "set_input")?;
        ok(writer.compute("_home.w = {inner = _io.input}"), "storing from Lua")?;
        let mut reader = unit_on(store);
        assert_same(&ok(reader.home_get::<Value>("v"), "home_get")?, &expected, "home_set, then home_get")?;
        ok(reader.compute("_io.output = _home.w.inner"), "reading from Lua")?;
        assert_same(&ok(reader.output::<Value>(), "output")?, &expected, "_home.w.inner from Lua")
    });
}

#[test]
fn any_value_is_kept_by_home_in_memory() {
    home_round_trip("home_round_trip_memory", &common::backends::memory().store);
}

#[test]
fn any_value_is_kept_by_home_in_sqlite() {
    let backend = common::backends::sqlite();
    home_round_trip("home_round_trip_sqlite", &backend.store);
}

#[test]
fn any_value_is_kept_by_home_in_redis() {
    let backend = common::backends::redis();
    home_round_trip("home_round_trip_redis", &backend.store);
}

/// `cu::Value`'s serde form is lossless (docs/VALUES.md, "serde").
#[test]
fn serde_is_lossless() {
    crate::check("serde_round_trip", 1024, value(), |value| {
        assert_same(&ok(cu::to_value(&value, "v"), "to_value")?, &value, "to_value")?;
        assert_same(&ok(cu::from_value::<Value>(value.clone(), "v"), "from_value")?, &value, "from_value")
    });
}

/// What JSON can hold without loss: no NaN or infinity (written `null`), text that is UTF-8
/// (invalid bytes become U+FFFD) and maps with string keys only (other keys are written as text).
/// The rest of the mapping is promised exact: integers stay integers, floats floats (`1.0`),
/// bigints `{"$bigint": ...}`, `null` inside a container.
fn json_value() -> impl Strategy<Value = Value> {
    let text = || "[a-zA-Z0-9 é$\"\\\\\n]{0,6}".prop_map(Value::from);
    let scalar = prop_oneof![
        Just(Value::Nil),
        any::<bool>().prop_map(Value::Boolean),
        crate::generate::integer().prop_map(Value::Integer),
        crate::generate::float().prop_filter("JSON has no NaN or infinity", |f| f.is_finite()).prop_map(Value::Float),
        text(),
        bigint().prop_map(Value::BigInt),
    ];
    scalar.prop_recursive(4, 48, 6, move |inner| {
        prop_oneof![
            vec(inner.clone(), 0..6).prop_map(Value::Array),
            vec((text(), inner), 0..6)
                .prop_map(|entries| Value::Map(distinct_keys(entries)))
                .prop_filter("a bigint's marker map is a bigint", |map| !is_marker(map)),
        ]
    })
}

/// JSON text from `cu::Json` reads back (as the CLI reads `--input`, `--meta` and `cu home set`)
/// as the same value, compact or pretty; so does a `serde_json::Value` given to the Rust API; and
/// after a trip through Lua the JSON is that of the value Lua gives back (maps sorted, docs/VALUES.md).
#[test]
fn json_is_lossless_where_json_can_say_it() {
    let unit = RefCell::new(copying_unit());
    crate::check("json_round_trip", 512, json_value(), |value| {
        let text = serde_json::to_string(&Json(&value)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let parsed: Value = serde_json::from_str(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        assert_same(&parsed, &value, &format!("JSON {text}"))?;
        let pretty = serde_json::to_string_pretty(&Json(&value)).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let parsed: Value = serde_json::from_str(&pretty).map_err(|e| TestCaseError::fail(format!("{pretty}: {e}")))?;
        assert_same(&parsed, &value, &format!("pretty JSON {pretty}"))?;
        let json: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        assert_same(&ok(cu::to_value(&json, "json"), "to_value")?, &value, &format!("serde_json::Value of {text}"))?;

        let mut unit = unit.borrow_mut();
        ok(unit.set_input(&json), "set_input")?;
        let outcome = ok(unit.compute("return copy(_io.input)"), "compute")?;
        let back = serde_json::to_string(&Json(&outcome.values[0])).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let expected =
            serde_json::to_string(&Json(&normalize(&value))).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(back, expected, "JSON {} through Lua", text);
        Ok(())
    });
}
