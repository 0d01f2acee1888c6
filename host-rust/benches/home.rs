//! `cargo xtask bench`, `_home`: the seeds' `_home` timings (storing 1,000 items, querying them,
//! saving and loading state, persisting a function) on each store: memory, SQLite and a local
//! Redis server. Every call is a whole `compute` as a user makes it, commit included; each run
//! works in a new bucket, so nothing is read from an earlier run.
//!
//! Options: `--runs N` (default 7); medians are printed.

mod common;
#[allow(dead_code)] // the tests use the rest of it
#[path = "../tests/common/redis_server.rs"]
mod redis_server;

use std::time::Duration;

use common::{Result, median, ms, timed, verdict};
use cu::{Engine, Store, Unit, UnitOptions, Value};

/// The seeds' "Store 1000 items", as a loop rather than 1,000 generated lines.
const WRITE: &str = r#"_home.bench = {} for i = 0, 999 do _home.bench["key" .. i] = "value" .. i end"#;
/// Reads every item back.
const READ: &str = "local bytes = 0 for key, value in pairs(_home.bench) do bytes = bytes + #value end return bytes";
/// The seeds' "Query 1000 items".
const QUERY: &str = r#"local results = {}
for key, value in pairs(_home.bench) do
    if string.match(key, "key5") then table.insert(results, {key = key, value = value}) end
end
return results"#;
/// The state a snapshot holds: 10,000 items, strings as in the seeds' "Store 1000 items".
const ITEMS: &str = r#"_home.items = {} for i = 1, 10000 do _home.items[i] = "item-" .. i end"#;
/// A heavier state: 10,000 records, each a stored table of its own (40,001 keys in the store).
const RECORDS: &str = r#"_home.items = {} for i = 1, 10000 do _home.items[i] = {id = i, name = "item-" .. i} end"#;
const DEFINE: &str = "function _home.testFunc(x) return x * 2 end";
const CALL: &str = "return _home.testFunc(21)";

/// Repetitions per run of the operations that take well under a millisecond.
const SMALL_REPEATS: usize = 25;

/// One row of the table: an operation, the seeds' figure, the target on SQLite.
struct Operation {
    name: &'static str,
    seed: &'static str,
    target: Option<Duration>,
}

const OPERATIONS: [Operation; 10] = [
    Operation {
        name: "1,000 writes in one call, committed",
        seed: "50–100 ms",
        target: Some(Duration::from_millis(5)),
    },
    Operation { name: "reading the 1,000 items back", seed: "", target: Some(Duration::from_millis(5)) },
    Operation { name: "the seeds' query over the 1,000 items", seed: "5–20 ms", target: None },
    Operation {
        name: "saving a snapshot of 10,000 items", seed: "50–100 ms", target: Some(Duration::from_millis(30))
    },
    Operation { name: "restoring it", seed: "50–100 ms", target: Some(Duration::from_millis(30)) },
    Operation { name: "saving a snapshot of 10,000 records `{id, name}`", seed: "", target: None },
    Operation { name: "restoring it", seed: "", target: None },
    Operation { name: "storing a function", seed: "~2 ms", target: Some(Duration::from_micros(300)) },
    Operation { name: "calling it back in a new call", seed: "~1 ms", target: Some(Duration::from_micros(300)) },
    Operation { name: "a call that does not touch `_home`", seed: "", target: None },
];

fn main() -> std::process::ExitCode {
    common::report(run())
}

fn run() -> Result<()> {
    let (runs, _) = common::args()?;
    let scratch = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cu-bench");
    let engine = Engine::builder().cache_dir(scratch.join("engine-cache")).build()?;
    let sqlite_dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
    let redis = redis_server::RedisServer::start();
    let stores = [
        ("memory", Store::memory()),
        ("SQLite", Store::sqlite(sqlite_dir.path().join("home.sqlite"))),
        ("Redis", Store::redis(&redis.url(0))?),
    ];

    let mut figures = Vec::new();
    for (_, store) in &stores {
        let mut samples: Vec<Vec<Duration>> = vec![Vec::new(); OPERATIONS.len()];
        for run in 0..runs {
            let options = UnitOptions::default().store(store.clone()).home(format!("bench-{run}"));
            measure(&mut engine.unit(options)?, &mut samples)?;
        }
        figures.push(samples.into_iter().map(median).collect::<Vec<_>>());
    }

    println!("`_home` on each store; {runs} runs, medians; seed figures from the seeds' READMEs.\n");
    let names: Vec<&str> = stores.iter().map(|(name, _)| *name).collect();
    println!("| operation | seed | {} (ms) | target on SQLite |", names.join(" (ms) | "));
    println!("|---|---:|{}---|", "---:|".repeat(stores.len()));
    let sqlite = names.iter().position(|name| *name == "SQLite").ok_or("no SQLite store")?;
    for (row, operation) in OPERATIONS.iter().enumerate() {
        let cells: Vec<String> = figures.iter().map(|store| format!("{:.3}", ms(store[row]))).collect();
        let target = operation.target.map_or(String::new(), |target| {
            format!("≤ {} ms: {}", ms(target), verdict(figures[sqlite][row] <= target))
        });
        println!("| {} | {} | {} | {target} |", operation.name, operation.seed, cells.join(" | "));
    }
    Ok(())
}

/// Times each operation once in `unit` (the small ones [`SMALL_REPEATS`] times), checking results.
fn measure(unit: &mut Unit, samples: &mut [Vec<Duration>]) -> Result<()> {
    samples[0].push(timed(|| unit.compute(WRITE))?);
    let expected_bytes: i64 = (0..1000).map(|i| format!("value{i}").len() as i64).sum();
    samples[1].push(timed(|| expect(unit, READ, Value::Integer(expected_bytes)))?);
    samples[2].push(timed(|| -> Result<()> {
        let values = unit.compute(QUERY)?.values;
        match values.as_slice() {
            // key5, key50..key59, key500..key599
            [Value::Array(found)] if found.len() == 111 => Ok(()),
            other => Err(format!("the query found {other:?}").into()),
        }
    })?);

    snapshot(unit, ITEMS, "return #_home.items .. _home.items[10000]", "10000item-10000", &mut samples[3..5])?;
    snapshot(unit, RECORDS, "return #_home.items .. _home.items[10000].name", "10000item-10000", &mut samples[5..7])?;

    for _ in 0..SMALL_REPEATS {
        samples[7].push(timed(|| unit.compute(DEFINE))?);
        samples[8].push(timed(|| expect(unit, CALL, Value::Integer(42)))?);
        samples[9].push(timed(|| expect(unit, "return 1", Value::Integer(1)))?);
    }
    Ok(())
}

/// Stores `state`, then times saving a snapshot of it and restoring the snapshot after `_home`
/// lost it; `check` must then return `expected`.
fn snapshot(unit: &mut Unit, state: &str, check: &str, expected: &str, samples: &mut [Vec<Duration>]) -> Result<()> {
    unit.compute(state)?;
    samples[0].push(timed(|| unit.save_snapshot("items"))?);
    unit.compute("_home.items = nil")?;
    samples[1].push(timed(|| unit.restore_snapshot("items"))?);
    expect(unit, check, Value::from(expected))
}

/// Runs `code` and fails unless it returns exactly `value`.
fn expect(unit: &mut Unit, code: &str, value: Value) -> Result<()> {
    let values = unit.compute(code)?.values;
    if values != [value.clone()] {
        return Err(format!("`{code}` returned {values:?}, not {value:?}").into());
    }
    Ok(())
}
