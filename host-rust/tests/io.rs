//! The `_io` channel through the real component: mapping rules both ways, lifetimes, the seeds'
//! examples, the serde API, large inputs and their limits, and conversion errors.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use cu::{Error, LimitKind, StreamProgress, UnitOptions, Value};
use serde::{Deserialize, Serialize};
use serde_json::json;

fn s(text: &str) -> Value {
    Value::from(text)
}

fn map(entries: Vec<(Value, Value)>) -> Value {
    Value::Map(entries)
}

/// Puts `value` in `_io.input`, has Lua copy it to `_io.output`, and reads it back.
fn through_lua(unit: &mut cu::Unit, value: &Value) -> Value {
    unit.set_input(value).expect("sets the input");
    unit.compute("_io.output = _io.input").expect("copies");
    unit.output().expect("reads the output")
}

#[test]
fn scalars_keep_their_exact_type_and_value() {
    let mut unit = common::unit();
    let cases = [
        Value::Integer(i64::MAX),
        Value::Integer(i64::MIN),
        Value::Float(1.0),
        Value::Float(-0.0),
        Value::Float(f64::INFINITY),
        Value::Float(f64::NEG_INFINITY),
        Value::Boolean(false),
        Value::String(vec![0xff, 0, 0xfe, b'a']),
        s("héllo"),
    ];
    for value in cases {
        let wrapped = map(vec![(s("v"), value.clone())]);
        match (through_lua(&mut unit, &wrapped), &value) {
            (Value::Map(entries), Value::Float(x)) => match &entries[0].1 {
                Value::Float(y) => assert_eq!(x.to_bits(), y.to_bits(), "{x} came back as {y}"),
                other => panic!("{x} came back as {other:?}"),
            },
            (back, _) => assert_eq!(back, wrapped),
        }
    }
    let nan = through_lua(&mut unit, &map(vec![(s("v"), Value::Float(f64::NAN))]));
    assert!(matches!(&nan, Value::Map(e) if matches!(e[0].1, Value::Float(x) if x.is_nan())), "{nan:?}");
}

#[test]
fn lua_sees_the_types_the_host_sent() {
    let mut unit = common::unit();
    unit.set_input(&map(vec![
        (s("max"), Value::Integer(i64::MAX)),
        (s("min"), Value::Integer(i64::MIN)),
        (s("one"), Value::Float(1.0)),
        (s("bytes"), Value::String(vec![0xff, 0, 0xfe])),
    ]))
    .expect("sets");
    let values = common::values(
        &mut unit,
        "local i = _io.input
         return math.type(i.max), i.max == math.maxinteger, i.min == math.mininteger, math.type(i.one),
                #i.bytes, i.bytes:byte(1), i.bytes:byte(3)",
    );
    assert_eq!(
        values,
        [
            s("integer"),
            Value::Boolean(true),
            Value::Boolean(true),
            s("float"),
            Value::Integer(3),
            Value::Integer(255),
            Value::Integer(254)
        ]
    );
}

#[test]
fn map_keys_of_every_kind_round_trip() {
    let mut unit = common::unit();
    let value = map(vec![
        (Value::Boolean(false), s("no")),
        (Value::Boolean(true), s("yes")),
        (Value::Integer(-3), s("minus three")),
        (Value::Float(1.5), s("one and a half")),
        (Value::Integer(7), s("seven")),
        (s("name"), s("text")),
    ]);
    assert_eq!(through_lua(&mut unit, &value), value);
    // Lua itself stores a float key with an integral value as an integer key.
    let back = through_lua(&mut unit, &map(vec![(Value::Float(2.0), s("two"))]));
    assert_eq!(back, map(vec![(Value::Integer(2), s("two"))]));
}

#[test]
fn json_null_is_lua_null_and_arrays_keep_their_length() {
    let mut unit = common::unit();
    unit.set_input(&json!({"list": [1, null, 3], "missing": null})).expect("sets");
    let values = common::values(
        &mut unit,
        "local l = _io.input.list
         return #l, l[2] == null, type(null), tostring(null), _io.input.missing == null, null ~= nil",
    );
    assert_eq!(
        values,
        [Value::Integer(3), Value::Boolean(true), s("userdata"), s("null"), Value::Boolean(true), Value::Boolean(true)]
    );
    let back: serde_json::Value = {
        unit.compute("_io.output = _io.input").expect("copies");
        unit.output().expect("reads")
    };
    assert_eq!(back, json!({"list": [1, null, 3], "missing": null}));
    // Root nil is plain nil: `return null` and an unset output both come out as Nil.
    assert_eq!(common::values(&mut unit, "return null"), [Value::Nil]);
}

