//! Build, test and benchmark automation for cu. Run `cargo xtask help`.
//!
//! Everything a fresh machine needs (the wasm32-wasip2 target, clang-22 and the WASI headers from
//! apt, a Node that runs WebAssembly exceptions and the JavaScript package's npm dependencies, a
//! Redis server for the tests, Lua 5.4 for the benchmark) is installed here when missing, so that
//! the README's two commands work on a new Debian 12 machine with only Rust (and the system's
//! Node and npm).

mod cmd;
mod compose;
mod conformance;
mod fuzz;
mod js;
mod optimize;
mod setup;
mod size;
mod stack;
mod tasks;
mod tools;

use anyhow::{Result, bail};

const HELP: &str = "\
cargo xtask <command>

Commands:
  build      install missing tools, build the guest component (binaryen's wasm-opt -O3 then
             optimizes its core module), the `cu` CLI (release) and the JavaScript package
             (host-js/: npm dependencies, then jco transpiles the component into
             host-js/generated/; a Node 24 from the npm registry is installed under
             target/tools/node when the system's Node is older than 22.19), the kv provider
             components, cu-run and cu-http, composed with cu by wac (built once per
             machine into ~/.cache/cu-tools, or $CU_TOOLS_DIR)
  install    build, copy `cu` into ~/.cargo/bin, and run examples/hello.lua with it
  test       build, check the guest build is reproducible, and run every test: the Rust
             host's and the CLI's, the composed cu-run and cu-http under the wasmtime CLI
             48.0.8 (built once per machine into ~/.cache/cu-tools: about 10 minutes) and
             cu-run under jco, then
             the JavaScript package's in Node (installs Debian's redis-server, which the Redis
             store's tests start, if missing), then Lua's test suite as `conformance` runs it,
             which must give docs/CONFORMANCE.md's results
  bench      build and run the benchmarks: Lua programs and structured data against native
             Lua 5.4, `_home` on memory, SQLite and Redis, queries and indexes on 100,000
             records, bigints against Python's int (Lua 5.4, python3 and redis-server are
             installed if missing), cu-run under the wasmtime CLI beside `cu run`, HTTP
             apps under load in `cu serve` (SQLite, Redis, one and two replicas) beside
             `wasmtime serve` and Node + wasmoon, then the Lua programs
             through the JavaScript package in Node beside wasmoon and fengari, and conflicts
             (contended counters, and the tracking's cost against a guest built without it);
             options: --runs N (default 7), program names from bench/programs to run only
             those, --only BENCH (repeatable) to run only lua, io, home, query, bigint,
             composition, serve, retry or js
  chaos      build and run the chaos run for --time on each store (default 2m; e.g. 10m):
             worker processes make random `_home` transfers on one SQLite file on a small
             tmpfs (needs root to mount it) and on one Redis server, while workers are killed
             with SIGKILL, Redis is restarted and the disk is filled; then every call reported
             done must be stored, every failed call must have left nothing, and every index
             and snapshot must be consistent (`cargo xtask test` runs it for 10 s per store)
  fuzz       build and run the property tests (host-rust/tests/properties.rs) from fresh
             random seeds for --time (default 10m; e.g. 90s, 1h), every property at once,
             then print the cases run per property (`cargo xtask test` runs a fixed number)
  conformance
             build, fetch Lua 5.4's own test suite into target/conformance (from PyPI: lupa
             2.8's source package holds Lua 5.4.8's testes/), build native Lua 5.4.9 from the
             sources the guest uses, and run each file of the suite natively, under cu in
             wasmtime (`cu --allow debug`) and under cu in Node (the JavaScript package), as
             all.lua runs a port's tests (_soft, _port); prints docs/CONFORMANCE.md's table
  size       build the guest again with its symbols and wasm-ld's link map (target/size)
             and print its code and data by origin: Lua's interpreter and libraries (C),
             each Rust crate, wasi-libc (sizes before wasm-opt; docs/ARCHITECTURE.md,
             the section on what the component is made of)
  help       show this text

Outputs: target/cu.wasm (the component), target/release/cu (the CLI),
host-js/generated/ (the transpiled component the JavaScript package loads), target/cu-run.wasm
(`wasmtime run --dir . target/cu-run.wasm script.lua`), target/cu-http.wasm (`wasmtime serve -S
cli --dir . target/cu-http.wasm` serves app.lua), target/kv-memory.wasm and
target/kv-sqlite.wasm (kv providers), target/modules-dir.wasm (the modules provider;
docs/COMPOSITION.md).";

fn main() {
    if let Err(error) = run() {
        eprintln!("xtask: error: {error:#}");
        std::process::exit(1);
    }
}

fn run() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let command = args.first().map(String::as_str).unwrap_or("help");
    let mut rest = args.get(1..).unwrap_or_default();
    // `cargo xtask bench -- --runs 3` and `cargo xtask bench --runs 3` mean the same.
    if rest.first().is_some_and(|a| a == "--") {
        rest = &rest[1..];
    }
    match command {
        "build" => tasks::all().map(drop),
        "install" => tasks::install(),
        "test" => tasks::test(rest),
        "bench" => tasks::bench(rest),
        "chaos" => tasks::chaos(time(rest, 120, "chaos")?),
        "fuzz" => fuzz::fuzz(time(rest, 600, "fuzz")?),
        "conformance" => conformance::conformance(),
        "size" => size::size(),
        "help" | "-h" | "--help" => {
            println!("{HELP}");
            Ok(())
        }
        other => bail!("unknown command `{other}`\n\n{HELP}"),
    }
}

/// The seconds `[--time DURATION]` gives, or `default`.
fn time(rest: &[String], default: u64, command: &str) -> Result<u64> {
    match rest {
        [] => Ok(default),
        [flag, time] if flag == "--time" => tasks::seconds(time),
        _ => bail!("usage: cargo xtask {command} [--time DURATION] (e.g. 600, 90s, 10m, 1h)"),
    }
}
