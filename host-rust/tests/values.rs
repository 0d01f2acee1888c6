//! Values crossing the boundary in both directions, and the errors for those that cannot.

mod common;

use cu::{Error, Value};

/// Passes `value` into Lua as an argument and back out as a return value.
fn echo(unit: &mut cu::Unit, value: &Value) -> Value {
    let outcome = unit.call("echo", std::slice::from_ref(value)).expect("echo works");
    assert_eq!(outcome.values.len(), 1);
    outcome.values.into_iter().next().expect("one value")
}

fn echo_unit() -> cu::Unit {
    let mut unit = common::unit();
    unit.compute("function echo(...) return ... end function len_and_null(t) return #t, t[2] == null end")
        .expect("defines echo");
    unit
}

#[test]
fn scalars_round_trip_exactly() {
    let mut unit = echo_unit();
    let scalars = [
        Value::Nil,
        Value::Boolean(true),
        Value::Boolean(false),
        Value::Integer(0),
        Value::Integer(i64::MAX),
        Value::Integer(i64::MIN),
        Value::Float(1.0),
        Value::Float(-0.0),
        Value::Float(0.1),
        Value::Float(f64::MAX),
        Value::Float(f64::MIN_POSITIVE),
        Value::Float(f64::INFINITY),
        Value::Float(f64::NEG_INFINITY),
        Value::from(""),
        Value::from("héllo wörld"),
        Value::String(vec![0, 255, 254, 10, 0]),
    ];
    for value in &scalars {
        let back = echo(&mut unit, value);
        match (value, &back) {
            (Value::Float(a), Value::Float(b)) => {
                assert_eq!(a.to_bits(), b.to_bits(), "{a} came back as {b}")
            }
            _ => assert_eq!(&back, value),
        }
    }
    match echo(&mut unit, &Value::Float(f64::NAN)) {
        Value::Float(x) => assert!(x.is_nan()),
        other => panic!("NaN came back as {other:?}"),
    }
}

#[test]
fn the_integer_float_distinction_is_kept_in_lua() {
    let mut unit = common::unit();
    unit.compute("function kinds(...) local t = {} for i = 1, select('#', ...) do t[i] = math.type((select(i, ...))) end return t end")
        .expect("defines");
    let outcome = unit.call("kinds", &[Value::Integer(1), Value::Float(1.0), Value::Float(2.5)]).expect("calls");
    assert_eq!(outcome.values, vec![Value::Array(vec!["integer".into(), "float".into(), "float".into()])]);
}

#[test]
fn nested_tables_round_trip() {
    let mut unit = echo_unit();
    let value = Value::Map(vec![
        (Value::Boolean(true), Value::from("yes")),
        (Value::Integer(-3), Value::Array(vec![Value::Integer(1), Value::Float(2.5), Value::from("three")])),
        (Value::Float(0.5), Value::Map(vec![])),
        (Value::from("nested"), Value::Map(vec![(Value::from("deeper"), Value::Array(vec![Value::Boolean(false)]))])),
    ]);
    assert_eq!(echo(&mut unit, &value), value);
}

#[test]
fn a_nil_inside_an_array_is_null_and_keeps_its_place() {
    let mut unit = echo_unit();
    let array = Value::Array(vec![Value::Integer(1), Value::Nil, Value::Integer(3)]);
    assert_eq!(echo(&mut unit, &array), array);
    let outcome = unit.call("len_and_null", &[array]).expect("calls");
    assert_eq!(outcome.values, [Value::Integer(3), Value::Boolean(true)]);
}

#[test]
fn a_lua_table_with_holes_is_a_map() {
    let mut unit = common::unit();
    let outcome = unit.compute("return {1, nil, 3}").expect("runs");
    assert_eq!(
        outcome.values,
        [Value::Map(vec![(Value::Integer(1), Value::Integer(1)), (Value::Integer(3), Value::Integer(3))])]
    );
}

#[test]
fn many_arguments_and_results() {
    let mut unit = echo_unit();
    let args: Vec<Value> = (0..200).map(Value::Integer).collect();
    assert_eq!(unit.call("echo", &args).expect("echoes").values, args);
}