#[test]
fn arrays_and_maps_follow_the_documented_rule() {
    let mut unit = common::unit();
    unit.set_input(&json!({"empty_array": [], "empty_object": {}, "list": [1, 2]})).expect("sets");
    unit.compute(
        r#"
        local input = _io.input
        table.insert(input.list, 3)
        _io.output = {
            empty_array = input.empty_array,
            empty_object = input.empty_object,
            fresh = {},
            marked = setmetatable({}, {__jsontype = "array"}),
            sparse = setmetatable({[1] = "a", [3] = "c"}, {__jsontype = "array"}),
            object = setmetatable({10, 20}, {__jsontype = "object"}),
            holes = {1, nil, 3},
            list = input.list,
            emptied = (function() local t = input.list; local copy = {table.unpack(t)}; return copy end)(),
        }
    "#,
    )
    .expect("runs");
    let out: serde_json::Value = unit.output().expect("reads");
    assert_eq!(
        out,
        json!({
            "empty_array": [], "empty_object": {}, "fresh": {}, "marked": [], "sparse": ["a", null, "c"],
            "object": {"1": 10, "2": 20}, "holes": {"1": 1, "3": 3}, "list": [1, 2, 3], "emptied": [1, 2, 3],
        })
    );
    let output: Value = unit.output().expect("reads");
    let Value::Map(entries) = output else { panic!("{output:?}") };
    let get = |name: &str| entries.iter().find(|(k, _)| *k == s(name)).map(|(_, v)| v.clone());
    assert_eq!(get("empty_array"), Some(Value::Array(vec![])));
    assert_eq!(get("fresh"), Some(Value::Map(vec![])));
}

