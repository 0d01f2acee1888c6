//! `cargo xtask fuzz --time 10m`: the property tests (host-rust/tests/properties.rs) again and
//! again from fresh random seeds until the time is up, then the cases run per property.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

use anyhow::{Context, Result, bail};

use crate::cmd::cargo;
use crate::{setup, tasks};

/// Builds, then runs every property for `seconds`, all at once: each test keeps drawing batches
/// of cases until the time is up (`CU_PROPTEST_SECONDS`). Prints the cases each property ran,
/// and fails naming the property, its seed and minimal case if one failed.
pub fn fuzz(seconds: u64) -> Result<()> {
    let built = tasks::all()?;
    // The properties of `_home` run on Redis too, on servers of their own.
    setup::apt(&["redis-server"])?;
    let mut command = cargo();
    command
        .args(["test", "--release", "--locked", "-p", "host-rust", "--test", "properties", "--"])
        // Every property at once, each for the whole time (the harness would run two at a time).
        .args(["--nocapture", "--test-threads=64"])
        .env("CU_COMPONENT", &built.component)
        .env("CU_PROPTEST_SECONDS", seconds.to_string())
        .env_remove("CU_PROPTEST_SEED")
        .stderr(Stdio::piped());
    eprintln!("xtask: fuzzing every property for {seconds} s");
    let mut child = command.spawn().context("could not start cargo test")?;
    let stderr = child.stderr.take().context("the test's stderr")?;
    let (mut passed, mut failed) = (BTreeMap::new(), Vec::new());
    for line in BufReader::new(stderr).lines() {
        let line = line.context("reading the test's stderr")?;
        eprintln!("{line}");
        if let Some(rest) = line.strip_prefix("property ") {
            // `property NAME: N cases passed in T s`, or `property NAME failed after N passing cases ...`.
            if let Some((name, report)) = rest.split_once(": ")
                && let Some((cases, time)) = report.split_once(" cases passed in ")
            {
                passed.insert(name.to_string(), (cases.to_string(), time.to_string()));
            } else if rest.contains(" failed after ") {
                failed.push(rest.to_string());
            }
        }
    }
    let status = child.wait().context("waiting for cargo test")?;
    println!("\ncases run per property in {seconds} s:");
    for (name, (cases, time)) in &passed {
        println!("  {name:<28} {cases:>10} cases passed ({time})");
    }
    for failure in &failed {
        println!("  FAILED: {failure}");
    }
    if !status.success() || !failed.is_empty() {
        bail!("the property tests failed ({status}): {} of them", failed.len().max(1));
    }
    Ok(())
}
