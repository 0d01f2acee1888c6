//! cu-run: `cu run` as a WASI command component. It imports a cu unit (`compute`, `io-table`)
//! and runs a script in it as `cu run` does: the same options, output and exit statuses. Composed
//! with cu and a kv provider (compose/cu-run.wac), stock `wasmtime run` runs it:
//!
//! ```text
//! wasmtime run --dir . target/cu-run.wasm script.lua one two
//! ```

#[path = "../../host-rust/src/bin/cu/common.rs"]
mod common;
#[path = "../../host-rust/src/bin/cu/input.rs"]
mod input;
#[path = "../../host-rust/src/bin/cu/limits.rs"]
mod limits;
mod report;
#[path = "../../host-rust/src/bin/cu/results.rs"]
mod results;

use std::process::ExitCode;

use clap::Parser;
use value::Value;

use bindings::cu::unit::compute::{Allowances, Options, PrintMode, Unit};
use bindings::cu::unit::io_table;
use bindings::cu::unit::types::{ConversionError, Error, Value as Packed};
use common::EXIT_USAGE;
use limits::{Size, Timeout};

/// The bindings of world `run` (wit/run.wit), against cu's WIT in wit/deps.
#[allow(missing_docs, missing_debug_implementations, unsafe_op_in_unsafe_fn, clippy::all)]
mod bindings {
    wit_bindgen::generate!({ world: "run", path: "wit", generate_all });
}

#[derive(Debug, Parser)]
#[command(
    name = "cu-run",
    version,
    about = "Run a Lua 5.4 script in the cu sandbox, as `cu run` does, from a WASI runtime",
    after_help = "Exit status: 0 success; 1 the Lua code failed (error, limit, unconvertible value); \
        2 usage error, unreadable script or input; 3 the engine failed.\n\n\
        `_home` is kept by the kv provider this component was composed with: in .cu/home.sqlite under \
        the preopened directory for kv-sqlite (CU_STORE=sqlite:PATH names another file).\n\n\
        Examples:\n  wasmtime run --dir . cu-run.wasm script.lua one two\n  \
        wasmtime run --dir . cu-run.wasm filter.lua --input data.json --json"
)]
struct Cli {
    /// The script file, or - for standard input
    file: String,
    /// Arguments for the script (`arg[1]`, `arg[2]`, …); the options above are cu-run's wherever
    /// they stand, as `cu run` takes its own
    #[arg(allow_hyphen_values = true)]
    args: Vec<String>,
    /// Print results as JSON: {"returns": [...], "output": ..., "printed": "..."}
    #[arg(long)]
    json: bool,
    /// A JSON file (or - for standard input) to put in `_io.input`
    #[arg(short = 'i', long, value_name = "FILE")]
    input: Option<String>,
    /// JSON to put in `_io.meta`, e.g. '{"request": "r-1"}'
    #[arg(long, value_name = "JSON")]
    meta: Option<String>,
    /// Time limit per call: e.g. 500ms, 5s, 2m; 0 for none
    #[arg(short = 't', long, default_value = "5s", value_name = "DURATION")]
    timeout: Timeout,
    /// Lua heap limit: e.g. 64M, 1G (binary units), or bytes; 0 for none
    #[arg(short = 'm', long, default_value = "256M", value_name = "SIZE")]
    memory_limit: Size,
    /// Report a commit conflict instead of running the call again (by default a call that another
    /// writer's commit made fail is retried, up to 16 times within its time limit, when it changed
    /// nothing outside `_home`)
    #[arg(long)]
    no_retry: bool,
    /// Instructions each call may run, counted inside the unit so that the same script on the
    /// same data stops at the same point on every machine (a function call, a loop iteration, a
    /// step of a library loop); `--json` reports the count [default: no limit]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    instructions: Option<u64>,
    /// Give the script what the sandbox leaves out, for code you trust: `debug`, the whole debug
    /// library (the limits and the refusal of bytecode still hold). Repeatable
    #[arg(long, value_name = "WHAT")]
    allow: Vec<common::Allowance>,
}

