//! `cargo xtask bench`: the Lua programs in bench/programs run in the cu component and in native
//! Lua 5.4, then the start-up costs of the `cu` CLI and of the library. The programs also run on an
//! engine without the epoch backstop (`EngineBuilder::epoch_backstop(false)`), to show its cost,
//! and in units with an instruction limit (`UnitOptions::instruction_limit`), to show its cost.
//!
//! Options: `--runs N` (default 7) and program names to run only those. The machine this runs on
//! is shared and noisy, so every figure is a median, and cu and native runs are interleaved so
//! that a burst of load hits both sides alike.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};
use std::{env, fs};

use common::{NATIVE_LUA, Result, check_native_lua, checked, median, ms, verdict};
use cu::{Engine, UnitOptions, Value};

/// Runs the program named by CU_BENCH_PROGRAM and prints its type and value, so that the bench can
/// rebuild the same `cu::Value`: floats get 17 digits because `tostring` rounds them to 14.
const NATIVE_HARNESS: &str = r#"
local value = assert(loadfile(os.getenv("CU_BENCH_PROGRAM")))()
local kind = math.type(value) or type(value)
io.write(kind, "\n", kind == "float" and string.format("%.17g", value) or tostring(value))
"#;

const TARGET_RATIO: f64 = 1.6;
const TARGET_UNIT: Duration = Duration::from_millis(1);
const TARGET_WARM_START: Duration = Duration::from_millis(60);

/// Samples for the microsecond-scale figures, where one run says nothing.
const SAMPLES: usize = 1000;

fn main() -> ExitCode {
    common::report(run())
}

fn run() -> Result<()> {
    let (runs, only) = parse_args()?;
    check_native_lua()?;
    let programs = programs(&only)?;
    let scratch = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("cu-bench");
    let engine = Engine::builder().cache_dir(scratch.join("engine-cache")).build()?;
    let unguarded = Engine::builder().cache_dir(scratch.join("engine-cache")).epoch_backstop(false).build()?;

    let unlimited = UnitOptions::default().time_limit(None);
    // A limit no program reaches: the count is kept either way, this shows what checking it costs.
    let metered = unlimited.clone().instruction_limit(Some(u64::MAX / 2));
    let sides = [(&engine, unlimited.clone()), (&unguarded, unlimited), (&engine, metered)];

    println!("{runs} runs per figure, medians; native times exclude the start of the lua5.4 process.\n");
    println!(
        "| program | cu (ms) | native Lua 5.4 (ms) | ratio | cu without the backstop (ms) | ratio | \
         cu with an instruction limit (ms) | ratio |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let mut log_ratios = [0.0; 3];
    for program in &programs {
        let (times, native) = time_program(&sides, program, runs)?;
        let ratios: Vec<f64> = times.iter().map(|time| time.as_secs_f64() / native.as_secs_f64()).collect();
        for (sum, ratio) in log_ratios.iter_mut().zip(&ratios) {
            *sum += ratio.ln();
        }
        println!(
            "| {} | {:.1} | {:.1} | {:.2}× | {:.1} | {:.2}× | {:.1} | {:.2}× |",
            program.name,
            ms(times[0]),
            ms(native),
            ratios[0],
            ms(times[1]),
            ratios[1],
            ms(times[2]),
            ratios[2]
        );
    }
    let [mean, mean_unguarded, mean_metered] = log_ratios.map(|sum| (sum / programs.len() as f64).exp());
    println!(
        "\ngeometric mean of the ratios: {mean:.2}× (target ≤ {TARGET_RATIO}×: {}); without the backstop: \
         {mean_unguarded:.2}×; with an instruction limit: {mean_metered:.2}× ({:.3}× of cu without one)\n",
        verdict(mean <= TARGET_RATIO),
        mean_metered / mean
    );

    startup(&engine, &scratch, runs)
}

struct Program {
    name: String,
    path: PathBuf,
    code: String,
}

fn parse_args() -> Result<(usize, Vec<String>)> {
    let (runs, names) = common::args()?;
    if let Some(flag) = names.iter().find(|name| name.starts_with('-')) {
        return Err(format!("unknown option {flag}; use --runs N and program names").into());
    }
    Ok((runs, names))
}

/// bench/programs/*.lua, sorted by name, or only the named ones.
fn programs(only: &[String]) -> Result<Vec<Program>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).parent().ok_or("no workspace root")?.join("bench/programs");
    let mut programs = Vec::new();
    for entry in fs::read_dir(&dir).map_err(|e| format!("reading {}: {e}", dir.display()))? {
        let path = entry?.path();
        let Some(name) =
            path.file_stem().and_then(|s| s.to_str()).filter(|_| path.extension().is_some_and(|e| e == "lua"))
        else {
            continue;
        };
        if only.is_empty() || only.iter().any(|o| o == name) {
            let code = fs::read_to_string(&path)?;
            programs.push(Program { name: name.to_string(), path, code });
        }
    }
    if let Some(missing) = only.iter().find(|name| !programs.iter().any(|p| &p.name == *name)) {
        return Err(format!("there is no {missing}.lua in {}", dir.display()).into());
    }
    if programs.is_empty() {
        return Err(format!("there are no programs in {}", dir.display()).into());
    }
    programs.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(programs)
}

