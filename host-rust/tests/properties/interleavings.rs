//! Two units on one store take turns at random `_home` operations — host operations and Lua
//! code, nested tables, tables shared by two keys, closures with a counter, snapshots — and every
//! result, and what a third unit reads at the end, matches a model held in plain Rust
//! (docs/HOME.md: references not copies, each call starts from the store, host paths make missing
//! tables on `set` and read nil through them on `get`).

use std::collections::BTreeMap;

use cu::{Store, Unit, Value};
use proptest::collection::vec;
use proptest::prelude::*;

use crate::common::backends::unit_on;
use crate::generate::{normalize, same};

const KEYS: [&str; 3] = ["a", "b", "c"];
const FIELDS: [&str; 3] = ["x", "y", "z"];
const FUNCTIONS: [&str; 2] = ["f", "g"];
const SNAPSHOTS: [&str; 2] = ["s1", "s2"];

/// What a top-level key is given: a scalar, or a table of fields.
#[derive(Clone, Debug)]
enum Top {
    Scalar(Value),
    Table(Vec<(usize, Value)>),
}

#[derive(Clone, Debug)]
enum Op {
    /// `home_set(key, value)` or `_home.key = value` in Lua.
    Set {
        key: usize,
        value: Top,
        lua: bool,
    },
    /// `home_set(key.field, value)` or `_home.key.field = value`.
    SetField {
        key: usize,
        field: usize,
        value: Value,
        lua: bool,
    },
    /// `home_delete(key.field)` or `_home.key.field = nil`.
    DeleteField {
        key: usize,
        field: usize,
        lua: bool,
    },
    /// `home_delete(key)` or `_home.key = nil`.
    Delete {
        key: usize,
        lua: bool,
    },
    /// `_home.to = _home.from`: one table under two keys.
    Alias {
        to: usize,
        from: usize,
    },
    /// `home_get(key)` or `return _home.key`.
    Get {
        key: usize,
        lua: bool,
    },
    /// `home_get(key.field)` or `return _home.key.field`.
    GetField {
        key: usize,
        field: usize,
        lua: bool,
    },
    /// A new closure over a fresh counter.
    Define {
        function: usize,
    },
    /// Calls it: the counter goes up by one.
    Call {
        function: usize,
    },
    /// `_home.to = _home.from` for functions: one counter under two keys.
    Share {
        to: usize,
        from: usize,
    },
    Save {
        name: usize,
    },
    Restore {
        name: usize,
    },
}

fn small_value() -> impl Strategy<Value = Value> {
    crate::generate::scalar().prop_recursive(2, 8, 3, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..3).prop_map(Value::Array),
            vec((crate::generate::key(), inner), 0..3)
                .prop_map(|entries| Value::Map(crate::generate::distinct_keys(entries)))
                .prop_filter("a bigint's marker map is a bigint", |map| !crate::generate::is_marker(map)),
        ]
    })
}

/// A value for a top-level key: integers, floats, strings and booleans (nil deletes; a bigint is
/// a userdata, which indexing treats differently again), or a table of fields.
fn top() -> impl Strategy<Value = Top> {
    let scalar = prop_oneof![
        any::<bool>().prop_map(Value::Boolean),
        crate::generate::integer().prop_map(Value::Integer),
        crate::generate::float().prop_map(Value::Float),
        "[a-z]{0,4}".prop_map(Value::from),
    ];
    prop_oneof![
        1 => scalar.prop_map(Top::Scalar),
        2 => vec((0..FIELDS.len(), small_value()), 0..3).prop_map(|mut fields| {
            fields.sort_by_key(|(f, _)| *f);
            fields.dedup_by_key(|(f, _)| *f);
            Top::Table(fields)
        }),
    ]
}

fn non_nil() -> impl Strategy<Value = Value> {
    small_value().prop_filter("nil deletes", |v| *v != Value::Nil)
}

