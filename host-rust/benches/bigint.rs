//! `cargo xtask bench`, bigints: three workloads of `require('bigint')` in the component beside
//! Python's `int` doing the same work (python3, on this machine). Each side times only the work,
//! inside its own interpreter, and both must give the same checksum.
//!
//! Options: `--runs N` (default 7); medians are printed.

mod common;

use std::process::{Command, ExitCode};
use std::time::Duration;

use common::{Result, checked, median, ms, verdict};
use cu::{Engine, UnitOptions, Value};

/// How much slower than Python the issue allows.
const TARGET_RATIO: f64 = 2.0;

/// One workload: its name, the Lua chunk and the Python program. Each sets up outside the timed
/// part and leaves the elapsed milliseconds and a checksum.
struct Workload {
    name: &'static str,
    lua: &'static str,
    python: &'static str,
}

const WORKLOADS: [Workload; 3] = [
    Workload {
        name: "1000! and its decimal string",
        lua: r#"local bigint = require('bigint')
local start = os.clock()
local f = bigint.new(1)
for i = 2, 1000 do f = f * i end
local s = tostring(f)
return (os.clock() - start) * 1000, #s .. ":" .. s:sub(1, 12)"#,
        python: r#"import time
start = time.perf_counter()
f = 1
for i in range(2, 1001): f *= i
s = str(f)
print((time.perf_counter() - start) * 1000, f"{len(s)}:{s[:12]}")"#,
    },
    Workload {
        name: "product of two 10,000-digit numbers",
        lua: r#"local bigint = require('bigint')
local a, b = bigint.new(string.rep("7", 10000)), bigint.new(string.rep("3", 10000))
local start = os.clock()
local p = a * b
local took = (os.clock() - start) * 1000
return took, tostring(p % 1000000007)"#,
        python: r#"import sys, time
sys.set_int_max_str_digits(0)
a, b = int("7" * 10000), int("3" * 10000)
start = time.perf_counter()
p = a * b
took = (time.perf_counter() - start) * 1000
print(took, p % 1000000007)"#,
    },
    Workload {
        name: "100,000 additions of 30-digit values",
        lua: r#"local bigint = require('bigint')
local x, sum = bigint.new("123456789012345678901234567890"), bigint.new(0)
local start = os.clock()
for i = 1, 100000 do sum = sum + x end
return (os.clock() - start) * 1000, tostring(sum)"#,
        python: r#"import time
x, total = 123456789012345678901234567890, 0
start = time.perf_counter()
for i in range(100000): total = total + x
print((time.perf_counter() - start) * 1000, total)"#,
    },
];

fn main() -> ExitCode {
    common::report(run())
}

fn run() -> Result<()> {
    let (runs, _) = common::args()?;
    let scratch = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cu-bench");
    let engine = Engine::builder().cache_dir(scratch.join("engine-cache")).build()?;

    println!("`require('bigint')` in the component beside Python's int; {runs} runs, medians.\n");
    println!("| workload | cu (ms) | Python (ms) | ratio | target ≤ {TARGET_RATIO}× |");
    println!("|---|---:|---:|---:|---|");
    for workload in &WORKLOADS {
        let (mut cu, mut python) = (Vec::new(), Vec::new());
        for _ in 0..runs {
            let mut unit = engine.unit(UnitOptions::default().time_limit(None))?;
            let (took, checksum) = match unit.compute(workload.lua)?.values.as_slice() {
                [Value::Float(took), Value::String(checksum)] => {
                    (*took, String::from_utf8_lossy(checksum).into_owned())
                }
                other => return Err(format!("{}: cu returned {other:?}", workload.name).into()),
            };
            let out = checked(Command::new("python3").args(["-c", workload.python]).output()?, "python3")?;
            let (python_took, python_checksum) =
                out.trim().split_once(' ').ok_or_else(|| format!("{}: python3 printed {out:?}", workload.name))?;
            if python_checksum != checksum {
                return Err(format!("{}: cu gave {checksum}, Python {python_checksum}", workload.name).into());
            }
            cu.push(Duration::from_secs_f64(took / 1000.0));
            python.push(Duration::from_secs_f64(python_took.parse::<f64>()? / 1000.0));
        }
        let (cu, python) = (median(cu), median(python));
        let ratio = cu.as_secs_f64() / python.as_secs_f64();
        println!(
            "| {} | {:.2} | {:.2} | {ratio:.2}× | {} |",
            workload.name,
            ms(cu),
            ms(python),
            verdict(ratio <= TARGET_RATIO)
        );
    }
    Ok(())
}
