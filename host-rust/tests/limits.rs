//! Limits seen from the host: how soon a deadline stops a call, the host's backstop, and that a
//! unit is usable (or plainly reset) afterwards.

mod common;

use std::time::{Duration, Instant};

use cu::{Error, LimitKind, UnitOptions};

fn limited(time_ms: u64, memory: u64) -> cu::Unit {
    common::unit_with(UnitOptions::default().time_limit(Some(Duration::from_millis(time_ms))).memory_limit(memory))
}

fn expect_limit(result: cu::Result<cu::Outcome>, want: LimitKind) -> bool {
    match result {
        Err(Error::Limit { kind, reset, .. }) if kind == want => reset,
        other => panic!("expected a {want:?} limit error, got {other:?}"),
    }
}

#[test]
fn an_infinite_loop_stops_within_twice_the_limit() {
    for limit_ms in [100, 500] {
        let mut unit = limited(limit_ms, 64 << 20);
        unit.compute("seen = true").expect("a global is set");
        let started = Instant::now();
        let reset = expect_limit(unit.compute("while true do end"), LimitKind::Time);
        let took = started.elapsed();
        assert!(!reset, "the guest stops the loop itself");
        assert!(took >= Duration::from_millis(limit_ms), "stopped early: {took:?}");
        assert!(took < Duration::from_millis(2 * limit_ms), "a {limit_ms} ms limit took {took:?}");
        // Stopped by the guest: the Lua state, globals included, is intact.
        assert_eq!(common::values(&mut unit, "return seen"), vec![cu::Value::Boolean(true)]);
    }
}

#[test]
fn the_instruction_limit_stops_the_same_code_at_the_same_point() {
    let stopped_at = |before: &str| {
        let mut unit = common::unit_with(UnitOptions::default().instruction_limit(Some(10_000)));
        common::values(&mut unit, before);
        expect_limit(unit.compute("n = 0 while true do n = n + 1 end"), LimitKind::Instructions);
        common::values(&mut unit, "return n")
    };
    // The chunk's entry is the first instruction, each iteration one more: the 10,001st is the
    // jump back after `n` reached 10,000, whatever ran before and however busy the machine.
    assert_eq!(stopped_at("return 1"), [cu::Value::Integer(10_000)]);
    assert_eq!(
        stopped_at("for i = 1, 9000 do end t = {} for i = 1, 100 do t[i] = -i end table.sort(t)"),
        [cu::Value::Integer(10_000)]
    );
}

#[test]
fn the_instruction_limit_composes_with_the_other_limits() {
    let options = UnitOptions::default().instruction_limit(Some(u64::MAX / 2));
    let mut unit = common::unit_with(options.clone().time_limit(Some(Duration::from_millis(100))));
    expect_limit(unit.compute("while true do end"), LimitKind::Time);
    let mut unit = common::unit_with(options.memory_limit(16 << 20));
    expect_limit(unit.compute("local t = {} for i = 1, 1e8 do t[i] = i end"), LimitKind::Memory);
    // Each call has the whole limit; the count restarts.
    let mut unit = common::unit_with(UnitOptions::default().instruction_limit(Some(100)));
    for _ in 0..3 {
        assert_eq!(unit.compute("for i = 1, 99 do end").expect("runs").instructions, 100);
    }
}

#[test]
fn the_deadline_is_per_call() {
    let mut unit = limited(300, 64 << 20);
    for _ in 0..3 {
        // Each call may use most of the limit without the time adding up across calls.
        let outcome = unit.compute("local t = os.clock() while os.clock() - t < 0.2 do end return 1");
        assert!(outcome.is_ok(), "{outcome:?}");
    }
}

#[test]
fn a_long_c_call_is_stopped_by_the_host_and_the_unit_is_reset() {
    // string.rep copies in one C loop that never reaches a tick: only the host's epoch backstop can
    // stop it. It must say so and leave a fresh, working unit.
    let mut unit = limited(5, 1 << 30);
    unit.compute("kept = 'before'").expect("a global is set");
    let reset = expect_limit(unit.compute("return #string.rep('abc', 200000000)"), LimitKind::Time);
    assert!(reset, "the host backstop resets the unit");
    common::assert_alive(&mut unit);
    assert_eq!(common::values(&mut unit, "return kept"), vec![cu::Value::Nil], "a reset unit has no globals");
}

