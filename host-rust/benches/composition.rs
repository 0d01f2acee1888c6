//! `cargo xtask bench`, composition: a script run from a cold process by the composed
//! target/cu-run.wasm under the stock wasmtime CLI (CU_WASMTIME, set by xtask) beside `cu run`,
//! both keeping `_home` in .cu/home.sqlite of one directory, runs alternating; and the size of
//! each component `cargo xtask build` composes. (`wasmtime serve` is in serve.rs, beside `cu serve`.)
//!
//! Options: `--runs N` (default 7); medians are printed.

mod common;

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
    println!("| component | bytes |\n|---|---:|");
    for name in ["cu.wasm", "kv-memory.wasm", "kv-sqlite.wasm", "cu-run.wasm", "cu-http.wasm", "cu-http-open.wasm"] {
        println!("| target/{name} | {} |", std::fs::metadata(root.join("target").join(name))?.len());
    }
    Ok(())
}
