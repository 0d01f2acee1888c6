//! `cu`: run Lua 5.4 in the cu sandbox from the command line.

mod args;
mod report;
mod repl;

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use clap::Parser;
use cu::{Engine, Print, Unit, UnitOptions, Value};

use args::{Cli, Command, EXIT_USAGE};

fn main() -> ExitCode {
    let cli = Cli::parse();
    let engine = match engine(&cli) {
        Ok(engine) => engine,
        Err(error) => return report::failure(&error, cli.json),
    };
    let options = UnitOptions::default()
        .memory_limit(cli.memory_limit.0)
        .time_limit(cli.timeout.0)
        // JSON output must stay one clean document, so `print` is collected into it.
        .print(if cli.json { Print::Capture } else { Print::Stdout });
    let mut unit = match engine.unit(options) {
        Ok(unit) => unit,
        Err(error) => return report::failure(&error, cli.json),
    };
    match &cli.command {
        Command::Eval { code } => run_chunk(&mut unit, "(eval)", code, cli.json),
        Command::Run { file, args } => {
            let (name, code) = match read_script(file) {
                Ok(script) => script,
                Err(message) => {
                    eprintln!("cu: {message}");
                    return ExitCode::from(EXIT_USAGE);
                }
            };
            if let Err(error) = unit.set_global("arg", &arg_table(&name, args)) {
                return report::failure(&error, cli.json);
            }
            run_chunk(&mut unit, &name, &code, cli.json)
        }
        Command::Repl => repl::run(&mut unit, cli.json, std::io::stdin().is_terminal()),
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

fn run_chunk(unit: &mut Unit, name: &str, code: &str, json: bool) -> ExitCode {
    match unit.compute_named(name, code) {
        Ok(outcome) => {
            report::outcome(&outcome, json);
            ExitCode::SUCCESS
        }
        Err(error) => report::failure(&error, json),
    }
}

/// The script's name for messages and its code. `-` reads standard input. A first line starting
/// with `#` (a shebang) is turned into a comment, as the `lua` interpreter skips it.
fn read_script(file: &str) -> Result<(String, String), String> {
    let (name, mut code) = if file == "-" {
        let mut code = String::new();
        std::io::stdin().read_to_string(&mut code).map_err(|e| format!("cannot read standard input: {e}"))?;
        ("stdin".to_string(), code)
    } else {
        let code = std::fs::read_to_string(file).map_err(|e| format!("cannot read {file}: {e}"))?;
        (file.to_string(), code)
    };
    if code.starts_with('#') {
        code.insert_str(0, "--");
    }
    Ok((name, code))
}

/// Lua's `arg` convention: `arg[0]` is the script, `arg[1..]` its arguments.
fn arg_table(script: &str, args: &[String]) -> Value {
    let entries = std::iter::once(script)
        .chain(args.iter().map(String::as_str))
        .enumerate()
        .map(|(i, a)| (Value::Integer(i as i64), Value::from(a)))
        .collect();
    Value::Map(entries)
}
