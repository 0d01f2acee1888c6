//! JSON numbers become values exactly: integers of any size stay integers (bigints past 64 bits),
//! numbers with a fraction or an exponent are floats; read from JSON text and from
//! `serde_json::Value`s alike.

use num_bigint::BigInt;
use value::{Value, to_value};

fn big(digits: &str) -> Value {
    Value::BigInt(digits.parse::<BigInt>().expect("digits"))
}

/// JSON numbers at the edges of 64 bits and past them, and what each must become.
fn boundaries() -> Vec<(&'static str, Value)> {
    vec![
        ("0", Value::Integer(0)),
        ("-0", Value::Integer(0)),
        ("9223372036854775807", Value::Integer(i64::MAX)),
        ("9223372036854775808", big("9223372036854775808")),
        ("-9223372036854775808", Value::Integer(i64::MIN)),
        ("-9223372036854775809", big("-9223372036854775809")),
        ("18446744073709551615", big("18446744073709551615")),
        ("18446744073709551616", big("18446744073709551616")),
        ("1000000000000000000000000000000", big("1000000000000000000000000000000")),
        ("-1000000000000000000000000000000", big("-1000000000000000000000000000000")),
        ("1e30", Value::Float(1e30)),
        ("1E3", Value::Float(1000.0)),
        ("1.5", Value::Float(1.5)),
        ("0.0", Value::Float(0.0)),
        ("-2.5e-3", Value::Float(-0.0025)),
        ("12345678901234567890.5", Value::Float(12345678901234567890.5)),
    ]
}

#[test]
fn json_text_keeps_every_integer_exact() {
    for (text, expected) in boundaries() {
        let read: Value = serde_json::from_str(text).expect("valid JSON");
        assert_eq!(read, expected, "{text}");
        let nested: Value = serde_json::from_str(&format!("{{\"n\": [{text}]}}")).expect("valid JSON");
        assert_eq!(nested, Value::Map(vec![(Value::from("n"), Value::Array(vec![expected.clone()]))]), "{text}");
    }
}

#[test]
fn json_values_keep_every_integer_exact() {
    for (text, expected) in boundaries() {
        let json: serde_json::Value = serde_json::from_str(text).expect("valid JSON");
        assert_eq!(to_value(&json, "n").expect("converts"), expected, "{text}");
        let nested = serde_json::json!({ "n": [json] });
        let Value::Map(entries) = to_value(&nested, "doc").expect("converts") else { panic!("a map") };
        assert_eq!(entries[0].1, Value::Array(vec![expected]), "{text}");
    }
}

#[test]
fn wide_rust_integers_become_bigints() {
    assert_eq!(to_value(&u64::MAX, "n").expect("converts"), big("18446744073709551615"));
    assert_eq!(to_value(&i128::MIN, "n").expect("converts"), big(&i128::MIN.to_string()));
    let read: Value = serde_json::from_value(serde_json::json!(u64::MAX)).expect("reads");
    assert_eq!(read, big("18446744073709551615"));
}