#[test]
fn call_reaches_dotted_paths_and_reports_missing_functions() {
    let mut unit = common::unit();
    unit.compute("util = {math = {double = function(x) return 2 * x end}}").expect("defines");
    assert_eq!(unit.call("util.math.double", &[Value::Integer(21)]).expect("calls").values, vec![Value::Integer(42)]);
    match unit.call("util.nope", &[]) {
        Err(Error::Runtime { message, .. }) => {
            assert!(message.contains("'util.nope' is not defined"), "{message}")
        }
        other => panic!("expected a runtime error, got {other:?}"),
    }
    match unit.call("util", &[]) {
        Err(Error::Runtime { message, .. }) => assert!(message.contains("attempt to call a table value"), "{message}"),
        other => panic!("expected a runtime error, got {other:?}"),
    }
}

#[test]
fn errors_raised_by_called_functions_keep_their_traceback() {
    let mut unit = common::unit();
    unit.compute_named("lib.lua", "function fail(why)\n  error('failed: ' .. why)\nend").expect("defines");
    match unit.call("fail", &[Value::from("because")]) {
        Err(Error::Runtime { message, traceback, .. }) => {
            assert_eq!(message, "lib.lua:2: failed: because");
            assert!(traceback.contains("lib.lua:2: in function"), "{traceback}");
        }
        other => panic!("expected a runtime error, got {other:?}"),
    }
}

#[test]
fn set_global_passes_structured_values() {
    let mut unit = common::unit();
    let config = Value::Map(vec![(Value::from("limit"), Value::Integer(10)), (Value::from("name"), Value::from("x"))]);
    unit.set_global("config", &config).expect("sets");
    assert_eq!(
        common::values(&mut unit, "return config.limit * 2, config.name"),
        vec![Value::Integer(20), Value::from("x")]
    );
}

fn nested(depth: usize) -> Value {
    (0..depth).fold(Value::Integer(0), |inner, _| Value::Array(vec![inner]))
}

#[test]
fn nesting_is_limited_in_both_directions() {
    let mut unit = echo_unit();
    assert_eq!(echo(&mut unit, &nested(300)), nested(300));
    match unit.call("echo", &[nested(cu::MAX_DEPTH + 10)]) {
        Err(Error::Conversion { path, reason }) => {
            assert!(path.starts_with("args[1][1][1]"), "{path}");
            assert!(reason.contains("deeper than 512"), "{reason}");
        }
        other => panic!("expected a conversion error, got {other:?}"),
    }
    let deep_lua = "local t = {} for i = 1, 600 do t = {t} end return t";
    match unit.compute(deep_lua) {
        Err(Error::Conversion { path, reason }) => {
            assert!(path.starts_with("[1][1][1]"), "{path}");
            assert!(reason.contains("deeper than 512"), "{reason}");
        }
        other => panic!("expected a conversion error, got {other:?}"),
    }
    common::assert_alive(&mut unit);
}

#[test]
fn bad_keys_from_the_host_are_conversion_errors() {
    let mut unit = echo_unit();
    for (key, why) in [(Value::Nil, "nil"), (Value::Float(f64::NAN), "NaN"), (Value::Array(vec![]), "table")] {
        match unit.call("echo", &[Value::Array(vec![Value::Map(vec![(key, Value::Integer(1))])])]) {
            Err(Error::Conversion { path, reason }) => {
                assert_eq!(path, "args[1][1]");
                assert!(reason.contains(why), "{reason}");
            }
            other => panic!("expected a conversion error for a {why} key, got {other:?}"),
        }
    }
    common::assert_alive(&mut unit);
}

#[test]
fn display_is_lua_like() {
    let value = Value::Map(vec![
        (Value::Integer(1), Value::Float(1.0)),
        (Value::from("a b"), Value::String(vec![b'x', 0, 200, b'1'])),
        (Value::from("ok"), Value::Array(vec![Value::Nil, Value::Float(f64::NAN)])),
    ]);
    assert_eq!(value.to_string(), r#"{[1] = 1.0, ["a b"] = "x\000\2001", ok = {null, 0/0}}"#);
}

#[test]
fn json_serialization() {
    let value = Value::Map(vec![
        (Value::Integer(1), Value::Array(vec![Value::Integer(2), Value::Float(2.5), Value::Nil])),
        (Value::from("s"), Value::from("t")),
        (Value::from("inf"), Value::Float(f64::INFINITY)),
    ]);
    assert_eq!(serde_json::to_string(&value).expect("serializes"), r#"{"1":[2,2.5,null],"s":"t","inf":null}"#);
}
