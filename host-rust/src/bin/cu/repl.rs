//! `cu repl`: an interactive session on one unit.
//!
//! Like the `lua` interpreter: a line is first tried as an expression (`return <line>`) and its
//! values printed; otherwise it runs as a statement, and a statement that is not finished yet
//! continues on the next line. `=expr` is shorthand for `return expr`.

use std::io::BufRead;
use std::process::ExitCode;

use cu::{Error, Unit};
use rustyline::DefaultEditor;
use rustyline::error::ReadlineError;

use crate::report;

const CHUNK_NAME: &str = "stdin";
const PROMPT: &str = "> ";
const CONTINUE_PROMPT: &str = ">> ";

/// What to do with the input gathered so far.
enum Step {
    /// It ran (or failed); start a new entry.
    Done,
    /// It is an unfinished statement; read another line.
    More,
}

pub fn run(unit: &mut Unit, json: bool, interactive: bool) -> ExitCode {
    if interactive { with_editor(unit, json) } else { from_lines(unit, json) }
}

/// Piped input: no prompts, no line editing.
fn from_lines(unit: &mut Unit, json: bool) -> ExitCode {
    let mut buffer = String::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        buffer.push_str(&line);
        match entry(unit, &buffer, json) {
            Step::Done => buffer.clear(),
            Step::More => buffer.push('\n'),
        }
    }
    if !buffer.trim().is_empty() {
        // Input ended inside an unfinished statement: report its syntax error.
        if let Err(error) = unit.compute_named(CHUNK_NAME, &buffer) {
            eprintln!("{}", report::describe(&error));
        }
    }
    ExitCode::SUCCESS
}

fn with_editor(unit: &mut Unit, json: bool) -> ExitCode {
    let mut editor = match DefaultEditor::new() {
        Ok(editor) => editor,
        Err(e) => {
            eprintln!("cu: cannot start line editing ({e}); reading plain lines");
            return from_lines(unit, json);
        }
    };
    let history = history_file();
    if let Some(path) = &history {
        let _ = editor.load_history(path);
    }
    println!("cu {} (Lua 5.4 in a WebAssembly sandbox) — Ctrl-D to quit", env!("CARGO_PKG_VERSION"));
    let mut buffer = String::new();
    loop {
        let prompt = if buffer.is_empty() { PROMPT } else { CONTINUE_PROMPT };
        match editor.readline(prompt) {
            Ok(line) => {
                buffer.push_str(&line);
                match entry(unit, &buffer, json) {
                    Step::Done => {
                        let _ = editor.add_history_entry(buffer.as_str());
                        buffer.clear();
                    }
                    Step::More => buffer.push('\n'),
                }
            }
            Err(ReadlineError::Interrupted) => buffer.clear(),
            Err(ReadlineError::Eof) => break,
            Err(e) => {
                eprintln!("cu: {e}");
                break;
            }
        }
    }
    if let Some(path) = &history {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let _ = editor.save_history(path);
    }
    ExitCode::SUCCESS
}

/// Runs one entry: as an expression if it is one, else as a statement.
fn entry(unit: &mut Unit, input: &str, json: bool) -> Step {
    if input.trim().is_empty() {
        return Step::Done;
    }
    let result = match input.strip_prefix('=') {
        Some(expression) => unit.compute_named(CHUNK_NAME, format!("return {expression}")),
        None => match unit.compute_named(CHUNK_NAME, format!("return {input}")) {
            Err(Error::Syntax { .. }) => unit.compute_named(CHUNK_NAME, input),
            other => other,
        },
    };
    match result.and_then(|outcome| Ok((outcome, unit.output::<cu::Value>()?))) {
        Ok((outcome, output)) => crate::print_outcome(&outcome, &output, json),
        Err(Error::Syntax { incomplete: true, .. }) => return Step::More,
        Err(error) => {
            eprintln!("{}", report::describe(&error));
        }
    }
    Step::Done
}

fn history_file() -> Option<std::path::PathBuf> {
    dirs::data_local_dir().map(|dir| dir.join("cu").join("history"))
}
