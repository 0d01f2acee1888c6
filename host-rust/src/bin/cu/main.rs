//! `cu`: run Lua 5.4 in the cu sandbox from the command line.

mod args;
mod common;
mod home;
mod input;
mod limits;
mod repl;
mod report;
mod results;
mod serve;
mod stream;

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::Parser;
use cu::{Engine, Print, Unit, UnitOptions, Value};

use args::{Cli, Command};
use common::EXIT_USAGE;

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let (Command::Run { file, .. } | Command::Stream { file, .. }, Some(input)) = (&cli.command, &cli.input)
        && file == "-"
        && input == "-"
    {
        return usage("the script and --input cannot both come from standard input");
    }
    let script = match &cli.command {
        Command::Run { file, .. } | Command::Stream { file, .. } => match input::script(file) {
            Ok(script) => Some(script),
            Err(message) => return usage(&message),
        },
        Command::Eval { .. }
        | Command::Repl
        | Command::Home { .. }
        | Command::Snapshot { .. }
        | Command::Serve { .. } => None,
    };
    let engine = match engine(&cli) {
        Ok(engine) => engine,
        Err(error) => return report::failure(&error, cli.json),
    };
    let options = UnitOptions::default()
        .store(cli.store.clone())
        .memory_limit(cli.memory_limit.0)
        .time_limit(cli.timeout.0)
        .retry_conflicts(!cli.no_retry)
        .instruction_limit(cli.instructions)
        // JSON output must stay one clean document, so `print` is collected into it.
        .print(if cli.json { Print::Capture } else { Print::Stdout });
    let options = match &cli.audit_label {
        Some(label) => options.audit_label(label.as_str()),
        None => options,
    };
    let options = cli.allow.iter().fold(module_path(options, &cli), |options, allow| match allow {
        common::Allowance::Debug => options.allow(cu::Allow::Debug),
    });
    if let Command::Serve { file, port, host, workers, max_body, health_path, quiet } = &cli.command {
        let addr = std::net::SocketAddr::new(*host, *port);
        let serve = serve::Serve { file, addr, workers: *workers, max_body: *max_body, health_path, quiet: *quiet };
        return serve::run(&engine, options.print(Print::Stdout), &serve);
    }
    let mut unit = match engine.unit(options) {
        Ok(unit) => unit,
        Err(cu::Error::Module { message }) => return usage(&message),
        Err(error) => return report::failure(&error, cli.json),
    };
    if let Err(exit) = load_io(&mut unit, &cli) {
        return exit;
    }
    for code in &cli.execute {
        if let Err(error) = unit.compute_named("(command line)", code.as_encoded_bytes()) {
            return report::failure(&error, cli.json);
        }
    }
    match &cli.command {
        Command::Eval { code } => run_chunk(&mut unit, "(eval)", code.as_encoded_bytes(), cli.json),
        Command::Run { args, .. } => {
            let (name, code) = script.unwrap_or_default();
            if let Err(error) = unit.set_global("arg", &input::arg_table(&name, args)) {
                return report::failure(&error, cli.json);
            }
            run_chunk(&mut unit, &name, &code, cli.json)
        }
        Command::Stream { batch, .. } => {
            let (_, code) = script.unwrap_or_default();
            let Some(path) = &cli.input else {
                return usage("`cu stream` needs --input: a JSON array of items");
            };
            match input::json(path) {
                Ok(Value::Array(items)) => stream::run(&mut unit, &code, items, *batch as usize, cli.json),
                Ok(other) => usage(&format!("--input {path} must hold a JSON array of items, not a {}", kind(&other))),
                Err(message) => usage(&message),
            }
        }
        Command::Repl => repl::run(&mut unit, cli.json, std::io::stdin().is_terminal()),
        Command::Home { action } => home::home(&mut unit, action, cli.json),
        Command::Snapshot { action } => home::snapshot(&mut unit, action, cli.json),
        Command::Serve { .. } => unreachable!("`cu serve` returned before a unit was made"),
    }
}

/// Where `require` looks: the script's (or app's) directory, or the current one, then --lib-dir,
/// then --path.
fn module_path(options: UnitOptions, cli: &Cli) -> UnitOptions {
    let script_dir = match &cli.command {
        Command::Run { file, .. } | Command::Stream { file, .. } if file != "-" => {
            std::path::Path::new(file).parent().map(std::path::Path::to_path_buf).unwrap_or_default()
        }
        Command::Serve { file, .. } => file.parent().map(std::path::Path::to_path_buf).unwrap_or_default(),
        _ => std::path::PathBuf::new(),
    };
    let options = cli.lib_dir.iter().fold(options.module_path(script_dir), |options, dir| options.module_path(dir));
    match &cli.lua_path {
        Some(templates) => options.module_pattern(templates),
        None => options,
    }
}

fn engine(cli: &Cli) -> cu::Result<Engine> {
    let builder = Engine::builder();
    let builder = match (&cli.cache_dir, cli.no_cache) {
        (_, true) => builder.no_cache(),
        (Some(dir), false) => builder.cache_dir(dir),
        (None, false) => builder,
    };
    builder.build()
}

/// Puts --meta into `_io.meta` and, except for `stream` (whose input is its items), --input into
/// `_io.input`.
fn load_io(unit: &mut Unit, cli: &Cli) -> Result<(), ExitCode> {
    if let Some(text) = &cli.meta {
        let meta = input::json_text(text).map_err(|message| usage(&format!("--meta: {message}")))?;
        unit.set_meta(&meta).map_err(|error| report::failure(&error, cli.json))?;
    }
    if let (Some(path), false) = (&cli.input, matches!(cli.command, Command::Stream { .. })) {
        let input = input::json(path).map_err(|message| usage(&message))?;
        unit.set_input(&input).map_err(|error| report::failure(&error, cli.json))?;
    }
    Ok(())
}

pub(crate) fn usage(message: &str) -> ExitCode {
    eprintln!("cu: {message}");
    ExitCode::from(EXIT_USAGE)
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Map(_) => "object",
        Value::Array(_) => "array",
        Value::String(_) => "string",
        Value::Nil => "null",
        Value::Boolean(_) => "boolean",
        Value::Integer(_) | Value::Float(_) | Value::BigInt(_) => "number",
    }
}

/// Prints a call's outcome and `_io.output`, as text or JSON.
pub(crate) fn print_outcome(outcome: &cu::Outcome, output: &Value, json: bool) {
    let produced = results::Produced {
        values: &outcome.values,
        shown: &outcome.shown,
        output,
        printed: &outcome.printed,
        instructions: outcome.instructions,
    };
    results::outcome(&produced, json);
}

fn run_chunk(unit: &mut Unit, name: &str, code: &[u8], json: bool) -> ExitCode {
    match unit.compute_named(name, code).and_then(|outcome| Ok((outcome, unit.output::<Value>()?))) {
        Ok((outcome, output)) => {
            print_outcome(&outcome, &output, json);
            ExitCode::SUCCESS
        }
        Err(error) => report::failure(&error, json),
    }
}
