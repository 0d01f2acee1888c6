//! Indexes and queries on `_home` through the real component, on every backend: every operator
//! against a brute-force reference on random records, with and without an index; indexes kept
//! exact through random writes and failed calls; the seed's examples; and bad input.

mod common;

use std::cmp::Ordering;

use common::backends::{one, run, unit_on};
use cu::{Error, Hit, HomeOp, IndexKind, Store, Unit, Value};
use serde_json::json;

/// A small deterministic generator, so a failing case can be run again.
struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const WORDS: &[&str] =
    &["", "a", "ab", "abc", "b", "Äpfel", "ápple", "zebra", "日本", "日本語", "a\u{0}b", "%d", "x.y"];

/// A field value of every kind a field can hold, with many ties.
fn scalar(random: &mut Random) -> Value {
    match random.below(10) {
        0 => Value::Nil,
        1 => Value::Boolean(random.below(2) == 0),
        2 | 3 => Value::Integer(random.below(21) as i64 - 10),
        4 => Value::Float((random.below(41) as f64 - 20.0) / 4.0),
        5 => Value::Float(*random.pick(&[f64::INFINITY, f64::NEG_INFINITY, 0.5, -0.0, 1e300])),
        6 => Value::Integer(*random.pick(&[i64::MIN, i64::MAX, 1 << 53, (1 << 53) + 1])),
        _ => Value::from(*random.pick(WORDS)),
    }
}

/// A record with a `v` field, a nested `n.v` field, and either sometimes missing or a table.
fn record(random: &mut Random, i: u64) -> Value {
    let mut fields = vec![(Value::from("id"), Value::Integer(i as i64))];
    match random.below(20) {
        0 | 1 => {}
        2 => fields.push((Value::from("v"), map(vec![("w", Value::Integer(1))]))),
        _ => fields.push((Value::from("v"), scalar(random))),
    }
    match random.below(6) {
        0 => {}
        1 => fields.push((Value::from("n"), Value::from("not a table"))),
        _ => fields.push((Value::from("n"), map(vec![("v", scalar(random))]))),
    }
    Value::Map(fields)
}

fn map(fields: Vec<(&str, Value)>) -> Value {
    Value::Map(fields.into_iter().map(|(k, v)| (Value::from(k), v)).collect())
}

/// A value with its maps' entries in one order, to compare values that came back with another.
fn sorted(value: &Value) -> Value {
    match value {
        Value::Map(entries) => {
            let mut entries: Vec<(Value, Value)> = entries.iter().map(|(k, v)| (k.clone(), sorted(v))).collect();
            entries.sort_by_key(|(k, _)| format!("{k:?}"));
            Value::Map(entries)
        }
        Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

/// The documented order: null < booleans < numbers (by value) < strings (bytewise); `None` for
/// values outside it (tables, NaN).
fn class(value: &Value) -> Option<u8> {
    Some(match value {
        Value::Nil => 0,
        Value::Boolean(_) => 1,
        Value::Integer(_) => 2,
        Value::Float(f) if !f.is_nan() => 2,
        Value::String(_) => 3,
        _ => return None,
    })
}

fn compare_numbers(a: &Value, b: &Value) -> Ordering {
    fn int_float(i: i64, f: f64) -> Ordering {
        if f >= 9.3e18 {
            return Ordering::Less;
        }
        if f < -9.3e18 {
            return Ordering::Greater;
        }
        let whole = f.floor();
        match (i as i128).cmp(&(whole as i128)) {
            Ordering::Equal if f > whole => Ordering::Less,
            other => other,
        }
    }
    match (a, b) {
        (Value::Integer(x), Value::Integer(y)) => x.cmp(y),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Value::Integer(x), Value::Float(y)) => int_float(*x, *y),
        (Value::Float(x), Value::Integer(y)) => int_float(*y, *x).reverse(),
        _ => unreachable!("numbers"),
    }
}

fn order(a: &Value, b: &Value) -> Ordering {
    let (ca, cb) = (class(a).unwrap_or(9), class(b).unwrap_or(9));
    if ca != cb {
        return ca.cmp(&cb);
    }
    match (a, b) {
        (Value::Boolean(x), Value::Boolean(y)) => x.cmp(y),
        (Value::String(x), Value::String(y)) => x.cmp(y),
        (Value::Nil, Value::Nil) => Ordering::Equal,
        _ => compare_numbers(a, b),
    }
}

fn field<'a>(record: &'a Value, path: &[&str]) -> Option<&'a Value> {
    let mut current = record;
    for step in path {
        let Value::Map(entries) = current else { return None };
        current = &entries.iter().find(|(k, _)| *k == Value::from(*step))?.1;
    }
    class(current).map(|_| current)
}

