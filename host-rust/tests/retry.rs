//! Calls that fail on a commit conflict are run again when that is exact (docs/HOME.md,
//! "Conflicts"): the user sees one call, or the conflict and why it was not run again.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::backends::{one, run, unit_on};
use common::hooked;
use cu::{Error, Print, Store, StoreErrorKind, Unit, UnitOptions, Value};

/// A store holding `_home.n = 0` where another writer adds 100 to `_home.n` just before each of
/// the first `conflicts` commits made through it, and the count of commits tried through it.
fn contended(conflicts: usize) -> (Store, Arc<AtomicUsize>) {
    let inner = Store::memory();
    run(&mut unit_on(&inner), "_home.n = 0");
    let commits = Arc::new(AtomicUsize::new(0));
    let left = AtomicUsize::new(conflicts);
    let (counted, other) = (commits.clone(), inner.clone());
    let store = hooked::before_commit(inner, move || {
        counted.fetch_add(1, Ordering::SeqCst);
        if left.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok() {
            run(&mut unit_on(&other), "_home.n = _home.n + 100");
        }
    });
    (store, commits)
}

fn unit_with(store: &Store, configure: impl FnOnce(UnitOptions) -> UnitOptions) -> Unit {
    let options =
        UnitOptions::default().memory_limit(64 << 20).time_limit(Some(Duration::from_secs(2))).store(store.clone());
    common::unit_with(configure(options))
}

fn conflict(result: Result<cu::Outcome, Error>) -> String {
    match result {
        Err(error @ Error::Store { kind: StoreErrorKind::Conflict, .. }) => error.to_string(),
        other => panic!("expected a conflict, got {other:?}"),
    }
}

fn int(n: i64) -> Value {
    Value::Integer(n)
}

#[test]
fn a_conflicted_call_runs_again_as_if_once() {
    let (store, commits) = contended(2);
    let mut unit = unit_on(&store);
    // The call's own tables, its output, `_io.output` and `_home` are all the attempt's own.
    let outcome = unit
        .compute(
            "local seen = {} seen[1] = _home.n
             print('read', _home.n)
             _io.output = {seen = seen}
             _home.n = _home.n + 1
             return _home.n",
        )
        .expect("runs");
    assert_eq!(outcome.values, [int(201)], "the last attempt read both other writes");
    assert_eq!(String::from_utf8_lossy(&outcome.printed), "read\t200\n", "only the last attempt's output");
    assert_eq!(commits.load(Ordering::SeqCst), 3, "two conflicts, then the commit");
    assert_eq!(one(&mut unit_on(&store), "return _home.n"), int(201));
}

#[test]
fn a_call_that_loads_a_module_runs_again() {
    let (store, commits) = contended(1);
    let mut unit = unit_on(&store);
    unit.add_module("counter", "local M = {} function M.bump() _home.n = _home.n + 1 return _home.n end return M")
        .expect("adds");
    let outcome = unit.compute("return require('counter').bump()").expect("runs");
    assert_eq!(outcome.values, [int(101)], "run again after the other writer's commit");
    assert_eq!(commits.load(Ordering::SeqCst), 2, "the conflict, then the commit");
    // A module that sets a global while it loads changes state outside `_home`: not run again.
    let (store, _) = contended(1);
    let mut unit = unit_on(&store);
    unit.add_module("noisy", "LOADED_AT = _home.n return {}").expect("adds");
    let message = conflict(unit.compute("require('noisy') _home.n = _home.n + 1"));
    assert!(message.contains("not run again: it changed state outside _home"), "{message}");
}

#[test]
fn a_call_with_arguments_runs_again_on_fresh_copies() {
    let (store, commits) = contended(1);
    let mut unit = unit_on(&store);
    run(&mut unit, "function add(t) t.by = t.by * 2 _home.n = _home.n + t.by return t.by end");
    let before = commits.load(Ordering::SeqCst);
    let outcome = unit.call("add", &[Value::Map(vec![(Value::from("by"), int(1))])]).expect("runs");
    assert_eq!(outcome.values, [int(2)], "the argument was doubled once");
    assert_eq!(commits.load(Ordering::SeqCst) - before, 2);
    assert_eq!(one(&mut unit, "return _home.n"), int(102));
}