fn op() -> impl Strategy<Value = Op> {
    let key = || 0..KEYS.len();
    let field = || 0..FIELDS.len();
    let function = || 0..FUNCTIONS.len();
    let name = || 0..SNAPSHOTS.len();
    prop_oneof![
        4 => (key(), top(), any::<bool>()).prop_map(|(key, value, lua)| Op::Set { key, value, lua }),
        4 => (key(), field(), non_nil(), any::<bool>()).prop_map(|(key, field, value, lua)| Op::SetField { key, field, value, lua }),
        1 => (key(), field(), any::<bool>()).prop_map(|(key, field, lua)| Op::DeleteField { key, field, lua }),
        1 => (key(), any::<bool>()).prop_map(|(key, lua)| Op::Delete { key, lua }),
        2 => (key(), key()).prop_map(|(to, from)| Op::Alias { to, from }),
        3 => (key(), any::<bool>()).prop_map(|(key, lua)| Op::Get { key, lua }),
        2 => (key(), field(), any::<bool>()).prop_map(|(key, field, lua)| Op::GetField { key, field, lua }),
        1 => function().prop_map(|function| Op::Define { function }),
        2 => function().prop_map(|function| Op::Call { function }),
        1 => (function(), function()).prop_map(|(to, from)| Op::Share { to, from }),
        1 => name().prop_map(|name| Op::Save { name }),
        1 => name().prop_map(|name| Op::Restore { name }),
    ]
}

#[derive(Clone, Debug)]
enum Slot {
    Scalar(Value),
    Table(usize),
}

/// What `_home` holds: tables by id (so that two keys can hold one), closures by counter id.
#[derive(Clone, Debug, Default)]
struct State {
    data: BTreeMap<usize, Slot>,
    tables: Vec<BTreeMap<usize, Value>>,
    functions: BTreeMap<usize, usize>,
    counters: Vec<i64>,
}

impl State {
    fn value(&self, key: usize) -> Value {
        match self.data.get(&key) {
            None => Value::Nil,
            Some(Slot::Scalar(value)) => value.clone(),
            Some(Slot::Table(id)) => Value::Map(
                self.tables[*id].iter().map(|(field, value)| (Value::from(FIELDS[*field]), value.clone())).collect(),
            ),
        }
    }

    fn put(&mut self, key: usize, top: &Top) {
        let slot = match top {
            Top::Scalar(value) => Slot::Scalar(value.clone()),
            Top::Table(fields) => {
                self.tables.push(fields.iter().map(|(f, v)| (*f, normalize(v))).collect());
                Slot::Table(self.tables.len() - 1)
            }
        };
        self.data.insert(key, slot);
    }
}

/// The outcome of one operation: an error (its text is not modelled), or the values it gives.
type Outcome = Result<Vec<Value>, String>;

