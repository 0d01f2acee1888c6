//! `cu home` and `cu snapshot`: `_home` from the command line, without running Lua code.

use std::process::ExitCode;

use cu::{HomeKind, HomeOp, Json, Snapshot, Unit, Value};

use crate::args::{HomeAction, SnapshotAction};
use crate::{input, report, usage};

pub fn home(unit: &mut Unit, action: &HomeAction, json: bool) -> ExitCode {
    let done = match action {
        HomeAction::Get { path } => unit.home_get::<Value>(path).map(|value| print_value(&value, json)),
        HomeAction::Set { path, value } => match input::json_text(value) {
            Ok(value) => unit.home_set(path, &value),
            Err(message) => return usage(&format!("the value for {path}: {message}")),
        },
        HomeAction::Delete { path } => unit.home_delete(path),
        HomeAction::Keys { path } => unit.home_keys(path).map(|keys| print_keys(&keys, json)),
        HomeAction::Batch { file } => match input::json(file)
            .and_then(|ops| cu::from_value::<Vec<HomeOp>>(ops, "operations").map_err(|e| e.to_string()))
        {
            Ok(operations) => unit.home_batch(&operations).map(|results| {
                for result in &results {
                    print_value(result, json);
                }
            }),
            Err(message) => return usage(&format!("the batch in {file}: {message}")),
        },
        HomeAction::Stats => unit.home_stats().map(|s| {
            if json {
                let (tables, functions, entries, bytes) = (s.tables, s.functions, s.entries, s.bytes);
                println!(
                    "{}",
                    serde_json::json!({"tables": tables, "functions": functions, "entries": entries, "bytes": bytes})
                );
            } else {
                println!("{} tables, {} functions, {} entries, {} bytes", s.tables, s.functions, s.entries, s.bytes);
            }
        }),
    };
    finish(done, json)
}

pub fn snapshot(unit: &mut Unit, action: &SnapshotAction, json: bool) -> ExitCode {
    let done = match action {
        SnapshotAction::Save { name } => unit.save_snapshot(name).map(|s| print_snapshots("saved", &[s], json)),
        SnapshotAction::Restore { name } => {
            unit.restore_snapshot(name).map(|s| print_snapshots("restored", &[s], json))
        }
        SnapshotAction::List => unit.list_snapshots().map(|list| print_snapshots("", &list, json)),
        SnapshotAction::Delete { name } => unit.delete_snapshot(name).and_then(|found| {
            if found {
                Ok(())
            } else {
                Err(cu::Error::Runtime {
                    message: format!("there is no snapshot named '{name}'"),
                    traceback: String::new(),
                    value: None,
                })
            }
        }),
    };
    finish(done, json)
}

fn finish(done: cu::Result<()>, json: bool) -> ExitCode {
    match done {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report::failure(&error, json),
    }
}

fn print_value(value: &Value, json: bool) {
    if json {
        println!("{}", serde_json::json!(Json(value)));
    } else {
        println!("{value}");
    }
}

fn kind_name(kind: HomeKind) -> &'static str {
    match kind {
        HomeKind::Boolean => "boolean",
        HomeKind::Integer => "integer",
        HomeKind::Float => "float",
        HomeKind::String => "string",
        HomeKind::Null => "null",
        HomeKind::Table => "table",
        HomeKind::Function => "function",
        _ => "value",
    }
}

fn print_keys(keys: &[(Value, HomeKind)], json: bool) {
    for (key, kind) in keys {
        if json {
            println!("{}", serde_json::json!({"key": Json(key), "kind": kind_name(*kind)}));
        } else {
            println!("{key}\t{}", kind_name(*kind));
        }
    }
}

fn print_snapshots(verb: &str, snapshots: &[Snapshot], json: bool) {
    for s in snapshots {
        if json {
            println!(
                "{}",
                serde_json::json!({"name": s.name, "keys": s.keys, "bytes": s.bytes, "saved_ms": s.saved_ms})
            );
        } else {
            let verb = if verb.is_empty() { String::new() } else { format!("{verb} ") };
            println!("{verb}{}: {} keys, {} bytes", s.name, s.keys, s.bytes);
        }
    }
}