/// Medians of the program's time on each side (an engine and the unit's options) and natively.
/// Every side must return the same checksum: a fast wrong answer is no result.
fn time_program(sides: &[(&Engine, UnitOptions)], program: &Program, runs: usize) -> Result<(Vec<Duration>, Duration)> {
    let chunk_name = format!("{}.lua", program.name);
    let (mut cu, mut native, mut process_start) = (vec![Vec::new(); sides.len()], Vec::new(), Vec::new());
    for run in 0..runs {
        let mut answers = Vec::new();
        // Each run starts on another side, so that none always runs just after another.
        for side in (0..sides.len()).map(|i| (i + run) % sides.len()) {
            let (engine, options) = &sides[side];
            let mut unit = engine.unit(options.clone())?;
            let start = Instant::now();
            let outcome =
                unit.compute_named(&chunk_name, &program.code).map_err(|e| format!("{}: {e}", program.name))?;
            cu[side].push(start.elapsed());
            answers.push(
                outcome.values.first().ok_or_else(|| format!("{}: returned nothing in cu", program.name))?.to_string(),
            );
        }
        let ours = answers.swap_remove(0);
        if answers.iter().any(|other| *other != ours) {
            return Err(format!("{}: cu returned {ours}, and {answers:?} on the other sides", program.name).into());
        }

        let (theirs, took) = run_native(&program.path)?;
        native.push(took);
        let theirs = theirs.to_string();
        if ours != theirs {
            return Err(format!("{}: cu returned {ours} but native Lua returned {theirs}", program.name).into());
        }

        // Sampled beside each native run, so the start-up subtracted saw the same load.
        let start = Instant::now();
        checked(Command::new(NATIVE_LUA).args(["-e", ""]).output()?, NATIVE_LUA)?;
        process_start.push(start.elapsed());
    }
    Ok((cu.into_iter().map(median).collect(), median(native).saturating_sub(median(process_start))))
}

/// The program's return value from native Lua, and the whole process's wall time.
fn run_native(path: &Path) -> Result<(Value, Duration)> {
    let start = Instant::now();
    let output = Command::new(NATIVE_LUA).args(["-e", NATIVE_HARNESS]).env("CU_BENCH_PROGRAM", path).output()?;
    let took = start.elapsed();
    let stdout = checked(output, NATIVE_LUA)?;
    let (kind, text) = stdout.split_once('\n').ok_or("the native harness printed no value")?;
    let value = match kind {
        "integer" => Value::Integer(text.parse()?),
        "float" => Value::Float(text.parse()?),
        "string" => Value::from(text),
        other => {
            return Err(format!("{}: return a number or a string, not a {other}", path.display()).into());
        }
    };
    Ok((value, took))
}

/// Cold and warm starts of the CLI, then what a library user pays per unit and per call.
fn startup(engine: &Engine, scratch: &Path, runs: usize) -> Result<()> {
    let cu_binary = env!("CARGO_BIN_EXE_cu");
    let eval = |cache_dir: &Path| -> Result<Duration> {
        let start = Instant::now();
        let output = Command::new(cu_binary)
            .args(["eval", "return 1"])
            .env("CU_CACHE_DIR", cache_dir)
            .stdin(Stdio::null())
            .output()?;
        let took = start.elapsed();
        let stdout = checked(output, "cu eval")?;
        if stdout.trim() != "1" {
            return Err(format!("`cu eval 'return 1'` printed {stdout:?}").into());
        }
        Ok(took)
    };

    let (mut cold, mut warm) = (Vec::new(), Vec::new());
    let (cold_dir, warm_dir) = (scratch.join("cold-cache"), scratch.join("warm-cache"));
    eval(&warm_dir)?; // fills the warm cache
    for _ in 0..runs {
        let _ = fs::remove_dir_all(&cold_dir);
        cold.push(eval(&cold_dir)?);
        warm.push(eval(&warm_dir)?);
    }
    let _ = fs::remove_dir_all(&cold_dir);

    let mut creations = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let start = Instant::now();
        let unit = engine.unit(UnitOptions::default())?;
        creations.push(start.elapsed());
        drop(unit); // outside the timed region: tearing down is not part of starting
    }
    let mut unit = engine.unit(UnitOptions::default())?;
    let mut calls = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        let start = Instant::now();
        unit.compute("return 1")?;
        calls.push(start.elapsed());
    }

    let (warm, unit_us) = (median(warm), median(creations).as_secs_f64() * 1e6);
    println!("| start-up | median | target |");
    println!("|---|---:|---|");
    println!("| `cu eval 'return 1'`, cold (empty cache) | {:.1} ms | |", ms(median(cold)));
    let warm_ok = verdict(warm <= TARGET_WARM_START);
    println!("| `cu eval 'return 1'`, warm | {:.1} ms | ≤ {} ms: {warm_ok} |", ms(warm), TARGET_WARM_START.as_millis());
    let unit_ok = verdict(unit_us <= TARGET_UNIT.as_secs_f64() * 1e6);
    println!("| fresh Unit (of {SAMPLES}) | {unit_us:.0} µs | ≤ {} ms: {unit_ok} |", TARGET_UNIT.as_millis());
    println!("| `compute(\"return 1\")` (of {SAMPLES}) | {:.1} µs | |", median(calls).as_secs_f64() * 1e6);
    Ok(())
}