#[test]
fn a_call_that_changed_state_outside_home_reports_the_conflict() {
    for (setup, code) in [
        ("", "count = (count or 0) + 1 _home.n = _home.n + 1"),
        ("t = {}", "t.x = (t.x or 0) + 1 _home.n = _home.n + 1"),
        ("local n = 0 function bump() n = n + 1 return n end", "bump() _home.n = _home.n + 1"),
        ("", "local _ = math.random() _home.n = _home.n + 1"),
        ("", "_io.input = 1 _home.n = _home.n + 1"),
        ("co = coroutine.wrap(function() while true do coroutine.yield() end end)", "co() _home.n = _home.n + 1"),
    ] {
        let (store, commits) = contended(1);
        let mut unit = unit_on(&store);
        run(&mut unit, setup);
        let before = commits.load(Ordering::SeqCst);
        let message = conflict(unit.compute(code));
        assert!(message.contains("not run again: it changed state outside _home"), "{code}: {message}");
        assert_eq!(commits.load(Ordering::SeqCst) - before, 1, "{code}: tried once");
    }
    // The global was changed once, by the one attempt.
    let (store, _) = contended(1);
    let mut unit = unit_on(&store);
    conflict(unit.compute("count = (count or 0) + 1 _home.n = _home.n + 1"));
    assert_eq!(run(&mut unit, "return count, _home.n"), [int(1), int(100)]);
}

#[test]
fn streamed_print_output_is_not_run_again() {
    let (store, _) = contended(1);
    let mut unit = unit_with(&store, |options| options.print(Print::Stdout));
    let message = conflict(unit.compute("print('') _home.n = _home.n + 1"));
    assert!(message.contains("not run again"), "{message}");
}

#[test]
fn retries_can_be_turned_off() {
    let (store, commits) = contended(1);
    let mut unit = unit_with(&store, |options| options.retry_conflicts(false));
    let message = conflict(unit.compute("_home.n = _home.n + 1"));
    assert!(message.contains("another writer changed _home data"), "{message}");
    assert!(!message.contains("attempts"), "{message}");
    assert_eq!(commits.load(Ordering::SeqCst), 1);
    run(&mut unit, "_home.n = _home.n + 1");
    assert_eq!(one(&mut unit, "return _home.n"), int(101));
}

#[test]
fn a_call_that_always_conflicts_gives_up() {
    let (store, commits) = contended(usize::MAX);
    let mut unit = unit_on(&store);
    let message = conflict(unit.compute("_home.n = _home.n + 1"));
    assert!(message.contains("after 16 attempts"), "{message}");
    assert_eq!(commits.load(Ordering::SeqCst), 16);
    // Within a short deadline it stops sooner, rather than wait past it.
    let (store, commits) = contended(usize::MAX);
    let mut unit = unit_with(&store, |options| options.time_limit(Some(Duration::from_millis(30))));
    let message = conflict(unit.compute("_home.n = _home.n + 1"));
    let made = commits.load(Ordering::SeqCst);
    assert!(message.contains(&format!("after {made} attempts")) && made < 16, "{made}: {message}");
    common::assert_alive(&mut unit);
}

#[test]
fn host_operations_on_home_are_run_again() {
    let (store, commits) = contended(1);
    let mut unit = unit_on(&store);
    let get = cu::HomeOp::Get { path: "n".into() };
    let set = cu::HomeOp::Set { path: "m".into(), value: int(5) };
    let results = unit.home_batch(&[get, set]).expect("runs");
    assert_eq!(results, [int(100), Value::Nil], "the last attempt read the other write");
    assert_eq!(commits.load(Ordering::SeqCst), 2);
    assert_eq!(run(&mut unit, "return _home.n, _home.m"), [int(100), int(5)]);
}

#[test]
fn only_conflicts_are_run_again() {
    // A store that is down, an error and a limit end the call at its first attempt.
    let commits = Arc::new(AtomicUsize::new(0));
    let counted = commits.clone();
    let down = hooked::Hooked::store(Store::memory(), move |op| match op {
        hooked::Op::Commit => {
            counted.fetch_add(1, Ordering::SeqCst);
            Err(cu::StoreError::Unavailable("the server is down".into()))
        }
        hooked::Op::Read => Ok(()),
    });
    let mut unit = unit_on(&down);
    let failed = unit.compute("_home.n = 1");
    assert!(matches!(failed, Err(Error::Store { kind: StoreErrorKind::Unavailable, .. })), "{failed:?}");
    assert_eq!(commits.load(Ordering::SeqCst), 1);
    let (store, commits) = contended(1);
    let mut unit = unit_with(&store, |options| options.instruction_limit(Some(1000)));
    for code in ["_home.n = _home.n + 1 error('no')", "_home.n = _home.n + 1 while true do end"] {
        assert!(unit.compute(code).is_err(), "{code}");
    }
    assert_eq!(commits.load(Ordering::SeqCst), 0, "a failed call commits nothing");
}
