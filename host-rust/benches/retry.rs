//! `cargo xtask bench`, conflicts: what retrying conflicted calls gives under contention, and what
//! the tracking that makes retries exact costs calls that never conflict.
//!
//! Contention: 6 units on their own store handles (as 6 processes would have) each run
//! `_home.n = _home.n + 1` 30 times at once, on a SQLite file and on a Redis server, with
//! conflicts retried and without. Cost: this build against one without the tracking (guest/build.rs
//! `CU_UNTRACKED`, built by `cargo xtask bench` and named by `CU_UNTRACKED_COMPONENT`), each
//! figure taken from both in turn within one run.
//!
//! Options: `--runs N` (default 7); medians are printed.

mod common;
#[path = "../tests/common/hooked.rs"]
mod hooked;
#[allow(dead_code)] // the tests use the rest of it
#[path = "../tests/common/redis_server.rs"]
mod redis_server;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use common::{Result, median, ms, timed};
use cu::{Engine, Error, Store, StoreErrorKind, Unit, UnitOptions, Value};

const WRITERS: usize = 6;
const CALLS: usize = 30;
const INCREMENT: &str = "_home.n = _home.n + 1";

/// Samples per run of the microsecond-scale figures.
const SMALL_REPEATS: usize = 200;

fn main() -> std::process::ExitCode {
    common::report(run())
}

fn run() -> Result<()> {
    let (runs, _) = common::args()?;
    let untracked = std::env::var_os("CU_UNTRACKED_COMPONENT")
        .ok_or("CU_UNTRACKED_COMPONENT is not set: run the benchmark with `cargo xtask bench`, which builds it")?;
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cu-bench");
    let engine = Engine::builder().cache_dir(scratch.join("engine-cache")).build()?;
    let baseline =
        Engine::builder().component(std::fs::read(&untracked)?).cache_dir(scratch.join("engine-cache")).build()?;
    contention(&engine, runs)?;
    cost(&engine, &baseline, runs)
}

/// Opens a new handle on one store.
type Opener = Box<dyn Fn() -> Result<Store>>;

/// What one contended round gave.
struct Round {
    time: Duration,
    succeeded: usize,
    commits: usize,
}

fn contention(engine: &Engine, runs: usize) -> Result<()> {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
    let redis = redis_server::RedisServer::start();
    let sqlite = dir.path().join("home.sqlite");
    let url = redis.url(0);
    let stores: [(&str, Opener); 2] = [
        ("SQLite", Box::new(move || Ok(Store::sqlite(&sqlite)))),
        ("Redis", Box::new(move || Ok(Store::redis(&url)?))),
    ];
    println!(
        "{WRITERS} writers × {CALLS} calls of `{INCREMENT}` at once, each on its own store handle; {runs} runs, \
         medians.\n"
    );
    println!("| store | conflicts | calls that succeeded | commits tried | time (ms) |");
    println!("|---|---|---:|---:|---:|");
    for (name, open) in &stores {
        for retry in [true, false] {
            let mut rounds = Vec::new();
            for run in 0..runs {
                rounds.push(contended_round(engine, open, &format!("contended-{retry}-{run}"), retry)?);
            }
            let pick = |f: fn(&Round) -> usize| {
                let mut values: Vec<usize> = rounds.iter().map(f).collect();
                values.sort_unstable();
                values[values.len() / 2]
            };
            let time = median(rounds.iter().map(|round| round.time).collect());
            let how = if retry { "retried (default)" } else { "reported (`--no-retry`)" };
            println!(
                "| {name} | {how} | {} of {} | {} | {:.1} |",
                pick(|r| r.succeeded),
                WRITERS * CALLS,
                pick(|r| r.commits),
                ms(time)
            );
        }
    }
    println!();
    Ok(())
}

