//! Schemas on the records of stored tables, through the real component on every backend: checked
//! at commit, a call that breaks one writes nothing, and a schema that the records already break
//! is refused.

mod common;

use common::backends::{one, run, unit_on};
use cu::{Error, IndexKind, Store, Value};
use serde_json::json;

/// The seed's schema, with its email pattern as a Lua pattern.
fn seed_schema() -> serde_json::Value {
    json!({
        "name": { "type": "string", "required": true },
        "age": { "type": "number", "min": 0, "max": 150 },
        "email": { "type": "string", "pattern": "^[^%s@]+@[^%s@]+%.[^%s@]+$" },
    })
}

/// The schema error a result holds.
fn broken<T: std::fmt::Debug>(result: Result<T, Error>) -> (String, String, String) {
    match result {
        Err(Error::Schema { path, rule, message }) => (path, rule, message),
        other => panic!("expected a schema error, got {other:?}"),
    }
}

on_every_backend! {
    records_are_checked_when_a_call_commits(store) {
        let mut unit = unit_on(store);
        unit.home_set_schema("users", &seed_schema()).expect("sets the schema");
        run(&mut unit, "_home.users = { alice = { name = 'Alice', age = 30, email = 'alice@example.com' } }");
        let (path, rule, message) = broken(unit.compute("_home.users.carol = { name = 'Carol' } _home.users.bob = { name = 'Bob', age = 200 }"));
        assert_eq!((path.as_str(), rule.as_str()), ("_home.users.bob.age", "max"));
        assert_eq!(message, "_home.users.bob.age: 200 is above max 150");
        assert_eq!(one(&mut unit, "return _home.users.carol"), Value::Nil, "nothing of the call was written");
        let cases = [
            ("_home.users.alice.name = nil", "_home.users.alice.name", "required", "_home.users.alice.name: is required"),
            ("_home.users.alice.age = 'old'", "_home.users.alice.age", "type", "_home.users.alice.age: is a string, not a number"),
            ("_home.users.alice.age = -1", "_home.users.alice.age", "min", "_home.users.alice.age: -1 is below min 0"),
            ("_home.users.alice.email = 'nobody'", "_home.users.alice.email", "pattern", "_home.users.alice.email: \"nobody\" does not match pattern \"^[^%s@]+@[^%s@]+%.[^%s@]+$\""),
            ("_home.users.dan = 5", "_home.users.dan", "record", "_home.users.dan: is an integer, but the table's schema wants records that are tables"),
        ];
        for (code, path, rule, message) in cases {
            assert_eq!(broken(unit.compute(code)), (path.to_string(), rule.to_string(), message.to_string()), "{code}");
        }
        // Through the host's operations too, and a batch.
        let (path, rule, _) = broken(unit.home_set("users.eve", &json!({"name": 7})));
        assert_eq!((path.as_str(), rule.as_str()), ("_home.users.eve.name", "type"));
        assert_eq!(one(&mut unit, "return _home.users.alice.age"), Value::Integer(30));
        // What the rules allow commits; a field with no rule is free.
        run(&mut unit, "_home.users.alice.age = 150.0 _home.users.alice.nickname = { 'Al' } _home.users.bob = { name = 'Bob' }");
        assert_eq!(one(&mut unit, "return _home.users.bob.name"), Value::from("Bob"));
        common::assert_alive(&mut unit);
    }

    a_schema_the_records_break_is_refused(store) {
        let mut unit = unit_on(store);
        run(&mut unit, "_home.users = { ann = { name = 'Ann', age = 40 }, old = { name = 'Old', age = 151 } }");
        let (path, rule, _) = broken(unit.home_set_schema("users", &seed_schema()));
        assert_eq!((path.as_str(), rule.as_str()), ("_home.users.old.age", "max"));
        assert_eq!(unit.home_schema::<Value>("users").expect("reads"), Value::Nil, "the schema was not set");
        run(&mut unit, "_home.users.old = nil");
        unit.home_set_schema("users", &seed_schema()).expect("sets it now");
        let schema: serde_json::Value = unit.home_schema("users").expect("reads");
        assert_eq!(schema["age"], json!({"type": "number", "min": 0, "max": 150}));
        assert_eq!(schema["name"], json!({"type": "string", "required": true}));
        // Removing it frees the table again.
        unit.home_set_schema("users", &()).expect("removes it");
        run(&mut unit, "_home.users.ann.age = 1000");
        assert_eq!(unit.home_schema::<Value>("users").expect("reads"), Value::Nil);
    }

    schemas_and_indexes_on_one_table(store) {
        let mut unit = unit_on(store);
        unit.home_create_index("items", "price", IndexKind::Btree).expect("indexes");
        run(&mut unit, "
            local home = require('home')
            home.setSchema('items', { price = { type = 'integer', min = 1 }, sku = { type = 'string', min = 3, max = 8 } })
            _home.items = { a = { price = 5, sku = 'abc' }, b = { price = 9, sku = 'abcdefgh' } }
        ");
        let (path, rule, message) = broken(unit.compute("_home.items.c = { price = 2.5, sku = 'xyz' }"));
        assert_eq!((path.as_str(), rule.as_str(), message.as_str()), ("_home.items.c.price", "type", "_home.items.c.price: is a float, not an integer"));
        let (_, rule, message) = broken(unit.compute("_home.items.a.sku = 'ab'"));
        assert_eq!((rule.as_str(), message.as_str()), ("min", "_home.items.a.sku: its length 2 is below min 3"));
        run(&mut unit, "_home.items.c = { price = 1, sku = 'xyz' }");
        let cheap = unit.home_query(&json!({"table": "items", "field": "price", "operator": "<", "value": 6})).expect("queries");
        assert_eq!(cheap.iter().map(|h| h.key.clone()).collect::<Vec<_>>(), [Value::from("c"), Value::from("a")]);
        assert_eq!(unit.home_check_indexes().expect("checks"), Vec::<String>::new());
    }
}

#[test]
fn a_lua_script_sets_and_reads_a_schema() {
    let mut unit = unit_on(&Store::memory());
    let values = run(
        &mut unit,
        "
        local home = require('home')
        home.setSchema('t', { n = { type = 'number', required = true } })
        local ok, message = pcall(home.setSchema, 't', { n = { kind = 'number' } })
        return ok, message
    ",
    );
    assert_eq!(values[0], Value::Boolean(false));
    assert!(
        values[1].as_str().is_some_and(
            |m| m.contains("unknown rule 'kind' for field 'n'") || m.contains("field 'n': unknown rule 'kind'")
        ),
        "{:?}",
        values[1]
    );
    assert_eq!(one(&mut unit, "return require('home').getSchema('t').n.type"), Value::from("number"));
    assert!(matches!(unit.compute("_home.t = { x = {} }"), Err(Error::Schema { .. })));
}