/// Applies `op` to the model; gives what the unit should answer, `Err(())` for "an error".
fn model(state: &mut State, snapshots: &mut BTreeMap<usize, State>, op: &Op) -> Result<Vec<Value>, ()> {
    let table = |state: &State, key: usize| match state.data.get(&key) {
        None => Ok(None),
        Some(Slot::Table(id)) => Ok(Some(*id)),
        Some(Slot::Scalar(value)) => Err(value.clone()),
    };
    match op {
        Op::Set { key, value, .. } => state.put(*key, value),
        Op::SetField { key, field, value, lua } => match table(state, *key) {
            Ok(Some(id)) => drop(state.tables[id].insert(*field, normalize(value))),
            // The host makes the missing table; in Lua, `_home.a.x = v` indexes nil.
            Ok(None) if !lua => state.put(*key, &Top::Table(vec![(*field, value.clone())])),
            _ => return Err(()),
        },
        Op::DeleteField { key, field, lua } => match table(state, *key) {
            Ok(Some(id)) => drop(state.tables[id].remove(field)),
            Ok(None) if !lua => {}
            _ => return Err(()),
        },
        Op::Delete { key, .. } => drop(state.data.remove(key)),
        Op::Alias { to, from } => match state.data.get(from).cloned() {
            Some(slot) => drop(state.data.insert(*to, slot)),
            None => drop(state.data.remove(to)),
        },
        Op::Get { key, .. } => return Ok(vec![state.value(*key)]),
        Op::GetField { key, field, lua } => {
            return match table(state, *key) {
                Ok(Some(id)) => Ok(vec![state.tables[id].get(field).cloned().unwrap_or(Value::Nil)]),
                Ok(None) if !lua => Ok(vec![Value::Nil]),
                // A string's fields are the string library's: `("s").x` is nil.
                Err(Value::String(_)) if *lua => Ok(vec![Value::Nil]),
                _ => Err(()),
            };
        }
        Op::Define { function } => {
            state.counters.push(0);
            state.functions.insert(*function, state.counters.len() - 1);
        }
        Op::Call { function } => {
            let id = *state.functions.get(function).ok_or(())?;
            state.counters[id] += 1;
            return Ok(vec![Value::Integer(state.counters[id])]);
        }
        Op::Share { to, from } => match state.functions.get(from).copied() {
            Some(id) => drop(state.functions.insert(*to, id)),
            None => drop(state.functions.remove(to)),
        },
        Op::Save { name } => drop(snapshots.insert(*name, state.clone())),
        Op::Restore { name } => *state = snapshots.get(name).ok_or(())?.clone(),
    }
    Ok(Vec::new())
}

fn top_value(top: &Top) -> Value {
    match top {
        Top::Scalar(value) => value.clone(),
        Top::Table(fields) => Value::Map(fields.iter().map(|(f, v)| (Value::from(FIELDS[*f]), v.clone())).collect()),
    }
}

/// Runs `op` on `unit`.
fn run(unit: &mut Unit, op: &Op) -> Outcome {
    let error = |e: cu::Error| format!("{e:?}");
    let lua = |unit: &mut Unit, input: Option<&Value>, code: String| -> Outcome {
        if let Some(input) = input {
            unit.set_input(input).map_err(error)?;
        }
        unit.compute(&code).map(|outcome| outcome.values).map_err(error)
    };
    let none = |result: cu::Result<()>| result.map(|()| Vec::new()).map_err(error);
    match op {
        Op::Set { key, value, lua: true } => {
            lua(unit, Some(&top_value(value)), format!("_home.{} = _io.input", KEYS[*key]))
        }
        Op::Set { key, value, lua: false } => none(unit.home_set(KEYS[*key], &top_value(value))),
        Op::SetField { key, field, value, lua: true } => {
            lua(unit, Some(value), format!("_home.{}.{} = _io.input", KEYS[*key], FIELDS[*field]))
        }
        Op::SetField { key, field, value, lua: false } => {
            none(unit.home_set(&format!("{}.{}", KEYS[*key], FIELDS[*field]), value))
        }
        Op::DeleteField { key, field, lua: true } => {
            lua(unit, None, format!("_home.{}.{} = nil", KEYS[*key], FIELDS[*field]))
        }
        Op::DeleteField { key, field, lua: false } => {
            none(unit.home_delete(&format!("{}.{}", KEYS[*key], FIELDS[*field])))
        }
        Op::Delete { key, lua: true } => lua(unit, None, format!("_home.{} = nil", KEYS[*key])),
        Op::Delete { key, lua: false } => none(unit.home_delete(KEYS[*key])),
        Op::Alias { to, from } => lua(unit, None, format!("_home.{} = _home.{}", KEYS[*to], KEYS[*from])),
        Op::Get { key, lua: true } => lua(unit, None, format!("return _home.{}", KEYS[*key])),
        Op::Get { key, lua: false } => unit.home_get::<Value>(KEYS[*key]).map(|v| vec![v]).map_err(error),
        Op::GetField { key, field, lua: true } => {
            lua(unit, None, format!("return _home.{}.{}", KEYS[*key], FIELDS[*field]))
        }
        Op::GetField { key, field, lua: false } => {
            unit.home_get::<Value>(&format!("{}.{}", KEYS[*key], FIELDS[*field])).map(|v| vec![v]).map_err(error)
        }
        Op::Define { function } => {
            lua(unit, None, format!("local n = 0 function _home.{}() n = n + 1 return n end", FUNCTIONS[*function]))
        }
        Op::Call { function } => lua(unit, None, format!("return _home.{}()", FUNCTIONS[*function])),
        Op::Share { to, from } => lua(unit, None, format!("_home.{} = _home.{}", FUNCTIONS[*to], FUNCTIONS[*from])),
        Op::Save { name } => unit.save_snapshot(SNAPSHOTS[*name]).map(|_| Vec::new()).map_err(error),
        Op::Restore { name } => unit.restore_snapshot(SNAPSHOTS[*name]).map(|_| Vec::new()).map_err(error),
    }
}