fn text(value: &Value) -> Option<&[u8]> {
    match value {
        Value::String(s) => Some(s),
        _ => None,
    }
}

/// Whether `value` passes `operator` with `operand`, as documented.
fn passes(value: &Value, operator: &str, operand: &Value) -> bool {
    let same_class = |a: &Value, b: &Value| class(a) == class(b);
    let ordered = |v: &Value| matches!(class(v), Some(2 | 3));
    match operator {
        "=" => same_class(value, operand) && order(value, operand) == Ordering::Equal,
        "!=" => !(same_class(value, operand) && order(value, operand) == Ordering::Equal),
        "<" => ordered(operand) && same_class(value, operand) && order(value, operand) == Ordering::Less,
        "<=" => ordered(operand) && same_class(value, operand) && order(value, operand) != Ordering::Greater,
        ">" => ordered(operand) && same_class(value, operand) && order(value, operand) == Ordering::Greater,
        ">=" => ordered(operand) && same_class(value, operand) && order(value, operand) != Ordering::Less,
        "between" => {
            let Value::Array(bounds) = operand else { unreachable!() };
            passes(value, ">=", &bounds[0]) && passes(value, "<=", &bounds[1])
        }
        "startsWith" => text(value).zip(text(operand)).is_some_and(|(v, p)| v.starts_with(p)),
        "endsWith" => text(value).zip(text(operand)).is_some_and(|(v, p)| v.ends_with(p)),
        "contains" => {
            text(value).zip(text(operand)).is_some_and(|(v, p)| p.is_empty() || v.windows(p.len()).any(|w| w == p))
        }
        other => unreachable!("{other}"),
    }
}

/// A condition in the seed's form, and its field's path.
struct Condition {
    path: Vec<&'static str>,
    operator: &'static str,
    operand: Value,
}

fn random_condition(random: &mut Random) -> Condition {
    let path = if random.below(3) == 0 { vec!["n", "v"] } else { vec!["v"] };
    let operator = *random.pick(&["=", "!=", "<", "<=", ">", ">=", "between", "startsWith", "endsWith", "contains"]);
    let string = |random: &mut Random| Value::from(*random.pick(WORDS));
    let number = |random: &mut Random| match scalar(random) {
        v @ (Value::Integer(_) | Value::Float(_)) => v,
        _ => Value::Integer(random.below(11) as i64 - 5),
    };
    let operand = match operator {
        "startsWith" | "endsWith" | "contains" => string(random),
        "between" if random.below(2) == 0 => Value::Array(vec![number(random), number(random)]),
        "between" => Value::Array(vec![string(random), string(random)]),
        "<" | "<=" | ">" | ">=" if random.below(3) == 0 => string(random),
        "<" | "<=" | ">" | ">=" => number(random),
        _ => scalar(random),
    };
    Condition { path, operator, operand }
}

/// What a query must return: the keys of the matching records, sorted by the first condition's
/// field (then key), reversed for `desc`, cut at the limit.
fn reference(records: &[(String, Value)], conditions: &[Condition], descending: bool, limit: usize) -> Vec<String> {
    let mut hits: Vec<(&Value, &String)> = records
        .iter()
        .filter(|(_, record)| {
            conditions.iter().all(|c| field(record, &c.path).is_some_and(|v| passes(v, c.operator, &c.operand)))
        })
        .map(|(key, record)| (field(record, &conditions[0].path).unwrap_or(&Value::Nil), key))
        .collect();
    hits.sort_by(|a, b| order(a.0, b.0).then_with(|| a.1.cmp(b.1)));
    if descending {
        hits.reverse();
    }
    hits.into_iter().take(limit).map(|(_, key)| key.clone()).collect()
}

/// A query as a value (JSON has no infinities).
fn query_of(table: &str, conditions: &[Condition], descending: bool, limit: usize) -> Value {
    let conditions = conditions
        .iter()
        .map(|c| {
            let field = Value::from(c.path.join(".").as_str());
            map(vec![("field", field), ("operator", Value::from(c.operator)), ("value", c.operand.clone())])
        })
        .collect();
    map(vec![
        ("table", Value::from(table)),
        ("where", Value::Array(conditions)),
        ("sort", Value::from(if descending { "desc" } else { "asc" })),
        ("limit", Value::Integer(limit as i64)),
    ])
}

