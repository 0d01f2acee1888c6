//! Printing results and errors, as text or JSON.

use std::io::Write;
use std::process::ExitCode;

use cu::{Error, LimitKind, Outcome, Value};
use serde_json::json;

use crate::args::{EXIT_ENGINE, EXIT_LUA};

/// Prints returned values: one per line in Lua-like form, or one JSON document.
pub fn outcome(outcome: &Outcome, json: bool) {
    let mut out = std::io::stdout().lock();
    let written = if json {
        let document = json!({
            "returns": outcome.values,
            "printed": String::from_utf8_lossy(&outcome.printed),
        });
        writeln!(out, "{document}")
    } else {
        values(&mut out, &outcome.values)
    };
    // A closed pipe (`cu eval ... | head`) is not an error worth reporting.
    let _ = written.and_then(|()| out.flush());
}

fn values(out: &mut impl Write, values: &[Value]) -> std::io::Result<()> {
    for value in values {
        writeln!(out, "{value}")?;
    }
    Ok(())
}

/// Reports an error on stderr (and as JSON on stdout with `--json`) and gives the exit status.
pub fn failure(error: &Error, json: bool) -> ExitCode {
    eprintln!("{}", describe(error));
    if json {
        println!("{}", json!({ "error": to_json(error) }));
    }
    ExitCode::from(if error.is_lua_error() { EXIT_LUA } else { EXIT_ENGINE })
}

/// The human-readable report: the message, then the traceback when there is one.
pub fn describe(error: &Error) -> String {
    match error {
        Error::Runtime { message, traceback, .. } if !traceback.is_empty() => {
            format!("cu: error: {message}\n{traceback}")
        }
        Error::Runtime { message, .. } => format!("cu: error: {message}"),
        Error::Limit { reset: true, message, .. } => format!("cu: {message} (globals are gone)"),
        _ if error.is_lua_error() => format!("cu: {error}"),
        _ => format!("cu: internal error: {error}"),
    }
}

fn to_json(error: &Error) -> serde_json::Value {
    match error {
        Error::Syntax { message, line, incomplete } => {
            json!({ "kind": "syntax", "message": message, "line": line, "incomplete": incomplete })
        }
        Error::Runtime { message, traceback, value } => {
            json!({ "kind": "runtime", "message": message, "traceback": traceback, "value": value })
        }
        Error::Limit { kind, message, reset } => json!({
            "kind": "limit",
            "limit": match kind { LimitKind::Time => "time", LimitKind::Memory => "memory", _ => "other" },
            "message": message,
            "reset": reset,
        }),
        Error::Conversion { path, reason } => json!({ "kind": "conversion", "path": path, "reason": reason }),
        other => json!({ "kind": "engine", "message": other.to_string() }),
    }
}
