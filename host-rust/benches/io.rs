//! `cargo xtask bench`, structured data: 100,000 records `{id, name, score}` into `_io.input`
//! from Rust structs, filtered and mapped in Lua, and the results out of `_io.output` into Rust
//! structs again. Each phase is timed; the Lua work alone is set beside native Lua 5.4 doing the
//! same work on an equivalent table it built itself.
//!
//! Options: `--runs N` (default 7); medians are printed.

mod common;

use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use common::{NATIVE_LUA, Result, check_native_lua, checked, median, ms, verdict};
use cu::{Engine, UnitOptions};
use serde::{Deserialize, Serialize};

const RECORDS: usize = 100_000;
const TARGET: Duration = Duration::from_millis(150);

/// The Lua work, the same in cu and natively: keep the records scoring at least 50, and map each
/// to a new record.
const WORK: &str = r#"
local out, n = {}, 0
for _, r in ipairs(_io.input.records) do
    if r.score >= 50 then
        n = n + 1
        out[n] = { id = r.id, label = r.name .. "!", double = r.score * 2 }
    end
end
_io.output = out
"#;

/// Builds the same records natively (untimed), then times `WORK` and prints the milliseconds
/// and how many records came out.
fn native_program() -> String {
    format!(
        r#"
local records = {{}}
for i = 1, {RECORDS} do
    records[i] = {{ id = i, name = "user-" .. i, score = (i * 37) % 101 }}
end
_io = {{ input = {{ records = records }} }}
local start = os.clock()
{WORK}
local took = os.clock() - start
io.write(string.format("%.17g\n%d", took * 1000, #_io.output))
"#
    )
}

#[derive(Serialize)]
struct Input<'a> {
    records: &'a [Record],
}

#[derive(Serialize)]
struct Record {
    id: i64,
    name: String,
    score: i64,
}

#[derive(Deserialize)]
struct Out {
    id: i64,
    label: String,
    double: i64,
}

fn records() -> Vec<Record> {
    (1..=RECORDS as i64).map(|i| Record { id: i, name: format!("user-{i}"), score: (i * 37) % 101 }).collect()
}

fn main() -> ExitCode {
    common::report(run())
}

fn run() -> Result<()> {
    let (runs, _) = common::args()?;
    check_native_lua()?;
    let scratch = std::path::PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cu-bench");
    let engine = Engine::builder().cache_dir(scratch.join("engine-cache")).build()?;
    let records = records();
    let native_program = native_program();

    let (mut input, mut work, mut output, mut total, mut native) = (vec![], vec![], vec![], vec![], vec![]);
    for _ in 0..runs {
        let mut unit = engine.unit(UnitOptions::default().time_limit(None))?;
        let start = Instant::now();
        unit.set_input(&Input { records: &records })?;
        let after_input = Instant::now();
        unit.compute(WORK)?;
        let after_work = Instant::now();
        let out: Vec<Out> = unit.output()?;
        let end = Instant::now();
        input.push(after_input - start);
        work.push(after_work - after_input);
        output.push(end - after_work);
        total.push(end - start);
        check(&out)?;

        let stdout = checked(Command::new(NATIVE_LUA).args(["-e", &native_program]).output()?, NATIVE_LUA)?;
        let (took, count) = stdout.split_once('\n').ok_or("the native program printed no count")?;
        if count.parse::<usize>()? != out.len() {
            return Err(format!("native Lua kept {count} records, cu {}", out.len()).into());
        }
        native.push(Duration::from_secs_f64(took.parse::<f64>()? / 1000.0));
    }

    let kept = records.iter().filter(|r| r.score >= 50).count();
    let (input, work, output, total, native) =
        (median(input), median(work), median(output), median(total), median(native));
    let per_record = |d: Duration| d.as_secs_f64() * 1e9 / RECORDS as f64;
    println!("{RECORDS} records in through `_io.input`, {kept} out through `_io.output`; {runs} runs, medians.\n");
    println!("| phase | cu (ms) | per record | native Lua 5.4 (ms) |");
    println!("|---|---:|---:|---:|");
    println!("| in: Rust structs → `_io.input` | {:.1} | {:.0} ns | |", ms(input), per_record(input));
    println!(
        "| Lua work (filter and map) | {:.1} | {:.0} ns | {:.1} ({:.2}×) |",
        ms(work),
        per_record(work),
        ms(native),
        work.as_secs_f64() / native.as_secs_f64()
    );
    println!("| out: `_io.output` → Rust structs | {:.1} | {:.0} ns | |", ms(output), per_record(output));
    println!(
        "| **total** | **{:.1}** | {:.0} ns | |\n\ntarget: total ≤ {} ms: {}",
        ms(total),
        per_record(total),
        TARGET.as_millis(),
        verdict(total <= TARGET)
    );
    Ok(())
}

/// The output must be the right records, not merely the right number of them.
fn check(out: &[Out]) -> Result<()> {
    let first = out.first().ok_or("cu returned no records")?;
    let expected_id = (1..).find(|i| (i * 37) % 101 >= 50).unwrap_or(0);
    if first.id != expected_id
        || first.label != format!("user-{expected_id}!")
        || first.double != (expected_id * 37 % 101) * 2
    {
        return Err(format!(
            "cu's first record is wrong: id {} label {} double {}",
            first.id, first.label, first.double
        )
        .into());
    }
    Ok(())
}
