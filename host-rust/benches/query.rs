//! `cargo xtask bench`, queries: seed 004's storage API at the issue's scale. 100,000 records
//! `{id, name, score, created}` in `_home.appUsers` on a SQLite file (and in memory, beside it):
//! the same queries by full scan and with an index, building the index, 1,000 record writes into
//! a table with two indexes against one with none, and the bytes compression saves on the seed's
//! examples. Queries go through the Rust API (`Unit::home_query`), each a whole transaction with
//! its records converted to `cu::Value`s. Runs alternate the two sides compared.
//!
//! Options: `--runs N` (default 7); medians are printed.

mod common;

use std::time::{Duration, Instant};

use common::{Result, median, ms, timed, verdict};
use cu::{Engine, IndexKind, KeyRange, Store, Unit, UnitOptions, Value};
use serde_json::json;

const RECORDS: usize = 100_000;

/// The records, in one call.
const FILL: &str = include_str!("../../bench/app-users.lua");

/// A query, what the issue asks of it with an index and by full scan, and how many records it
/// must return.
struct Query {
    name: &'static str,
    spec: serde_json::Value,
    indexed_target: Duration,
    hits: usize,
}

fn queries() -> [Query; 3] {
    [
        Query {
            name: "`score >= 800`, limit 10, sort desc",
            spec: json!({"table": "appUsers", "field": "score", "operator": ">=", "value": 800, "limit": 10, "sort": "desc"}),
            indexed_target: Duration::from_millis(1),
            hits: 10,
        },
        Query {
            name: "`score between 400 and 600`, 100 records",
            spec: json!({"table": "appUsers", "field": "score", "operator": "between", "value": [400, 600], "limit": 100}),
            indexed_target: Duration::from_millis(2),
            hits: 100,
        },
        Query {
            name: "`name startsWith 'User 0999'` (an indexed string)",
            spec: json!({"table": "appUsers", "field": "name", "operator": "startsWith", "value": "User 0999", "limit": 10}),
            indexed_target: Duration::from_millis(1),
            hits: 10,
        },
    ]
}

const SCAN_TARGET: Duration = Duration::from_millis(60);

/// 1,000 new records in one call, into `table`.
fn writes(table: &str, run: usize) -> String {
    format!(
        r#"local t = _home.{table}
        for i = 1, 1000 do t["new_{run}_" .. i] = {{ id = i, name = "New " .. i, score = i % 1000, created = "2026" }} end"#
    )
}

fn main() -> std::process::ExitCode {
    common::report(run())
}

fn run() -> Result<()> {
    let (runs, _) = common::args()?;
    let scratch = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cu-bench");
    let engine = Engine::builder().cache_dir(scratch.join("engine-cache")).build()?;
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
    println!(
        "Queries on {RECORDS} records `{{id, name, score, created}}` in `_home.appUsers`; {runs} runs, medians; \
         seed figures from seed 004 (10,000 records, in a browser).\n"
    );
    for (name, store) in [("SQLite", Store::sqlite(dir.path().join("home.sqlite"))), ("memory", Store::memory())] {
        store_figures(&engine, name, store, runs)?;
    }
    compression(&engine)
}

fn store_figures(engine: &Engine, store_name: &str, store: Store, runs: usize) -> Result<()> {
    let options = UnitOptions::default().store(store.clone()).memory_limit(2 << 30).time_limit(None);
    let mut unit = engine.unit(options)?;
    let fill = timed(|| unit.compute(FILL))?;
    let queries = queries();
    let mut scans = vec![Vec::new(); queries.len()];
    let mut indexed = vec![Vec::new(); queries.len()];
    let (mut builds, mut plain_writes, mut indexed_writes) = (Vec::new(), Vec::new(), Vec::new());
    let mut reads = Vec::new();
    unit.compute("_home.plain = {} _home.two = {}")?;
    unit.home_create_index("two", "score", IndexKind::Btree)?;
    unit.home_create_index("two", "name", IndexKind::Btree)?;
    for run in 0..runs {
        for (query, samples) in queries.iter().zip(&mut scans) {
            samples.push(timed_query(&mut unit, query)?);
            reads.push(timed(|| read_everything(&store))?);
        }
        builds.push(timed(|| -> Result<()> {
            unit.home_create_index("appUsers", "score", IndexKind::Btree)?;
            unit.home_create_index("appUsers", "name", IndexKind::Btree)?;
            Ok(())
        })?);
        for (query, samples) in queries.iter().zip(&mut indexed) {
            samples.push(timed_query(&mut unit, query)?);
        }
        unit.home_drop_index("appUsers", "score")?;
        unit.home_drop_index("appUsers", "name")?;
        plain_writes.push(timed(|| unit.compute(writes("plain", run)))?);
        indexed_writes.push(timed(|| unit.compute(writes("two", run)))?);
    }
    let problems = unit.home_check_indexes()?;
    if !problems.is_empty() {
        return Err(format!("the indexes disagree with their tables: {problems:?}").into());
    }

    println!("**{store_name}** (filling the table: {:.0} ms)\n", ms(fill));
    println!("| query | seed | full scan (ms) | target | with an index (ms) | target |");
    println!("|---|---|---:|---|---:|---|");
    for ((query, scan), with) in queries.iter().zip(scans).zip(indexed) {
        let (scan, with) = (median(scan), median(with));
        println!(
            "| {} | 2–10 ms indexed, 50–200 ms scanned | {:.3} | ≤ {} ms: {} | {:.3} | ≤ {} ms: {} |",
            query.name,
            ms(scan),
            ms(SCAN_TARGET),
            verdict(scan <= SCAN_TARGET),
            ms(with),
            ms(query.indexed_target),
            verdict(with <= query.indexed_target),
        );
    }
    println!(
        "\nThe store alone reading every entry of `_home` (natively, no component, in pages of {SCAN_PAGE}): \
         {:.3} ms; a full scan is this reading and the component's work on each record.",
        ms(median(reads))
    );
    let (plain, two) = (median(plain_writes), median(indexed_writes));
    let ratio = two.as_secs_f64() / plain.as_secs_f64();
    println!("\n| operation | ms | |\n|---|---:|---|");
    println!(
        "| building the indexes on `score` and `name` over {RECORDS} records | {:.1} | seed: 100–500 ms for 10,000 |",
        ms(median(builds))
    );
    println!("| 1,000 record writes into a table without indexes | {:.2} | |", ms(plain));
    println!(
        "| 1,000 record writes into a table with two indexes | {:.2} | {ratio:.2}× (target ≤ 2×: {}) |\n",
        ms(two),
        verdict(ratio <= 2.0)
    );
    Ok(())
}