/// Runs the writers on the bucket `home` of stores from `open`; checks that the counter equals the
/// calls that succeeded.
fn contended_round(engine: &Engine, open: &dyn Fn() -> Result<Store>, home: &str, retry: bool) -> Result<Round> {
    let commits = Arc::new(AtomicUsize::new(0));
    let unit = |store: Store| {
        let commits = commits.clone();
        let counted = hooked::before_commit(store, move || {
            commits.fetch_add(1, Ordering::SeqCst);
        });
        engine.unit(UnitOptions::default().store(counted).home(home).retry_conflicts(retry))
    };
    unit(open()?)?.compute("_home.n = 0")?;
    let mut units = (0..WRITERS).map(|_| Ok(unit(open()?)?)).collect::<Result<Vec<Unit>>>()?;
    commits.store(0, Ordering::SeqCst);
    let started = Instant::now();
    let succeeded: usize = std::thread::scope(|scope| {
        let writers: Vec<_> = units.iter_mut().map(|unit| scope.spawn(move || write(unit))).collect();
        writers.into_iter().map(|writer| writer.join().expect("a writer finishes")).sum::<cu::Result<usize>>()
    })?;
    let time = started.elapsed();
    let stored = unit(open()?)?.compute("return _home.n")?.values;
    if stored != [Value::Integer(succeeded as i64)] {
        return Err(format!("{succeeded} calls succeeded but the counter is {stored:?}").into());
    }
    Ok(Round { time, succeeded, commits: commits.load(Ordering::SeqCst) })
}

/// Makes the calls of one writer; the number that succeeded (the rest conflicted).
fn write(unit: &mut Unit) -> cu::Result<usize> {
    let mut succeeded = 0;
    for _ in 0..CALLS {
        match unit.compute(INCREMENT) {
            Ok(_) => succeeded += 1,
            Err(Error::Store { kind: StoreErrorKind::Conflict, .. }) => {}
            Err(other) => return Err(other),
        }
    }
    Ok(succeeded)
}

/// A figure of the cost table: what it times, in a unit on which store.
struct Figure {
    name: &'static str,
    setup: &'static str,
    code: &'static str,
    sqlite: bool,
    repeats: usize,
}

const FIGURES: [Figure; 5] = [
    Figure { name: "`return 1`", setup: "", code: "return 1", sqlite: false, repeats: SMALL_REPEATS },
    Figure {
        name: "calling a function stored in `_home` (SQLite)",
        setup: "function _home.f(x) return x * 2 end",
        code: "return _home.f(21)",
        sqlite: true,
        repeats: SMALL_REPEATS,
    },
    Figure {
        name: "1,000 writes to `_home` in one call, committed (SQLite)",
        setup: "",
        code: r#"_home.bench = {} for i = 0, 999 do _home.bench["key" .. i] = "value" .. i end"#,
        sqlite: true,
        repeats: 5,
    },
    Figure {
        name: "2,000,000 writes to a table made before the call",
        setup: "t = {}",
        code: "local t = t for i = 1, 2000000 do t[i % 1000] = i end",
        sqlite: false,
        repeats: 1,
    },
    Figure {
        name: "bench/programs/tables.lua (tables made in the call)",
        setup: "",
        code: include_str!("../../bench/programs/tables.lua"),
        sqlite: false,
        repeats: 1,
    },
];

fn cost(engine: &Engine, baseline: &Engine, runs: usize) -> Result<()> {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
    let sqlite = Store::sqlite(dir.path().join("cost.sqlite"));
    let mut samples = vec![[Vec::new(), Vec::new()]; FIGURES.len()];
    for run in 0..runs {
        for (row, figure) in FIGURES.iter().enumerate() {
            for (side, engine) in [engine, baseline].into_iter().enumerate() {
                let store = if figure.sqlite { sqlite.clone() } else { Store::memory() };
                let options = UnitOptions::default().store(store).home(format!("cost-{row}-{side}-{run}"));
                let mut unit = engine.unit(options)?;
                unit.compute(figure.setup)?;
                for _ in 0..figure.repeats {
                    samples[row][side].push(timed(|| unit.compute(figure.code))?);
                }
            }
        }
    }
    println!(
        "What the tracking costs calls that never conflict: this build and one without it, in turn; {runs} runs, medians.\n"
    );
    println!("| call | tracked (ms) | untracked (ms) | ratio |");
    println!("|---|---:|---:|---:|");
    for (figure, [tracked, untracked]) in FIGURES.iter().zip(samples) {
        let (tracked, untracked) = (median(tracked), median(untracked));
        println!(
            "| {} | {:.4} | {:.4} | {:.3}× |",
            figure.name,
            ms(tracked),
            ms(untracked),
            tracked.as_secs_f64() / untracked.as_secs_f64()
        );
    }
    Ok(())
}