#[test]
fn without_the_backstop_the_guest_still_stops_lua_and_nothing_cuts_a_c_call_short() {
    let scratch = std::env::temp_dir().join(format!("cu-no-backstop-{}", std::process::id()));
    let engine = cu::Engine::builder().cache_dir(&scratch).epoch_backstop(false).build().expect("an engine");
    let options = UnitOptions::default().time_limit(Some(Duration::from_millis(20))).memory_limit(1 << 30);
    let mut unit = engine.unit(options).expect("a unit");
    let started = Instant::now();
    assert!(!expect_limit(unit.compute("while true do end"), LimitKind::Time), "the guest stops Lua itself");
    assert!(started.elapsed() < Duration::from_millis(40), "took {:?}", started.elapsed());
    // The C loop the backstop would stop (see above) runs to its end instead, past the limit.
    let started = Instant::now();
    let outcome = unit.compute("return #string.rep('abc', 70000000)").expect("the copy finishes");
    assert_eq!(outcome.values, vec![cu::Value::Integer(210_000_000)]);
    assert!(started.elapsed() > Duration::from_millis(40), "took only {:?}", started.elapsed());
    let _ = std::fs::remove_dir_all(scratch);
}

#[test]
fn memory_limit_leaves_the_unit_usable() {
    let mut unit = limited(2000, 32 << 20);
    unit.compute("kept = {1, 2, 3}").expect("a global is set");
    expect_limit(unit.compute("local t = {} for i = 1, 1e8 do t[i] = i end"), LimitKind::Memory);
    expect_limit(unit.compute("return string.rep('x', 1 << 30)"), LimitKind::Memory);
    assert_eq!(common::values(&mut unit, "return #kept"), vec![cu::Value::Integer(3)]);
    let stats = unit.collect_garbage().expect("stats");
    assert!(stats.used < 32 << 20, "the garbage of the failed calls is collected: {stats:?}");
    assert_eq!(stats.limit, 32 << 20);
}

#[test]
fn memory_stats_follow_the_heap() {
    let mut unit = common::unit();
    let before = unit.collect_garbage().expect("stats");
    unit.compute("big = string.rep('x', 4 * 1024 * 1024)").expect("allocates");
    let during = unit.memory_stats().expect("stats");
    assert!(during.used >= before.used + 4 * 1024 * 1024, "{before:?} -> {during:?}");
    assert!(during.linear >= during.used);
    unit.compute("big = nil").expect("drops");
    let after = unit.collect_garbage().expect("stats");
    assert!(after.used < during.used - 3 * 1024 * 1024, "{during:?} -> {after:?}");
}

#[test]
fn no_time_limit_means_none() {
    let mut unit = common::unit_with(UnitOptions::default().time_limit(None));
    let outcome = unit.compute("local t = os.clock() while os.clock() - t < 0.3 do end return 'done'");
    assert_eq!(outcome.expect("runs").values, vec![cu::Value::from("done")]);
}

#[test]
fn reset_drops_globals() {
    let mut unit = common::unit();
    unit.compute("x = 1").expect("sets");
    unit.reset().expect("resets");
    assert_eq!(common::values(&mut unit, "return x"), vec![cu::Value::Nil]);
}

#[test]
fn units_are_independent() {
    let mut a = common::unit();
    let mut b = common::unit();
    a.compute("shared = 'a'").expect("sets");
    assert_eq!(common::values(&mut b, "return shared"), vec![cu::Value::Nil]);
    expect_limit(
        common::unit_with(UnitOptions::default().time_limit(Some(Duration::from_millis(50))))
            .compute("while true do end"),
        LimitKind::Time,
    );
    assert_eq!(common::values(&mut a, "return shared"), vec![cu::Value::from("a")]);
}