fn keys(hits: &[Hit]) -> Vec<String> {
    hits.iter()
        .map(|hit| match &hit.key {
            Value::String(s) => String::from_utf8_lossy(s).into_owned(),
            other => panic!("a key that is not a string: {other:?}"),
        })
        .collect()
}

/// Random records in `_home.recs`, then random queries with and without indexes, each checked
/// against the reference.
fn queries_match_the_reference(store: &Store) {
    let mut random = Random(0x9e37_79b9_7f4a_7c15);
    let records: Vec<(String, Value)> = (0..150).map(|i| (format!("r{i:03}"), record(&mut random, i))).collect();
    let mut unit = unit_on(store);
    unit.home_set("recs", &Value::Map(records.iter().map(|(k, v)| (Value::from(k.as_str()), v.clone())).collect()))
        .expect("stores the records");
    let check = |unit: &mut Unit, random: &mut Random, rounds: usize| {
        for _ in 0..rounds {
            let conditions: Vec<Condition> = (0..1 + random.below(2)).map(|_| random_condition(random)).collect();
            let descending = random.below(2) == 0;
            let limit = *random.pick(&[1, 3, 10, 100, 1000]);
            let query = query_of("recs", &conditions, descending, limit);
            let found = unit.home_query(&query).unwrap_or_else(|e| panic!("{query}: {e}"));
            let expected = reference(&records, &conditions, descending, limit);
            let shown = |keys: &[String]| -> Vec<String> {
                keys.iter()
                    .map(|k| {
                        format!(
                            "{k}: {}",
                            records.iter().find(|(key, _)| key == k).map_or(Value::Nil, |(_, r)| r.clone())
                        )
                    })
                    .collect()
            };
            assert_eq!(
                keys(&found),
                expected,
                "{query}\nfound {:?}\nexpected {:?}",
                shown(&keys(&found)),
                shown(&expected)
            );
            // The records come back whole.
            for hit in &found {
                let (_, record) = records.iter().find(|(k, _)| Value::from(k.as_str()) == hit.key).expect("a key");
                assert_eq!(sorted(&hit.value), sorted(record), "{query}");
            }
        }
    };
    check(&mut unit, &mut random, 150);
    unit.home_create_index("recs", "v", IndexKind::Btree).expect("indexes v");
    unit.home_create_index("recs", "n.v", IndexKind::Hash).expect("indexes n.v");
    assert_eq!(unit.home_check_indexes().expect("checks"), Vec::<String>::new());
    check(&mut unit, &mut random, 250);
}

