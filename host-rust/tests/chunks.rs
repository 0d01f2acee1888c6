//! Code given again: the unit keeps the chunks it compiled last (guest/src/chunks.rs), and a kept
//! chunk must run exactly as a freshly compiled one.

mod common;

use cu::{Error, Value};

#[test]
fn a_chunk_that_replaced_its_environment_runs_again_with_the_globals() {
    let mut unit = common::unit();
    let code = "n = (n or 0) + 1; _ENV = {}; return 1";
    for _ in 0..3 {
        assert_eq!(common::values(&mut unit, code), vec![Value::Integer(1)]);
    }
    assert_eq!(common::values(&mut unit, "return n"), vec![Value::Integer(3)]);
}

#[test]
fn locals_and_varargs_are_fresh_each_run() {
    let mut unit = common::unit();
    let code = "local t = {...}; t[#t + 1] = 'x'; return #t, select('#', ...)";
    for _ in 0..3 {
        assert_eq!(common::values(&mut unit, code), vec![Value::Integer(1), Value::Integer(0)]);
    }
}

#[test]
fn the_same_code_under_another_name_reports_that_name() {
    let mut unit = common::unit();
    for name in ["a.lua", "b.lua", "a.lua"] {
        match unit.compute_named(name, "error('stop')") {
            Err(Error::Runtime { message, .. }) => assert_eq!(message, format!("{name}:1: stop")),
            other => panic!("expected a runtime error from {name}, got {other:?}"),
        }
    }
}

#[test]
fn many_chunks_in_turn_and_a_reset_between() {
    let mut unit = common::unit();
    // More distinct chunks than are kept, each run twice in a row and again after the others.
    let codes: Vec<String> = (0..20).map(|i| format!("count = (count or 0) + 1; return {i}")).collect();
    for round in 0..2 {
        for (i, code) in codes.iter().enumerate() {
            assert_eq!(common::values(&mut unit, code), vec![Value::Integer(i as i64)], "round {round}");
            assert_eq!(common::values(&mut unit, code), vec![Value::Integer(i as i64)], "round {round}");
        }
    }
    assert_eq!(common::values(&mut unit, "return count"), vec![Value::Integer(80)]);

    unit.reset().expect("resets");
    assert_eq!(common::values(&mut unit, &codes[0]), vec![Value::Integer(0)]);
    assert_eq!(common::values(&mut unit, "return count"), vec![Value::Integer(1)], "a fresh state, a fresh count");
}

#[test]
fn code_that_does_not_compile_fails_every_time() {
    let mut unit = common::unit();
    for _ in 0..2 {
        assert!(matches!(unit.compute("return +"), Err(Error::Syntax { .. })));
    }
    common::assert_alive(&mut unit);
}

#[test]
fn kept_chunks_hold_heap_only_until_a_memory_error() {
    let mut unit = common::unit_with(cu::UnitOptions::default().memory_limit(4 << 20));
    let base = unit.collect_garbage().expect("collects").used;
    // Each chunk's compiled form holds 1,500 constants.
    let constants = (0..1500).map(|k| format!("{k}.5")).collect::<Vec<_>>().join(",");
    for i in 0..8 {
        let code = format!("local t = {{{constants}}} return {i}");
        assert_eq!(common::values(&mut unit, &code), vec![Value::Integer(i)]);
    }
    let holding = unit.collect_garbage().expect("collects").used;
    assert!(holding > base + 100_000, "8 kept chunks hold {} bytes", holding - base);

    assert!(matches!(unit.compute("return string.rep('x', 8 << 20)"), Err(Error::Limit { .. })));
    let after = unit.collect_garbage().expect("collects").used;
    assert!(after < base + 50_000, "after a memory error, {} bytes beyond the start are held", after - base);
}
