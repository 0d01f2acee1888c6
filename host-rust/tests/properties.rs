//! Property tests (proptest) of values, `_home` and the interpreter, through the real component:
//!
//! - values.rs: any value goes host → `_io.input` → Lua → `_io.output` → host unchanged, and the
//!   same through `_home` on every store; the JSON mapping and serde where they are lossless;
//! - malformed.rs: arbitrary bytes as a packed value (sent to the component as they are) and under
//!   `_home`'s keys are a clear error or a valid value, never a trap, a panic or a hang;
//! - differential.rs: random Lua expressions give what native Lua 5.4 (mlua, vendored from the same
//!   lua-src) gives;
//! - interleavings.rs: `_home` operations of two units on one store match a model in plain Rust.
//!
//! Each property runs a fixed number of cases from a fixed seed (`cargo xtask test` stays quick
//! and repeatable). The environment changes that: `CU_PROPTEST_CASES=N` runs N cases per property,
//! `CU_PROPTEST_SEED=S` (a number, or `random`) seeds them, and `CU_PROPTEST_SECONDS=T` keeps
//! running batches from fresh random seeds until T seconds have passed (`cargo xtask fuzz --time
//! 10m` sets it). Every property prints `property NAME: N cases passed` (shown with
//! `--nocapture`). No failure file is written: a failure prints its seed and the minimal case.

mod common;

#[path = "properties/differential.rs"]
mod differential;
#[path = "properties/generate.rs"]
mod generate;
#[path = "properties/interleavings.rs"]
mod interleavings;
#[path = "properties/malformed.rs"]
mod malformed;
#[path = "properties/raw.rs"]
mod raw;
#[path = "properties/values.rs"]
mod values;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime};

use proptest::strategy::Strategy;
use proptest::test_runner::{Config, RngSeed, TestCaseResult, TestRunner};

/// Runs `test` on values of `strategy`: `cases` of them (or `CU_PROPTEST_CASES`), again and again
/// from new seeds while `CU_PROPTEST_SECONDS` lasts, and prints how many passed. Panics with the
/// seed and the minimal failing value on the first failure.
pub fn check<S: Strategy>(name: &str, cases: u32, strategy: S, test: impl Fn(S::Value) -> TestCaseResult) {
    let cases = env_number("CU_PROPTEST_CASES").map_or(cases, |n| n as u32);
    let deadline = env_number("CU_PROPTEST_SECONDS").map(|s| Instant::now() + Duration::from_secs(s));
    let started = Instant::now();
    let mut seed = first_seed(name, deadline.is_some());
    let mut passed: u64 = 0;
    loop {
        let config = Config {
            cases,
            failure_persistence: None,
            rng_seed: RngSeed::Fixed(seed),
            // Cases are whole calls into the component; shrinking a failure may take a while, not forever.
            max_shrink_time: 120_000,
            ..Config::default()
        };
        if let Err(failure) = TestRunner::new(config).run(&strategy, &test) {
            panic!(
                "property {name} failed after {passed} passing cases (seed {seed}; CU_PROPTEST_SEED={seed} \
                 CU_PROPTEST_CASES={cases} runs it again): {failure}"
            );
        }
        passed += u64::from(cases);
        match deadline {
            Some(deadline) if Instant::now() < deadline => seed = random_seed(),
            _ => break,
        }
    }
    eprintln!("property {name}: {passed} cases passed in {:.1} s", started.elapsed().as_secs_f64());
}

fn env_number(name: &str) -> Option<u64> {
    let text = std::env::var(name).ok()?;
    Some(text.trim().parse().unwrap_or_else(|_| panic!("{name}={text} is not a number")))
}

/// A fixed seed per property for the ordinary run, so that it tests the same cases every time; a
/// random one when fuzzing or when `CU_PROPTEST_SEED=random`.
fn first_seed(name: &str, fuzzing: bool) -> u64 {
    match std::env::var("CU_PROPTEST_SEED").ok().as_deref().map(str::trim) {
        Some("random") => random_seed(),
        Some(text) => text.parse().unwrap_or_else(|_| panic!("CU_PROPTEST_SEED={text} is not a number")),
        None if fuzzing => random_seed(),
        // FNV-1a of the name: stable across runs, machines and Rust versions.
        None => name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)),
    }
}

/// A seed no other draw in this process or a concurrent one gets.
fn random_seed() -> u64 {
    static DRAWS: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_nanos();
    let draw = DRAWS.fetch_add(1, Ordering::Relaxed).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    let mixed = (nanos as u64) ^ (u64::from(std::process::id()) << 32) ^ draw;
    // splitmix64, so that seeds drawn a moment apart differ in every bit.
    let mut z = mixed.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}