/// Random inserts, updates, deletes and failed calls on a table with two indexes, checking after
/// each round that the indexes match the table exactly and answer as a scan does.
fn indexes_stay_exact(store: &Store) {
    let mut unit = unit_on(store);
    run(
        &mut unit,
        "
        local home = require('home')
        _home.t = {}
        home.createIndex('t', 'v')
        home.createIndex('t', 'n.v')
    ",
    );
    let mut random = Random(42);
    for round in 0..25 {
        let mut code = String::from("local t = _home.t\n");
        for _ in 0..8 {
            let key = format!("k{}", random.below(30));
            let value = random.below(100) as i64 - 50;
            code.push_str(&match random.below(7) {
                0 => format!("t.{key} = nil\n"),
                1 => format!("t.{key} = {{ v = {value}, n = {{ v = 'w{value}' }} }}\n"),
                2 => format!("if t.{key} then t.{key}.v = {value} end\n"),
                3 => format!("if t.{key} and t.{key}.n then t.{key}.n.v = {value} end\n"),
                4 => format!("if t.{key} then t.{key}.n = {{ v = {} }} end\n", value * 2),
                5 => format!("t.{key} = t.k{}\n", random.below(30)),
                _ => format!("if t.{key} then t.{key}.v = 'text{value}' end\n"),
            });
        }
        if round % 4 == 3 {
            code.push_str("error('this call fails and writes nothing')\n");
            assert!(unit.compute(&code).is_err());
        } else {
            run(&mut unit, &code);
        }
        assert_eq!(unit.home_check_indexes().expect("checks"), Vec::<String>::new(), "after round {round}:\n{code}");
        let indexed =
            unit.home_query(&json!({"table": "t", "field": "v", "operator": ">=", "value": -10, "limit": 1000}));
        let scanned: Vec<Value> = run(
            &mut unit,
            "
            local keys = {}
            for k, r in pairs(_home.t) do
                if type(r.v) == 'number' and r.v >= -10 then keys[#keys + 1] = k end
            end
            table.sort(keys, function(a, b)
                if _home.t[a].v ~= _home.t[b].v then return _home.t[a].v < _home.t[b].v end
                return a < b
            end)
            return table.concat(keys, ',')
        ",
        );
        assert_eq!(Value::from(keys(&indexed.expect("queries")).join(",").as_str()), scanned[0], "after round {round}");
    }
}

on_every_backend! {
    every_operator_matches_the_reference(store) { queries_match_the_reference(store) }

    indexes_match_their_tables_through_random_writes(store) { indexes_stay_exact(store) }

    records_come_back_as_a_script_reads_them(store) {
        // Query results are converted from the stored bytes, without Lua: each must be exactly
        // (entry order included) the value a script returning the record gives.
        let mut unit = unit_on(store);
        run(&mut unit, r#"
            local bigint = require('bigint')
            local array = { __jsontype = 'array' }
            local object = { __jsontype = 'object' }
            _home.t = {
                a = { n = 1, list = { 1, 2.5, 'three' }, obj = setmetatable({}, object), arr = setmetatable({}, array),
                      sparse = setmetatable({ [1] = 1, [3] = 3 }, array), keyed = setmetatable({ [1] = 'x' }, object),
                      mixed = { [1] = true, [2.5] = 'f', [3] = 'i', x = 's', [false] = 0, [-1] = 'neg' },
                      big = bigint.new('-123456789012345678901234567890'), none = null, empty = {},
                      nested = { deep = { deeper = { 1, { 2, null, 3 } } } }, text = 'h\u{e9}llo\0\255' },
                b = { n = 2, seq = { 'x', 'y' }, f = 0.1, i = math.mininteger },
                c = { n = 3, long = string.rep('long text ', 200) },
                d = { n = 4, bad = setmetatable({ x = 1 }, array) },
                e = 5,
            }
        "#);
        let found = unit
            .home_query(&json!({"table": "t", "field": "n", "operator": "<", "value": 4, "limit": 10}))
            .expect("queries");
        assert_eq!(keys(&found), ["a", "b", "c"]);
        for hit in &found {
            let Value::String(key) = &hit.key else { panic!("{:?}", hit.key) };
            let script = one(&mut unit, &format!("return _home.t.{}", String::from_utf8_lossy(key)));
            assert_eq!(hit.value, script, "{:?}", hit.key);
        }
        // Without conditions, every entry in key order, to the limit, by scan and in Lua.
        let all = unit.home_query(&json!({"table": "t", "limit": 2})).expect("queries");
        assert_eq!(keys(&all), ["a", "b"]);
        let all = unit.home_query(&json!({"table": "t", "sort": "desc", "limit": 1})).expect("queries");
        assert_eq!(keys(&all), ["e"]);
        assert_eq!(all[0].value, Value::Integer(5));
        assert_eq!(
            one(&mut unit, "local hits = require('home').query{ table = 't', limit = 3 } return #hits .. hits[3].key"),
            Value::from("3c")
        );
        // A marked array with a key no array has fails as a script's would.
        let bad = unit.home_query(&json!({"table": "t", "field": "n", "operator": "=", "value": 4}));
        assert!(format!("{bad:?}").contains("__jsontype"), "{bad:?}");
        assert!(unit.compute("return _home.t.d").is_err());
    }

    seed_advanced_querying(store) {
        let mut unit = unit_on(store);
        // The seed's 1,000 users, with scores from a fixed generator.
        run(&mut unit, "
            math.randomseed(7)
            _home.appUsers = {}
            for i = 0, 999 do
                _home.appUsers['user_' .. i] = {
                    id = i, name = 'User ' .. i, email = 'user' .. i .. '@example.com',
                    score = math.random(0, 999), created = string.format('2024-%02d-%02d', i % 12 + 1, i % 28 + 1),
                }
            end
        ");
        let brute = |unit: &mut Unit, filter: &str, descending: bool, limit: usize| -> Value {
            one(unit, &format!("
                local hits = {{}}
                for k, u in pairs(_home.appUsers) do if {filter} then hits[#hits + 1] = k end end
                table.sort(hits, function(a, b)
                    local x, y = _home.appUsers[a].score, _home.appUsers[b].score
                    if x ~= y then return {cmp} end
                    return {tie}
                end)
                local out = {{}}
                for i = 1, math.min({limit}, #hits) do out[i] = hits[i] end
                return table.concat(out, ',')
            ", cmp = if descending { "x > y" } else { "x < y" }, tie = if descending { "a > b" } else { "a < b" }))
        };
        let queried = |unit: &mut Unit, query: serde_json::Value| -> Value {
            Value::from(keys(&unit.home_query(&query).expect("queries")).join(",").as_str())
        };
        for indexed in [false, true] {
            if indexed {
                let info = unit.home_create_index("appUsers", "score", IndexKind::Btree).expect("creates the index");
                assert_eq!((info.table.as_str(), info.field.as_str()), ("appUsers", "score"));
            }
            let top = queried(&mut unit, json!({"table": "appUsers", "field": "score", "operator": ">=", "value": 800, "limit": 10, "sort": "desc"}));
            assert_eq!(top, brute(&mut unit, "u.score >= 800", true, 10));
            let middle = queried(&mut unit, json!({"table": "appUsers", "field": "score", "operator": "between", "value": [400, 600], "limit": 20}));
            assert_eq!(middle, brute(&mut unit, "u.score >= 400 and u.score <= 600", false, 20));
        }
        let recent = unit.home_query(&json!({"table": "appUsers", "field": "created", "operator": "startsWith", "value": "2024-01", "limit": 50})).expect("queries");
        assert_eq!(recent.len(), 50);
        assert!(recent.iter().all(|hit| matches!(&hit.value, Value::Map(fields)
            if fields.iter().any(|(k, v)| *k == Value::from("created") && matches!(v, Value::String(s) if s.starts_with(b"2024-01"))))));
        assert_eq!(unit.home_check_indexes().expect("checks"), Vec::<String>::new());
    }

    queries_see_the_calls_own_writes(store) {
        let mut unit = unit_on(store);
        run(&mut unit, "
            _home.t = { a = { v = 1 }, b = { v = 2 }, c = { v = 3, n = { v = 'x' } } }
        ");
        let code = "
            local home = require('home')
            local function keys(q)
                local out = {}
                for _, hit in ipairs(home.query(q)) do out[#out + 1] = hit.key end
                return table.concat(out, ',')
            end
            _home.t.a.v = 10
            _home.t.b = nil
            _home.t.d = { v = 4 }
            _home.t.c.n.v = 'y'
            return keys{ table = 't', field = 'v', operator = '>', value = 1 },
                keys{ table = 't', field = 'n.v', operator = '=', value = 'y' },
                keys{ table = 't', field = 'v', operator = '<', value = 100, sort = 'desc', limit = 2 }
        ";
        let expected = vec![Value::from("c,d,a"), Value::from("c"), Value::from("a,d")];
        assert!(unit.compute(format!("{code} error('undo')")).is_err(), "a failed call");
        assert_eq!(run(&mut unit, &format!("{} return {}", "local home = require('home') home.createIndex('t', 'v') home.createIndex('t', 'n.v')", "#home.indexes()")), vec![Value::Integer(2)]);
        // With the indexes, the writes of the call still show.
        assert_eq!(run(&mut unit, code), expected);
        assert_eq!(unit.home_check_indexes().expect("checks"), Vec::<String>::new());
        // And when the table itself is replaced in the call, it is what the query reads.
        assert_eq!(one(&mut unit, "
            _home.t = { z = { v = 5 } }
            local hits = require('home').query{ table = 't', field = 'v', operator = '>=', value = 0 }
            return #hits .. hits[1].key
        "), Value::from("1z"));
        assert_eq!(unit.home_check_indexes().expect("checks"), Vec::<String>::new());
    }

    an_index_follows_its_table_path(store) {
        let mut unit = unit_on(store);
        unit.home_create_index("org.users", "age", IndexKind::Btree).expect("an index before its table exists");
        let adults = json!({"table": "org.users", "field": "age", "operator": ">=", "value": 18});
        run(&mut unit, "_home.org = { users = { ann = { age = 30 }, bob = { age = 12 } } }");
        assert_eq!(keys(&unit.home_query(&adults).expect("queries")), ["ann"]);
        run(&mut unit, "_home.org.users = { cy = { age = 40 } }");
        assert_eq!(keys(&unit.home_query(&adults).expect("queries")), ["cy"]);
        run(&mut unit, "local old = _home.org _home.org = { users = { di = { age = 50 } } } _home.old = old");
        assert_eq!(keys(&unit.home_query(&adults).expect("queries")), ["di"]);
        run(&mut unit, "_home.old.users.cy.age = 99");
        assert_eq!(keys(&unit.home_query(&adults).expect("queries")), ["di"], "a table moved away is not indexed");
        assert_eq!(unit.home_check_indexes().expect("checks"), Vec::<String>::new());
        assert_eq!(unit.home_indexes().expect("lists").len(), 1);
        assert!(unit.home_drop_index("org.users", "age").expect("drops"));
        assert!(!unit.home_drop_index("org.users", "age").expect("drops nothing"));
        assert_eq!(keys(&unit.home_query(&adults).expect("queries by scan")), ["di"]);
    }

    queries_in_a_batch(store) {
        let mut unit = unit_on(store);
        unit.home_create_index("users", "age", IndexKind::Btree).expect("indexes");
        let mut operations: Vec<HomeOp> = (0..10_000)
            .map(|i| HomeOp::Set { path: format!("users.u{i}"), value: Value::Map(vec![(Value::from("age"), Value::Integer(i % 100))]) })
            .collect();
        operations.push(serde_json::from_value(json!({"type": "query", "table": "users", "query": {"field": "age", "operator": "=", "value": 99, "limit": 3}})).expect("a query op"));
        operations.push(serde_json::from_value(json!({"type": "delete", "path": "users.u99"})).expect("an op"));
        operations.push(serde_json::from_value(json!({"type": "query", "query": {"table": "users", "field": "age", "operator": "=", "value": 99, "limit": 3}})).expect("a query op"));
        let results = unit.home_batch(&operations).expect("the batch runs");
        let found = |value: &Value| match value {
            Value::Array(hits) => hits.iter().map(|h| match h { Value::Map(f) => f.iter().find(|(k, _)| *k == Value::from("key")).map(|(_, v)| v.clone()).unwrap_or(Value::Nil), _ => Value::Nil }).collect::<Vec<_>>(),
            other => panic!("not an array: {other:?}"),
        };
        assert_eq!(found(&results[10_000]), [Value::from("u1099"), Value::from("u1199"), Value::from("u1299")]);
        assert_eq!(found(&results[10_002]), [Value::from("u1099"), Value::from("u1199"), Value::from("u1299")]);
        let sorted = unit.home_query(&json!({"table": "users", "field": "age", "operator": "=", "value": 99, "limit": 1})).expect("queries");
        assert_eq!(keys(&sorted), ["u1099"]);
        assert_eq!(unit.home_check_indexes().expect("checks"), Vec::<String>::new());
    }
}

/// An error whose message contains `part`.
fn fails_with(result: Result<impl std::fmt::Debug, Error>, part: &str) {
    match result {
        Err(error) => assert!(error.to_string().contains(part), "`{error}` does not say `{part}`"),
        Ok(value) => panic!("succeeded with {value:?}, expected an error saying `{part}`"),
    }
}

#[test]
fn bad_queries_and_definitions_are_refused_clearly() {
    let store = Store::memory();
    let mut unit = unit_on(&store);
    run(&mut unit, "_home.t = { a = { v = 1 } } _home.f = function() end _home.n = 5");
    let query = |q: serde_json::Value| {
        json!({"table": "t", "field": "v"}).as_object().cloned().map(|mut m| {
            m.extend(q.as_object().cloned().unwrap_or_default());
            serde_json::Value::Object(m)
        })
    };
    fails_with(unit.home_query(&query(json!({"operator": "=~", "value": 1}))), "unknown operator '=~'");
    fails_with(unit.home_query(&query(json!({"operator": "between", "value": [1]}))), "between needs two values");
    fails_with(
        unit.home_query(&query(json!({"operator": "between", "value": [1, "z"]}))),
        "two numbers or two strings",
    );
    fails_with(unit.home_query(&query(json!({"operator": "<", "value": true}))), "compares numbers or strings");
    fails_with(unit.home_query(&query(json!({"operator": "contains", "value": 3}))), "needs a string");
    fails_with(unit.home_query(&query(json!({"operator": "=", "value": 1, "limit": 0}))), "limit must be");
    fails_with(
        unit.home_query(&query(json!({"operator": "=", "value": 1, "sort": "up"}))),
        "sort must be 'asc' or 'desc'",
    );
    fails_with(
        unit.home_query(&query(json!({"operator": "=", "value": 1, "lmit": 3}))),
        "unknown query option \"lmit\"",
    );
    fails_with(
        unit.home_query(&json!({"table": "missing", "field": "v", "operator": "=", "value": 1})),
        "_home.missing does not exist",
    );
    fails_with(
        unit.home_query(&json!({"table": "n.x", "field": "v", "operator": "=", "value": 1})),
        "_home.n is a number, not a table",
    );
    fails_with(unit.home_create_index("f", "v", IndexKind::Btree), "_home.f is a function, not a table");
    fails_with(unit.home_create_index("n.deeper", "v", IndexKind::Btree), "_home.n is a number, not a table");
    fails_with(unit.compute("require('home').createIndex('t', 'v', 'skiplist')"), "unknown index type 'skiplist'");
    fails_with(
        unit.home_set_schema("t", &json!({"v": {"type": "number", "maxLength": 3}})),
        "unknown rule 'maxLength'",
    );
    fails_with(unit.home_set_schema("t", &json!({"v": {"type": "numeric"}})), "unknown type 'numeric'");
    fails_with(unit.home_set_schema("t", &json!({"v": {"pattern": "[a-z"}})), "missing ']'");
    fails_with(unit.home_set_schema("t", &json!({"v": {"pattern": "(a"}})), "unfinished capture");
    fails_with(unit.home_set_schema("t", &json!({"v": {"pattern": "a%"}})), "ends with '%'");
    fails_with(unit.home_set_schema("t", &json!({"v": {"min": 5, "max": 1}})), "min 5 is above max 1");
    // Nothing was written, and the unit goes on.
    assert!(unit.home_indexes().expect("lists").is_empty());
    assert_eq!(unit.home_schema::<Value>("t").expect("reads"), Value::Nil);
    common::assert_alive(&mut unit);
    assert_eq!(keys(&unit.home_query(&query(json!({"operator": "=", "value": 1}))).expect("queries")), ["a"]);
}

#[test]
fn a_value_too_long_to_index_fails_the_call() {
    let store = Store::memory();
    let mut unit = unit_on(&store);
    unit.home_create_index("docs", "title", IndexKind::Btree).expect("indexes");
    fails_with(
        unit.compute("_home.docs = { a = { title = string.rep('x', 2000) } }"),
        "_home.docs.a.title cannot be indexed",
    );
    assert_eq!(one(&mut unit, "return _home.docs"), Value::Nil, "nothing was written");
    run(&mut unit, "_home.docs = { a = { title = string.rep('x', 1000) } }");
    assert_eq!(unit.home_check_indexes().expect("checks"), Vec::<String>::new());
}

#[test]
fn numbers_of_every_kind_compare_by_value() {
    let store = Store::memory();
    let mut unit = unit_on(&store);
    run(
        &mut unit,
        "
        local big = require('bigint').new
        _home.n = {
            a = { v = 1 }, b = { v = 1.0 }, c = { v = 1.5 }, d = { v = big('100000000000000000000') },
            e = { v = -big('100000000000000000000') }, f = { v = math.maxinteger }, g = { v = 2^63 },
            h = { v = -math.huge }, i = { v = 0/0 }, j = { v = -0.0 }, k = { v = 0 },
        }
    ",
    );
    for indexed in [false, true] {
        if indexed {
            unit.home_create_index("n", "v", IndexKind::Btree).expect("indexes");
        }
        let all = unit
            .home_query(&json!({"table": "n", "field": "v", "operator": ">", "value": -1e300, "limit": 100}))
            .expect("queries");
        assert_eq!(keys(&all), ["e", "j", "k", "a", "b", "c", "f", "g", "d"], "indexed: {indexed}");
        let ones = unit.home_query(&json!({"table": "n", "field": "v", "operator": "=", "value": 1})).expect("queries");
        assert_eq!(keys(&ones), ["a", "b"], "1 and 1.0 are equal");
        let not_one =
            unit.home_query(&json!({"table": "n", "field": "v", "operator": "!=", "value": 1.0})).expect("queries");
        assert_eq!(keys(&not_one), ["h", "e", "j", "k", "c", "f", "g", "d"], "NaN matches nothing");
    }
}