fn agree(actual: &Outcome, expected: &Result<Vec<Value>, ()>) -> bool {
    match (actual, expected) {
        (Ok(a), Ok(e)) => a.len() == e.len() && a.iter().zip(e).all(|(a, e)| same(a, &normalize(e))),
        (Err(_), Err(())) => true,
        _ => false,
    }
}

fn interleavings(name: &str, store: impl Fn() -> Store) {
    crate::check(name, 96, vec((0..2usize, op()), 1..24), |ops| {
        let store = store();
        let mut units = [unit_on(&store), unit_on(&store)];
        let (mut state, mut snapshots) = (State::default(), BTreeMap::new());
        for (step, (which, op)) in ops.iter().enumerate() {
            let expected = model(&mut state, &mut snapshots, op);
            let actual = run(&mut units[*which], op);
            prop_assert!(
                agree(&actual, &expected),
                "step {} (unit {}): {:?}\n  cu:    {:?}\n  model: {:?}",
                step,
                which,
                op,
                actual,
                expected
            );
        }
        // A third unit reads what the two left.
        let mut reader = unit_on(&store);
        for (key, name) in KEYS.iter().enumerate() {
            let stored = reader.home_get::<Value>(name).map_err(|e| TestCaseError::fail(format!("{name}: {e:?}")))?;
            let expected = normalize(&state.value(key));
            prop_assert!(same(&stored, &expected), "at the end, {}: {:?}, model {:?}", name, stored, expected);
        }
        let functions = reader
            .compute("return _home.f ~= nil, _home.g ~= nil, _home.f ~= nil and rawequal(_home.f, _home.g)")
            .map_err(|e| TestCaseError::fail(format!("{e:?}")))?
            .values;
        let (f, g) = (state.functions.get(&0), state.functions.get(&1));
        let expected = [f.is_some(), g.is_some(), f.is_some() && f == g].map(Value::Boolean);
        prop_assert_eq!(functions, expected.to_vec(), "at the end, the functions");
        Ok(())
    });
}

#[test]
fn two_units_match_a_model_in_memory() {
    interleavings("home_interleavings_memory", Store::memory);
}

#[test]
fn two_units_match_a_model_in_sqlite() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let count = std::cell::Cell::new(0);
    interleavings("home_interleavings_sqlite", || {
        count.set(count.get() + 1);
        Store::sqlite(dir.path().join(format!("home-{}.sqlite", count.get())))
    });
}

#[test]
fn two_units_match_a_model_in_redis() {
    let server = crate::common::redis_server::RedisServer::start();
    interleavings("home_interleavings_redis", || {
        let store = Store::redis(&server.url(0)).expect("a Redis URL");
        let everything = cu::Write::DeleteRange(cu::KeyRange::prefix(b""));
        store.commit("home", &[everything], &[]).expect("empties the bucket");
        store
    });
}