/// The scan page of a query without an index (guest/src/home/query.rs).
const SCAN_PAGE: usize = 1024;

/// Reads every entry of `_home`'s bucket as a full scan has the store read them.
fn read_everything(store: &Store) -> Result<()> {
    let range = KeyRange::prefix(b"");
    let mut cursor = None;
    let mut bytes = 0;
    loop {
        let (page, next) = store.scan_packed("home", &range, cursor.as_deref(), SCAN_PAGE)?;
        bytes += page.into_bytes().len();
        match next {
            Some(next) => cursor = Some(next),
            // A record's entry packs into well over 64 bytes (its key, its four fields).
            None if bytes > RECORDS * 64 => return Ok(()),
            None => return Err(format!("the store read only {bytes} bytes of `_home`").into()),
        }
    }
}

/// Runs `query` and checks it returned as many records as it must.
fn timed_query(unit: &mut Unit, query: &Query) -> Result<Duration> {
    let start = Instant::now();
    let hits = unit.home_query(&query.spec)?;
    let took = start.elapsed();
    if hits.len() != query.hits {
        return Err(format!("{} returned {} records, not {}", query.name, hits.len(), query.hits).into());
    }
    Ok(took)
}

/// The seed's stored examples, and what compression saves on them.
fn compression(engine: &Engine) -> Result<()> {
    let examples = [
        (
            "the seed's `fibonacci`",
            "Memory",
            "fibonacci",
            "function(n)\n    if n <= 1 then return n end\n    return fibonacci(n - 1) + fibonacci(n - 2)\nend",
        ),
        ("the seed's `analytics` (three functions)", "Memory", "analytics", ANALYTICS),
        (
            "the seed's `counterFactory`",
            "Memory",
            "counterFactory",
            "function(initialValue)\n    local count = initialValue or 0\n    return function()\n        count = count + 1\n        return count\n    end\nend",
        ),
    ];
    println!("Compression (LZ4 above 512 bytes), on the seed's examples: bytes of `_home` in the store.\n");
    println!("| stored | bytes | saved by compression | without it |\n|---|---:|---:|---:|");
    for (what, table, name, code) in examples {
        let mut unit = engine.unit(UnitOptions::default())?;
        let before = unit.home_stats()?.bytes;
        unit.persist_function(if table == "Memory" { "" } else { table }, name, code)?;
        let stats = unit.home_stats()?;
        let stored = stats.bytes - before;
        println!("| {what} | {stored} | {} | {} |", stats.saved, stored + stats.saved);
    }
    let mut unit = engine.unit(UnitOptions::default())?;
    unit.compute("_home.users = {} for i = 1, 1000 do _home.users['user' .. i] = { name = 'User ' .. i, email = 'user' .. i .. '@example.com', score = i } end")?;
    unit.compute(
        "_home.notes = string.rep('Lua WASM External Storage API, production-ready Lua 5.4 in the browser. ', 200)",
    )?;
    let stats = unit.home_stats()?;
    println!(
        "| 1,000 seed users and a 14,400-byte text | {} | {} | {} |",
        stats.bytes,
        stats.saved,
        stats.bytes + stats.saved
    );
    let check = unit.compute("return #_home.notes")?.values;
    if check != [Value::Integer(14_400)] {
        return Err(format!("the text came back as {check:?}").into());
    }
    Ok(())
}

/// Seed 004's `analytics` functions.
const ANALYTICS: &str = include_str!("../../tests/seeds/analytics.lua");