fn main() -> ExitCode {
    exit(run())
}

/// Ends the run with `status`. WASI 0.2's `exit` says only success or failure, so a failure
/// goes through `wasi:cli/exit.exit-with-code`, which `wasmtime run` 48 and jco's shim always
/// provide, for `cu`'s exact 1, 2 or 3.
fn exit(status: u8) -> ExitCode {
    if status != 0 {
        wasip2::cli::exit::exit_with_code(status);
    }
    ExitCode::SUCCESS
}

/// Runs the script as `cu run` does; returns `cu`'s exit status.
fn run() -> u8 {
    // Not `Cli::parse`, whose exit would reach WASI as a plain failure.
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return u8::try_from(error.exit_code()).unwrap_or(EXIT_USAGE);
        }
    };
    if cli.file == "-" && cli.input.as_deref() == Some("-") {
        return usage("the script and --input cannot both come from standard input");
    }
    let (name, code) = match input::script(&cli.file) {
        Ok(script) => script,
        Err(message) => return usage(&message),
    };
    let unit = Unit::new(&Options {
        memory_limit: cli.memory_limit.0,
        time_limit_ms: cli.timeout.0.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        // JSON output must stay one clean document, so `print` is collected into it.
        print_mode: if cli.json { PrintMode::Capture } else { PrintMode::Stdout },
        home: "home".into(),
        retry_conflicts: !cli.no_retry,
        instruction_limit: cli.instructions.unwrap_or(0),
        allow: if cli.allow.contains(&common::Allowance::Debug) { Allowances::DEBUG } else { Allowances::empty() },
    });
    if let Some(text) = &cli.meta {
        match input::json_text(text) {
            Ok(meta) => {
                try_or_exit!(packed(&meta, "_io.meta").and_then(|m| io_table::set_metadata(&unit, &m)), cli.json)
            }
            Err(message) => return usage(&format!("--meta: {message}")),
        }
    }
    if let Some(path) = &cli.input {
        match input::json(path) {
            Ok(input) => {
                try_or_exit!(packed(&input, "_io.input").and_then(|i| io_table::set_input(&unit, &i)), cli.json)
            }
            Err(message) => return usage(&message),
        }
    }
    let arg = input::arg_table(&name, &cli.args);
    try_or_exit!(packed(&arg, "arg").and_then(|arg| unit.set_global("arg", &arg)), cli.json);
    let outcome = try_or_exit!(unit.compute(&code, Some(&name)), cli.json);
    let output = try_or_exit!(io_table::get_output(&unit), cli.json);
    match (outcome.values.into_iter().map(value_of).collect::<Option<Vec<_>>>(), value_of(output)) {
        (Some(values), Some(output)) => {
            let produced = results::Produced {
                values: &values,
                shown: &outcome.shown,
                output: &output,
                printed: &outcome.printed,
                instructions: outcome.instructions,
            };
            results::outcome(&produced, cli.json);
            0
        }
        _ => report::malformed(cli.json),
    }
}

/// Runs a call into the unit, or reports its error and returns the exit status.
macro_rules! try_or_exit {
    ($call:expr, $json:expr) => {
        match $call {
            Ok(value) => value,
            Err(error) => return report::failure(&error, $json),
        }
    };
}
use try_or_exit;

fn usage(message: &str) -> u8 {
    eprintln!("cu: {message}");
    EXIT_USAGE
}

/// A value in the unit's form; one that cannot cross (JSON nested too deep) fails as the unit
/// would refuse it, naming `root`.
fn packed(value: &Value, root: &str) -> Result<Packed, Error> {
    value::to_packed(value, root)
        .map(|nodes| Packed { nodes })
        .map_err(|e| Error::Conversion(ConversionError { path: e.path, reason: e.reason }))
}

/// A value the unit returned; `None` if it is malformed, which a sound unit never returns.
fn value_of(packed: Packed) -> Option<Value> {
    Value::from_packed(&packed.nodes).ok()
}
