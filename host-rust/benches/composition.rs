//! `cargo xtask bench`, composition: a script run from a cold process by the composed
//! target/cu-run.wasm under the stock wasmtime CLI (CU_WASMTIME, set by xtask) beside `cu run`,
//! both keeping `_home` in .cu/home.sqlite of one directory, runs alternating; requests per second
//! and latency of target/cu-http.wasm under `wasmtime serve`, for an app that says hello and one
//! that counts in `_home`; and the size of each component `cargo xtask build` composes.
//!
//! Options: `--runs N` (default 7); medians are printed.

mod common;
#[allow(dead_code)]
#[path = "../tests/common/http.rs"]
mod http;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{Result, checked, median, ms, timed};

/// A script that touches `_home`, so that each side opens its store.
const SCRIPT: &str = "_home.runs = (_home.runs or 0) + 1 return 'hello', _home.runs";

fn main() -> std::process::ExitCode {
    common::report(run())
}

fn run() -> Result<()> {
    let (runs, _) = common::args()?;
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let cu_run = root.join("target/cu-run.wasm");
    let wasmtime: PathBuf =
        std::env::var_os("CU_WASMTIME").ok_or("CU_WASMTIME is not set: run `cargo xtask bench`")?.into();
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
    std::fs::write(dir.path().join("hello.lua"), SCRIPT)?;
    let wasmtime_run = || -> Result<String> {
        let out = Command::new(&wasmtime)
            .args(["run", "--dir", "."])
            .arg(&cu_run)
            .arg("hello.lua")
            .current_dir(dir.path())
            .output()?;
        checked(out, "wasmtime run")
    };
    let cu = || -> Result<String> {
        let out = Command::new(env!("CARGO_BIN_EXE_cu")).args(["run", "hello.lua"]).current_dir(dir.path()).output()?;
        checked(out, "cu run")
    };
    // The first of each compiles its component into its cache; the figures are for the runs after.
    wasmtime_run()?;
    cu()?;
    let (mut composed, mut host) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        composed.push(timed(wasmtime_run)?);
        host.push(timed(cu)?);
    }
    let last = cu()?;
    if last != format!("\"hello\"\n{}\n", 2 * runs + 3) {
        return Err(format!("the runs did not all count in one `_home`: the last printed {last:?}").into());
    }
    let (composed, host) = (median(composed), median(host));
    println!("A script that updates `_home` (SQLite), from a cold process; {runs} runs each, alternating, medians.\n");
    println!("| runner | ms | |\n|---|---:|---|");
    println!("| `cu run hello.lua` (the Rust host) | {:.1} | |", ms(host));
    println!(
        "| `wasmtime run --dir . target/cu-run.wasm hello.lua` | {:.1} | {:.2}× `cu run` |\n",
        ms(composed),
        composed.as_secs_f64() / host.as_secs_f64()
    );
    serving()?;
    println!("| component | bytes |\n|---|---:|");
    for name in ["cu.wasm", "kv-memory.wasm", "kv-sqlite.wasm", "cu-run.wasm", "cu-http.wasm"] {
        println!("| target/{name} | {} |", std::fs::metadata(root.join("target").join(name))?.len());
    }
    Ok(())
}

/// Clients sending requests at once, and requests each sends.
const CLIENTS: usize = 4;
const REQUESTS: usize = 100;

/// Requests per second and latency percentiles of each app, every request checked.
fn serving() -> Result<()> {
    let apps = [
        ("hello", "function handle() return { body = 'hello' } end", "/", None),
        (
            "a counter in `_home` (SQLite)",
            "function handle() _home.n = (_home.n or 0) + 1 return { body = tostring(_home.n) } end",
            "/",
            Some(CLIENTS * REQUESTS),
        ),
    ];
    println!(
        "`wasmtime serve` of target/cu-http.wasm (an instance per request), {CLIENTS} clients sending {REQUESTS} requests each, a connection per request:\n"
    );
    println!("| app | requests/s | p50 (ms) | p99 (ms) |\n|---|---:|---:|---:|");
    for (name, app, path, count) in apps {
        let server = http::Server::start(app, &[]);
        server.get(path); // the first request compiles the component into wasmtime's cache
        let started = std::time::Instant::now();
        let latencies: Vec<Vec<std::time::Duration>> = std::thread::scope(|scope| {
            let clients: Vec<_> = (0..CLIENTS)
                .map(|_| {
                    scope.spawn(|| {
                        (0..REQUESTS)
                            .map(|_| {
                                let start = std::time::Instant::now();
                                let response = server.get(path);
                                assert_eq!(response.status, 200, "{}", response.text());
                                start.elapsed()
                            })
                            .collect()
                    })
                })
                .collect();
            clients.into_iter().map(|c| c.join().expect("a client")).collect()
        });
        let elapsed = started.elapsed();
        let mut all: Vec<_> = latencies.into_iter().flatten().collect();
        all.sort();
        let at = |p: f64| all[((all.len() as f64 * p) as usize).min(all.len() - 1)];
        if let Some(expected) = count {
            let last = server.get(path).text();
            if last != (expected + 2).to_string() {
                return Err(format!("{name}: the counter reads {last}, not {}", expected + 2).into());
            }
        }
        println!(
            "| {name} | {:.0} | {:.1} | {:.1} |",
            all.len() as f64 / elapsed.as_secs_f64(),
            ms(at(0.5)),
            ms(at(0.99))
        );
    }
    println!();
    Ok(())
}