#[test]
fn input_tables_behave_like_ordinary_tables() {
    let mut unit = common::unit();
    unit.set_input(&json!({"scores": [30, 10, 20], "by_name": {"a": 1, "b": 2}})).expect("sets");
    let values = common::values(
        &mut unit,
        r#"
        local scores = _io.input.scores
        table.insert(scores, 5)
        table.sort(scores)
        local n = 0
        for k, v in pairs(_io.input.by_name) do n = n + v end
        local seen = {}
        for i, v in ipairs(scores) do seen[#seen + 1] = v end
        return #scores, table.concat(seen, ","), n
        "#,
    );
    assert_eq!(values, [Value::Integer(4), s("5,10,20,30"), Value::Integer(3)]);
}

#[test]
fn nesting_deep_enough_converts_and_too_deep_is_an_error() {
    let mut unit = common::unit();
    let mut deep = json!(1);
    for _ in 0..300 {
        deep = json!([deep]);
    }
    unit.set_input(&deep).expect("300 levels go in");
    unit.compute("_io.output = _io.input").expect("copies");
    let back: serde_json::Value = unit.output().expect("300 levels come out");
    assert_eq!(back, deep);

    unit.compute("local t = {} local top = t for i = 1, 600 do t[1] = {} t = t[1] end _io.output = top").expect("runs");
    match unit.output::<Value>() {
        Err(Error::Conversion { path, reason }) => {
            assert!(path.starts_with("_io.output[1][1]"), "{path}");
            assert!(reason.contains("deeper than 512"), "{reason}");
        }
        other => panic!("expected a conversion error, got {other:?}"),
    }
    common::assert_alive(&mut unit);
}

#[test]
fn what_cannot_cross_names_its_path() {
    let mut unit = common::unit();
    let cases = [
        ("_io.output = {a = {b = print}}", "_io.output.a.b", "is a function"),
        ("local t = {} t.self = t _io.output = {t}", "_io.output[1].self", "cycle"),
        ("_io.output = {co = coroutine.create(print)}", "_io.output.co", "is a thread"),
        ("_io.output = {[{}] = 1}", "_io.output", "table as a key"),
        ("_io.output = setmetatable({x = 1}, {__jsontype = 'array'})", "_io.output", "marked as an array"),
        ("_io.output = setmetatable({[1000] = 1}, {__jsontype = 'array'})", "_io.output", "too sparse"),
        ("_io.output = setmetatable({}, {__jsontype = 'list'})", "_io.output", "must be \"array\" or \"object\""),
    ];
    for (code, want_path, want_reason) in cases {
        unit.compute(code).expect("runs");
        match unit.output::<Value>() {
            Err(Error::Conversion { path, reason }) => {
                assert_eq!(path, want_path, "{code}");
                assert!(reason.contains(want_reason), "{code}: {reason}");
            }
            other => panic!("{code}: expected a conversion error, got {other:?}"),
        }
    }
    common::assert_alive(&mut unit);
}

#[test]
fn lifetimes_of_input_output_and_meta() {
    let mut unit = common::unit();
    unit.set_input(&json!({"n": 1})).expect("sets input");
    unit.set_meta(&json!({"request": "r-1"})).expect("sets meta");
    unit.compute("_io.output = _io.input.n + 1").expect("runs");
    assert_eq!(unit.output::<i64>().expect("reads"), 2);
    assert_eq!(unit.output::<i64>().expect("reads again"), 2, "output stays readable until the next call");

    // The next call starts without the last output; input and meta stay, with Lua's changes.
    unit.compute("_io.input.n = _io.input.n * 10 _io.meta.seen = true").expect("runs");
    assert_eq!(unit.output::<Value>().expect("reads"), Value::Nil);
    assert_eq!(unit.input::<serde_json::Value>().expect("reads input"), json!({"n": 10}));
    assert_eq!(unit.meta::<serde_json::Value>().expect("reads meta"), json!({"request": "r-1", "seen": true}));

    unit.set_input_field("extra", &[1, 2]).expect("sets a field");
    assert_eq!(unit.input::<serde_json::Value>().expect("reads"), json!({"n": 10, "extra": [1, 2]}));

    unit.compute("_io.output = {a = 1}").expect("runs");
    assert_eq!(unit.output_field::<Option<i64>>("a").expect("reads a field"), Some(1));
    assert_eq!(unit.output_field::<Option<i64>>("b").expect("reads a missing field"), None);

    unit.clear_io().expect("clears");
    assert_eq!(unit.input::<Value>().expect("reads"), Value::Nil);
    assert_eq!(unit.output::<Value>().expect("reads"), Value::Nil);
    assert_eq!(unit.meta::<Value>().expect("reads"), Value::Nil);

    // A field of a missing input makes the input a table; of a non-table input it is an error.
    unit.set_input_field("k", "v").expect("sets a field of nothing");
    assert_eq!(unit.input::<serde_json::Value>().expect("reads"), json!({"k": "v"}));
    unit.set_input(&5).expect("sets a number");
    match unit.set_input_field("k", "v") {
        Err(Error::Runtime { message, .. }) => {
            assert!(message.contains("_io.input: it is a number"), "{message}")
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

#[test]
fn a_script_that_replaces_io_is_read_and_one_that_destroys_it_gets_a_fresh_one() {
    let mut unit = common::unit();
    unit.compute("_io = {output = 'replaced'}").expect("runs");
    assert_eq!(unit.output::<String>().expect("reads"), "replaced");
    unit.compute("_io = 42").expect("runs");
    assert_eq!(unit.output::<Value>().expect("reads"), Value::Nil);
    unit.set_input(&json!([1])).expect("sets");
    assert_eq!(common::values(&mut unit, "return type(_io), #_io.input"), [s("table"), Value::Integer(1)]);
}

#[derive(Serialize)]
struct User {
    id: i64,
    name: String,
    score: i64,
}

#[derive(Debug, Deserialize, PartialEq)]
struct HighScorer {
    name: String,
    score: i64,
}

#[derive(Debug, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
struct HighScorers {
    high_scorers: Vec<HighScorer>,
    count: u32,
}

#[test]
fn seed_high_scorers() {
    let mut unit = common::unit();
    let users = vec![
        User { id: 1, name: "Alice".into(), score: 95 },
        User { id: 2, name: "Bob".into(), score: 87 },
        User { id: 3, name: "Charlie".into(), score: 92 },
    ];
    unit.set_input(&json!({"users": users, "threshold": 90})).expect("sets");
    unit.compute(
        r#"
        local users = _io.input.users
        local threshold = _io.input.threshold
        local highScorers = {}
        for i, user in ipairs(users) do
          if user.score >= threshold then
            table.insert(highScorers, { name = user.name, score = user.score })
          end
        end
        _io.output = { highScorers = highScorers, count = #highScorers }
    "#,
    )
    .expect("runs");
    let result: HighScorers = unit.output().expect("reads");
    assert_eq!(
        result,
        HighScorers {
            high_scorers: vec![
                HighScorer { name: "Alice".into(), score: 95 },
                HighScorer { name: "Charlie".into(), score: 92 }
            ],
            count: 2,
        }
    );
}

#[test]
fn seed_sum_and_average_with_compute_with_io() {
    let mut unit = common::unit();
    unit.set_meta(&json!({"requestId": "req-123"})).expect("sets meta");
    let result = unit
        .compute_with_io(
            r#"
            local data = _io.input.dataset
            local sum = 0
            for i, v in ipairs(data) do sum = sum + v end
            _io.output = { sum = sum, average = sum / #data }
            return "done"
            "#,
            &json!({"dataset": [10, 20, 30, 40, 50]}),
        )
        .expect("runs");
    assert_eq!(result.values, [s("done")]);
    assert_eq!(result.output, map(vec![(s("average"), Value::Float(30.0)), (s("sum"), Value::Integer(150))]));
    assert_eq!(result.meta, map(vec![(s("requestId"), s("req-123"))]));
}

#[test]
fn seed_request_calls_a_lua_function() {
    let mut unit = common::unit();
    unit.compute(
        "function calculateStats(params)
           local sum = 0
           for _, v in ipairs(params.data) do sum = sum + v end
           return { sum = sum }
         end",
    )
    .expect("defines");
    let result: BTreeMap<String, i64> =
        unit.request("calculateStats", &json!({"data": [1, 2, 3, 4, 5]})).expect("calls");
    assert_eq!(result, BTreeMap::from([("sum".to_string(), 15)]));
    match unit.request::<_, Value>("noSuchMethod", &json!({})) {
        Err(Error::Runtime { message, .. }) => assert!(message.contains("'noSuchMethod' is not defined"), "{message}"),
        other => panic!("expected an error, got {other:?}"),
    }
}

#[derive(Serialize)]
struct Item {
    id: u32,
    value: f64,
}

#[derive(Debug, Deserialize, PartialEq)]
struct Doubled {
    id: u32,
    doubled: f64,
}

#[test]
fn seed_process_stream_in_batches_with_progress() {
    let mut unit = common::unit();
    let items: Vec<Item> = (0..10_000).map(|i| Item { id: i, value: f64::from(i) / 4.0 }).collect();
    let mut seen = Vec::new();
    let outputs: Vec<Vec<Doubled>> = unit
        .process_stream(
            r#"
            local batch = _io.input.batch
            local processed = {}
            for i, item in ipairs(batch) do
              processed[i] = { id = item.id, doubled = item.value * 2 }
            end
            _io.output = processed
            "#,
            items,
            1000,
            |progress| seen.push(progress),
        )
        .expect("streams");
    assert_eq!(outputs.len(), 10);
    let all: Vec<Doubled> = outputs.into_iter().flatten().collect();
    assert_eq!(all.len(), 10_000);
    assert_eq!(all[4321], Doubled { id: 4321, doubled: 4321.0 / 2.0 });
    assert_eq!(seen.len(), 10);
    let last = seen.last().copied().expect("progress was reported");
    assert_eq!((last.batches, last.items, last.total), (10, 10_000, Some(10_000)));
    assert!(seen.windows(2).all(|w: &[StreamProgress]| w[0].items < w[1].items));
}

#[test]
fn a_failing_batch_names_itself() {
    let mut unit = common::unit();
    let result = unit.process_stream::<_, Value, _>(
        "for _, v in ipairs(_io.input.batch) do if v == 7 then error('bad item ' .. v) end end _io.output = #_io.input.batch",
        1..=10,
        3,
        |_| {},
    );
    match result {
        Err(Error::Batch { batch, items, source }) => {
            assert_eq!((batch, items), (3, 7..=9));
            assert!(
                matches!(*source, Error::Runtime { ref message, .. } if message.contains("bad item 7")),
                "{source:?}"
            );
        }
        other => panic!("expected a batch error, got {other:?}"),
    }
    common::assert_alive(&mut unit);
}

#[test]
fn serde_errors_name_the_path_in_lua_terms() {
    let mut unit = common::unit();
    unit.compute("_io.output = {{id = 1, doubled = 2}, {id = 2, doubled = 4}, {id = 'three', doubled = 6}}")
        .expect("runs");
    match unit.output::<Vec<Doubled>>() {
        Err(Error::Conversion { path, reason }) => {
            assert_eq!(path, "_io.output[3].id");
            assert!(reason.contains("\"three\""), "{reason}");
        }
        other => panic!("expected a conversion error, got {other:?}"),
    }
    #[derive(Serialize)]
    struct Big {
        big: u64,
    }
    // An integer past 64 bits arrives as a Lua bigint, exactly.
    unit.set_input(&Big { big: u64::MAX }).expect("sets");
    let big = unit.compute("return tostring(_io.input.big), require('bigint').isbigint(_io.input.big)").expect("runs");
    assert_eq!(big.values, [Value::from("18446744073709551615"), Value::Boolean(true)]);
    // Integral floats fill integer fields; an empty Lua table fills a sequence.
    unit.compute("_io.output = {id = 3.0, doubled = 1, list = {}}").expect("runs");
    #[derive(Deserialize)]
    struct Loose {
        id: u32,
        doubled: f64,
        list: Vec<i32>,
    }
    let loose: Loose = unit.output().expect("converts");
    assert_eq!((loose.id, loose.doubled, loose.list.len()), (3, 1.0, 0));
}

#[test]
fn strings_come_out_as_text_or_bytes() {
    let mut unit = common::unit();
    unit.compute("_io.output = {text = 'ok', raw = '\\255\\0'}").expect("runs");
    #[derive(Deserialize)]
    struct Text {
        text: String,
    }
    assert_eq!(unit.output::<Text>().expect("text").text, "ok");
    assert_eq!(unit.output_field::<Value>("raw").expect("bytes"), Value::String(vec![255, 0]));
    match unit.output_field::<String>("raw") {
        Err(Error::Conversion { path, .. }) => assert_eq!(path, "_io.output.raw"),
        other => panic!("non-UTF-8 bytes are not a String: {other:?}"),
    }
}

/// 500,000 records `{id, name, score, tags}` (50 MB as JSON) in, filtered in Lua, a large output
/// back.
#[test]
fn half_a_million_records_round_trip() {
    let options = UnitOptions::default().memory_limit(1 << 30).time_limit(Some(Duration::from_secs(60)));
    let mut unit = common::unit_with(options);
    #[derive(Serialize)]
    struct Record {
        id: u32,
        name: String,
        score: u32,
        tags: [&'static str; 4],
    }
    let records: Vec<Record> = (0..500_000)
        .map(|i| Record {
            id: i,
            name: format!("record number {i:>12}"),
            score: i % 100,
            tags: ["alpha", "beta", "gamma", "delta"],
        })
        .collect();
    let json_size = serde_json::to_vec(&records).expect("serializes").len();
    assert!(json_size > 50_000_000, "the input is {json_size} bytes of JSON");
    unit.set_input(&json!({"records": records})).expect("50 MB goes in");
    unit.compute(
        "local out = {}
         for _, r in ipairs(_io.input.records) do
           if r.score >= 50 then out[#out + 1] = {id = r.id, tag = r.tags[2], name = r.name} end
         end
         _io.output = out",
    )
    .expect("filters");
    #[derive(Deserialize)]
    struct Kept {
        id: u32,
        tag: String,
        name: String,
    }
    let kept: Vec<Kept> = unit.output().expect("a large output comes back");
    assert_eq!(kept.len(), 250_000);
    let last = kept.last().expect("records");
    assert_eq!((last.id, last.tag.as_str(), last.name.as_str()), (499_999, "beta", "record number       499999"));
}

#[test]
fn an_input_over_the_memory_limit_is_a_clear_error_and_loses_nothing() {
    let mut unit = common::unit_with(UnitOptions::default().memory_limit(16 << 20));
    unit.compute("kept = 'still here'").expect("runs");
    unit.set_input(&json!({"small": true})).expect("a small input fits");
    let big: Vec<String> = (0..400_000).map(|i| format!("item {i:>30}")).collect();
    match unit.set_input(&big) {
        Err(Error::Limit { kind: LimitKind::Memory, message, reset }) => {
            assert!(message.contains("memory"), "{message}");
            assert!(!reset, "the unit should not need a reset");
        }
        other => panic!("expected a memory limit error, got {other:?}"),
    }
    assert_eq!(common::values(&mut unit, "return kept, _io.input.small"), [s("still here"), Value::Boolean(true)]);
}
