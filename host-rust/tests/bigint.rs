//! Lua bigints through the real component from Rust: as `Value::BigInt`, through serde and JSON
//! (the `{"$bigint": "…"}` marker), in `_io`, and stored in `_home` across a restart.

mod common;

use cu::{BigInt, Json, Store, UnitOptions, Value};
use serde::{Deserialize, Serialize};

fn big(digits: &str) -> BigInt {
    digits.parse().expect("decimal digits")
}

#[test]
fn bigints_come_back_as_values_and_go_in_again() {
    let mut unit = common::unit();
    let values = common::values(&mut unit, "local b = require('bigint') return b.new(2) ^ 100, {fee = b.new(-5)}");
    assert_eq!(values[0], Value::BigInt(big("1267650600228229401496703205376")));
    assert_eq!(values[1], Value::Map(vec![(Value::from("fee"), Value::BigInt(big("-5")))]));
    assert_eq!(values[0].to_string(), "bigint.new(\"1267650600228229401496703205376\")");

    unit.set_input(&Value::BigInt(big("340282366920938463463374607431768211456"))).expect("sets");
    let checked =
        common::values(&mut unit, "local b = require('bigint') return b.isbigint(_io.input), tostring(_io.input - 1)");
    assert_eq!(checked, vec![Value::Boolean(true), Value::from("340282366920938463463374607431768211455")]);
}

#[test]
fn serde_and_json_carry_bigints_as_a_marker() {
    #[derive(Debug, Deserialize, PartialEq, Serialize)]
    struct Wallet {
        owner: String,
        wei: u128,
        label: String,
    }
    let mut unit = common::unit();
    common::values(
        &mut unit,
        "local b = require('bigint') _io.output = {owner = 'ada', wei = b.new(10) ^ 30, label = b.new(42)}",
    );
    let wallet: Wallet = unit.output().expect("a bigint fits u128, and reads as a string");
    assert_eq!(wallet, Wallet { owner: "ada".into(), wei: 10u128.pow(30), label: "42".into() });

    let output: Value = unit.output().expect("reads");
    let json = serde_json::to_string(&Json(&output)).expect("JSON");
    assert_eq!(json, r#"{"label":{"$bigint":"42"},"owner":"ada","wei":{"$bigint":"1000000000000000000000000000000"}}"#);
    let back: Value = serde_json::from_str(&json).expect("parses");
    assert_eq!(back, output, "the marker reads back as bigints");

    unit.set_input(&serde_json::json!({"amount": {"$bigint": "-99999999999999999999"}})).expect("sets");
    let sum = common::values(
        &mut unit,
        "return tostring(_io.input.amount + 1), require('bigint').isbigint(_io.input.amount)",
    );
    assert_eq!(sum, vec![Value::from("-99999999999999999998"), Value::Boolean(true)]);
    unit.set_input(&serde_json::json!({"$bigint": "12x"})).expect("sets");
    assert_eq!(
        common::values(&mut unit, "return type(_io.input)"),
        vec![Value::from("table")],
        "not digits: a plain map"
    );
}

#[test]
fn stored_bigints_survive_a_restart() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = || Store::sqlite(dir.path().join("home.sqlite"));
    let mut first = common::unit_with(UnitOptions::default().store(store()));
    common::values(
        &mut first,
        "local b = require('bigint') _home.balance = b.new('1000000000000000000') * 3 _home.list = {b.new(-1)}",
    );
    drop(first);
    let mut second = common::unit_with(UnitOptions::default().store(store()));
    let values =
        common::values(&mut second, "return tostring(_home.balance + 1), require('bigint').isbigint(_home.list[1])");
    assert_eq!(values, vec![Value::from("3000000000000000001"), Value::Boolean(true)]);
    assert_eq!(second.home_get::<Value>("balance").expect("gets"), Value::BigInt(big("3000000000000000000")));
    second.home_set("credit", &Value::BigInt(big("-36893488147419103232"))).expect("sets");
    let sum = common::values(&mut second, "return tostring(_home.credit + _home.balance)");
    assert_eq!(sum, vec![Value::from("-33893488147419103232")]);
}

/// The module is made on first `require`; a bigint that arrives before it behaves the same.
#[test]
fn a_bigint_from_the_host_works_before_any_require() {
    let mut unit = common::unit();
    unit.set_input(&Value::BigInt(big("100000000000000000000"))).expect("sets");
    let values = common::values(
        &mut unit,
        "local ok, message = pcall(function() return _io.input / 0 end) return ok, message, tostring(_io.input + 1)",
    );
    assert_eq!(
        values,
        vec![
            Value::Boolean(false),
            Value::from("(compute):1: bigint /: division by zero"),
            Value::from("100000000000000000001")
        ]
    );
}
