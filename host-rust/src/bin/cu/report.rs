//! Printing errors, as text or JSON (results.rs prints results).

use std::process::ExitCode;

use cu::{Error, Json, LimitKind, StoreErrorKind};
use serde_json::json;

use crate::common::{EXIT_ENGINE, EXIT_LUA};

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
            "limit": match kind {
                LimitKind::Time => "time",
                LimitKind::Memory => "memory",
                LimitKind::Instructions => "instructions",
                _ => "other",
            },
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
