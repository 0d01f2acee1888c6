#![allow(dead_code)] // each bench uses a different part
//! What the benchmarks share: native Lua, medians, and how figures are printed.

use std::error::Error;
use std::io;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

pub type Result<T> = std::result::Result<T, Box<dyn Error>>;

/// The exit status of a bench, saying why it failed.
pub fn report(result: Result<()>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("bench: {error}");
            std::process::ExitCode::FAILURE
        }
    }
}

pub const NATIVE_LUA: &str = "lua5.4";

/// The bench's arguments without `--runs N` (default 7) and cargo's `--bench`, and the number of runs.
pub fn args() -> Result<(usize, Vec<String>)> {
    let mut runs = 7;
    let mut rest = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runs" => {
                runs = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or("--runs takes a positive number")?;
            }
            "--bench" => {} // cargo bench passes it to every bench binary
            _ => rest.push(arg),
        }
    }
    Ok((runs, rest))
}

/// Fails with a message saying how to install `lua5.4` when it is missing.
pub fn check_native_lua() -> Result<()> {
    match Command::new(NATIVE_LUA).arg("-v").output() {
        Ok(output) if output.status.success() => Ok(()),
        Ok(output) => Err(format!("`{NATIVE_LUA} -v` failed: {}", String::from_utf8_lossy(&output.stderr)).into()),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Err(format!(
            "{NATIVE_LUA} is not installed: run the benchmark with `cargo xtask bench`, which installs it with apt"
        )
        .into()),
        Err(e) => Err(format!("cannot run {NATIVE_LUA}: {e}").into()),
    }
}

/// The process's standard output, or an error with its standard error if it failed.
pub fn checked(output: Output, what: &str) -> Result<String> {
    if !output.status.success() {
        return Err(
            format!("{what} failed ({}): {}", output.status, String::from_utf8_lossy(&output.stderr).trim()).into()
        );
    }
    Ok(String::from_utf8(output.stdout)?)
}

pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    let mid = samples.len() / 2;
    if samples.len().is_multiple_of(2) { (samples[mid - 1] + samples[mid]) / 2 } else { samples[mid] }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

pub fn verdict(met: bool) -> &'static str {
    if met { "met" } else { "MISSED" }
}

/// How long `operation` took; what it returned is dropped after the clock stops.
pub fn timed<T, E: Into<Box<dyn Error>>>(mut operation: impl FnMut() -> std::result::Result<T, E>) -> Result<Duration> {
    let start = Instant::now();
    let result = operation();
    let took = start.elapsed();
    result.map_err(Into::into)?;
    Ok(took)
}
