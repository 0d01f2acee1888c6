//! Printing results and errors, as text or JSON.

use std::io::Write;
use std::process::ExitCode;

use cu::{Error, Json, LimitKind, Outcome, StoreErrorKind, Value};
use serde_json::json;

use crate::args::{EXIT_ENGINE, EXIT_LUA};

/// Prints what a call produced: the returned values one per line in Lua-like form, then
/// `_io.output = ...` when the call set it; or all of it as one JSON document.
pub fn outcome(outcome: &Outcome, output: &Value, json: bool) {
    let mut out = std::io::stdout().lock();
    let written = if json {
        let returns: Vec<Json<'_>> = outcome.values.iter().map(Json).collect();
        let document = json!({
            "returns": returns,
            "output": Json(output),
            "printed": String::from_utf8_lossy(&outcome.printed),
        });
        writeln!(out, "{document}")
    } else {
        text(&mut out, &outcome.values, output)
    };
    // A closed pipe (`cu eval ... | head`) is not an error worth reporting.
    let _ = written.and_then(|()| out.flush());
}

fn text(out: &mut impl Write, values: &[Value], output: &Value) -> std::io::Result<()> {
    for value in values {
        writeln!(out, "{value}")?;
    }
    if *output != Value::Nil {
        writeln!(out, "_io.output = {output}")?;
    }
    Ok(())
}

/// One value on its own line, as JSON or in Lua-like form.
pub fn line(out: &mut impl Write, value: &Value, json: bool) -> std::io::Result<()> {
    if json {
        serde_json::to_writer(&mut *out, &Json(value)).map_err(std::io::Error::other)?;
        writeln!(out)
    } else {
        writeln!(out, "{value}")
    }
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
        Error::Batch { batch, items, source } => {
            let inner = describe(source);
            let inner = inner.strip_prefix("cu: ").unwrap_or(&inner);
            format!("cu: batch {batch} (items {} to {}): {inner}", items.start(), items.end())
        }
        _ if error.is_lua_error() => format!("cu: {error}"),
        _ => format!("cu: internal error: {error}"),
    }
}

fn to_json(error: &Error) -> serde_json::Value {
    match error {
        Error::Syntax { message, line, incomplete } => {
            json!({ "kind": "syntax", "message": message, "line": line, "incomplete": incomplete })
        }
        Error::Runtime { message, traceback, value } => json!({
            "kind": "runtime",
            "message": message,
            "traceback": traceback,
            "value": value.as_ref().map(Json),
        }),
        Error::Limit { kind, message, reset } => json!({
            "kind": "limit",
            "limit": match kind { LimitKind::Time => "time", LimitKind::Memory => "memory", _ => "other" },
            "message": message,
            "reset": reset,
        }),
        Error::Conversion { path, reason } => {
            json!({ "kind": "conversion", "path": path, "reason": reason })
        }
        Error::Store { kind, message } => json!({
            "kind": "store",
            "store": match kind {
                StoreErrorKind::Conflict => "conflict",
                StoreErrorKind::TooLarge => "too-large",
                _ => "unavailable",
            },
            "message": message,
        }),
        Error::Schema { path, rule, message } => {
            json!({ "kind": "schema", "path": path, "rule": rule, "message": message })
        }
        Error::Batch { batch, items, source } => json!({
            "kind": "batch",
            "batch": batch,
            "items": [items.start(), items.end()],
            "error": to_json(source),
        }),
        other => json!({ "kind": "engine", "message": other.to_string() }),
    }
}
