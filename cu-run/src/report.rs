//! Reporting the unit's errors as `cu` reports its own (host-rust/src/bin/cu/report.rs): the same
//! text on stderr, the same JSON on stdout with `--json`, the same exit statuses.

use serde_json::json;
use value::{Json, Value};

use crate::bindings::cu::unit::types::{Error, LimitKind, StoreErrorKind};
use crate::common::{EXIT_ENGINE, EXIT_LUA};

/// Reports `error` and gives the exit status: every error of the unit is the Lua code's.
pub fn failure(error: &Error, json: bool) -> u8 {
    eprintln!("{}", describe(error));
    if json {
        println!("{}", json!({ "error": to_json(error) }));
    }
    EXIT_LUA
}

/// Reports a value from the unit that cannot be read: the unit is not sound.
pub fn malformed(json: bool) -> u8 {
    let message = "the unit returned a malformed value";
    eprintln!("cu: internal error: {message}");
    if json {
        println!("{}", json!({ "error": { "kind": "engine", "message": message } }));
    }
    EXIT_ENGINE
}

fn describe(error: &Error) -> String {
    match error {
        Error::Syntax(e) => format!("cu: syntax error: {}", e.message),
        Error::Runtime(e) if !e.traceback.is_empty() => format!("cu: error: {}\n{}", e.message, e.traceback),
        Error::Runtime(e) => format!("cu: error: {}", e.message),
        Error::Limit(e) => format!("cu: {}", e.message),
        Error::Conversion(e) => format!("cu: cannot convert {}: it {}", e.path, e.reason),
        Error::Store(e) => format!("cu: {}", e.message),
        Error::Schema(e) => format!("cu: {}", e.message),
    }
}

fn to_json(error: &Error) -> serde_json::Value {
    match error {
        Error::Syntax(e) => {
            json!({ "kind": "syntax", "message": e.message, "line": e.line, "incomplete": e.incomplete })
        }
        Error::Runtime(e) => {
            let value = e.value.as_ref().and_then(|v| Value::from_packed(&v.nodes).ok());
            json!({
                "kind": "runtime",
                "message": e.message,
                "traceback": e.traceback,
                "value": value.as_ref().map(Json),
            })
        }
        Error::Limit(e) => json!({
            "kind": "limit",
            "limit": match e.kind {
                LimitKind::Time => "time",
                LimitKind::Memory => "memory",
                LimitKind::Instructions => "instructions",
            },
            "message": e.message,
            "reset": false,
        }),
        Error::Conversion(e) => json!({ "kind": "conversion", "path": e.path, "reason": e.reason }),
        Error::Store(e) => json!({
            "kind": "store",
            "store": match e.kind {
                StoreErrorKind::Conflict => "conflict",
                StoreErrorKind::TooLarge => "too-large",
                StoreErrorKind::Unavailable => "unavailable",
            },
            "message": e.message,
        }),
        Error::Schema(e) => json!({ "kind": "schema", "path": e.path, "rule": e.rule, "message": e.message }),
    }
}
