//! `cu home` and `cu snapshot`: `_home` from the command line, without running Lua code.

use std::process::ExitCode;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use cu::{AuditEntry, Hit, HomeKind, HomeOp, IndexInfo, IndexKind, Json, Snapshot, Unit, Value};

use crate::args::{AuditAction, HomeAction, IndexAction, SchemaAction, SnapshotAction, Timeout};
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
        HomeAction::Index { action } => return index(unit, action, json),
        HomeAction::Query { table, conditions, limit, desc } => {
            let conditions = match conditions.iter().map(|c| condition(c)).collect::<Result<Vec<_>, _>>() {
                Ok(conditions) => conditions,
                Err(message) => return usage(&message),
            };
            let query = serde_json::json!({
                "table": table,
                "where": conditions,
                "limit": limit,
                "sort": if *desc { "desc" } else { "asc" },
            });
            unit.home_query(&query).map(|hits| print_hits(&hits, json))
        }
        HomeAction::Schema { action } => match action {
            SchemaAction::Set { table, schema } => match input::json_text(schema) {
                Ok(schema) => unit.home_set_schema(table, &schema),
                Err(message) => return usage(&format!("the schema of {table}: {message}")),
            },
            SchemaAction::Get { table } => unit.home_schema::<Value>(table).map(|schema| print_value(&schema, json)),
            SchemaAction::Remove { table } => unit.home_set_schema(table, &()),
        },
        HomeAction::Audit { action } => match action {
            AuditAction::Enable { operations } => {
                let operations: Vec<&str> = operations.iter().map(String::as_str).collect();
                unit.enable_audit_log(&operations)
            }
            AuditAction::Show { since, limit } => {
                let since = match since.as_deref().map(since_ms).transpose() {
                    Ok(since) => since,
                    Err(message) => return usage(&message),
                };
                unit.audit_log(since, None, *limit).map(|entries| print_audit(&entries, json))
            }
        },
        HomeAction::Persist { table, name, file } => match text(file) {
            Ok(code) => unit.persist_function(table, name, &code),
            Err(message) => return usage(&message),
        },
        HomeAction::Validate { file } => {
            let code = match text(file) {
                Ok(code) => code,
                Err(message) => return usage(&message),
            };
            return match unit.validate_function(&code) {
                Ok(validation) => {
                    if json {
                        println!("{}", serde_json::json!(validation));
                    } else {
                        println!(
                            "{}",
                            validation.error.as_deref().map_or("valid".to_string(), |e| format!("invalid: {e}"))
                        );
                    }
                    if validation.is_valid { ExitCode::SUCCESS } else { ExitCode::from(crate::common::EXIT_LUA) }
                }
                Err(error) => report::failure(&error, json),
            };
        }
        HomeAction::Stats => unit.home_stats().map(|s| {
            let (tables, functions, entries, bytes, saved) = (s.tables, s.functions, s.entries, s.bytes, s.saved);
            if json {
                let stats = serde_json::json!({
                    "tables": tables, "functions": functions, "entries": entries, "bytes": bytes, "saved": saved,
                });
                println!("{stats}");
            } else {
                println!("{tables} tables, {functions} functions, {entries} entries, {bytes} bytes ({saved} saved by compression)");
            }
        }),
    };
    finish(done, json)
}

fn index(unit: &mut Unit, action: &IndexAction, json: bool) -> ExitCode {
    let done = match action {
        IndexAction::Create { table, field, kind } => {
            let kind = if kind == "hash" { IndexKind::Hash } else { IndexKind::Btree };
            unit.home_create_index(table, field, kind).map(|info| print_indexes(&[info], json))
        }
        IndexAction::Drop { table, field } => unit.home_drop_index(table, field).and_then(|found| {
            if found { Ok(()) } else { Err(runtime(format!("there is no index on {field} of {table}"))) }
        }),
        IndexAction::List => unit.home_indexes().map(|list| print_indexes(&list, json)),
        IndexAction::Check => unit.home_check_indexes().and_then(|problems| {
            for problem in &problems {
                println!("{problem}");
            }
            if problems.is_empty() {
                Ok(())
            } else {
                Err(runtime(format!("{} problems in the indexes", problems.len())))
            }
        }),
    };
    finish(done, json)
}

fn runtime(message: String) -> cu::Error {
    cu::Error::Runtime { message, traceback: String::new(), value: None }
}

/// A condition of `cu home query --where`: `FIELD OPERATOR VALUE` (or `FIELD between LOW HIGH`)
/// as the query's map. A value that is not JSON is a string.
fn condition(text: &str) -> Result<serde_json::Value, String> {
    let bad = |why: &str| format!("--where '{text}': {why}");
    let words = ["between", "startsWith", "endsWith", "contains"];
    let found =
        words.iter().find_map(|word| text.find(&format!(" {word} ")).map(|at| (at, at + word.len() + 2, *word)));
    let (field, operator, rest) = match found {
        Some((at, after, word)) => (&text[..at], word, &text[after..]),
        None => {
            let at =
                text.find(['=', '!', '<', '>', '~']).ok_or_else(|| bad("no operator: write e.g. 'score >= 800'"))?;
            let operator = ["<=", ">=", "!=", "~=", "==", "=", "<", ">"]
                .into_iter()
                .find(|op| text[at..].starts_with(op))
                .ok_or_else(|| {
                    bad("not an operator: use =, !=, <, <=, >, >=, between, startsWith, endsWith or contains")
                })?;
            (&text[..at], operator, &text[at + operator.len()..])
        }
    };
    let field = field.trim();
    if field.is_empty() {
        return Err(bad("no field before the operator"));
    }
    let value = if operator == "between" {
        let tokens = tokens(rest.trim());
        let [low, high] = tokens.as_slice() else {
            return Err(bad("between needs two values: 'score between 400 600'"));
        };
        serde_json::json!([scalar(low), scalar(high)])
    } else {
        scalar(rest.trim())
    };
    Ok(serde_json::json!({ "field": field, "operator": operator, "value": value }))
}

/// A value from the command line: JSON when it is, else the text as a string.
fn scalar(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|_| serde_json::Value::String(text.to_string()))
}

/// Words split at spaces, a JSON string ("two words") counting as one.
fn tokens(text: &str) -> Vec<&str> {
    let mut found = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let end = if rest.starts_with('"') {
            let mut escaped = false;
            rest.char_indices()
                .skip(1)
                .find(|&(_, c)| {
                    let closes = c == '"' && !escaped;
                    escaped = c == '\\' && !escaped;
                    closes
                })
                .map_or(rest.len(), |(i, _)| i + 1)
        } else {
            rest.find(char::is_whitespace).unwrap_or(rest.len())
        };
        found.push(&rest[..end]);
        rest = rest[end..].trim_start();
    }
    found
}

/// `--since`: an age (`10m`, `2h`) or milliseconds since the Unix epoch.
fn since_ms(text: &str) -> Result<u64, String> {
    if let Ok(ms) = text.parse::<u64>() {
        return Ok(ms);
    }
    let age: Timeout = text.parse().map_err(|e| format!("--since {text}: {e}"))?;
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
    Ok(now.saturating_sub(age.0.unwrap_or(Duration::ZERO)).as_millis() as u64)
}

fn print_hits(hits: &[Hit], json: bool) {
    for hit in hits {
        if json {
            println!("{}", serde_json::json!({"key": Json(&hit.key), "value": Json(&hit.value)}));
        } else {
            println!("{}\t{}", hit.key, hit.value);
        }
    }
}

fn print_indexes(indexes: &[IndexInfo], json: bool) {
    for index in indexes {
        if json {
            println!("{}", serde_json::json!(index));
        } else {
            let kind = if index.kind == IndexKind::Hash { "hash" } else { "btree" };
            println!("{}\t{}\t{kind}", index.table, index.field);
        }
    }
}

fn print_audit(entries: &[AuditEntry], json: bool) {
    for entry in entries {
        if json {
            println!("{}", serde_json::json!(entry));
        } else {
            let more = if entry.more > 0 { format!(" and {} more", entry.more) } else { String::new() };
            let label = entry.label.as_deref().map_or(String::new(), |l| format!(" [{l}]"));
            println!("{} {}{label} {}{more}", utc(entry.time_ms), entry.operation, entry.targets.join(" "));
        }
    }
}

/// Milliseconds since the Unix epoch as `2026-12-03T10:41:04.123Z`.
fn utc(ms: u64) -> String {
    let (days, ms_of_day) = ((ms / 86_400_000) as i64, ms % 86_400_000);
    // Howard Hinnant's days-to-civil.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let (h, m, s, milli) = (ms_of_day / 3_600_000, ms_of_day / 60_000 % 60, ms_of_day / 1000 % 60, ms_of_day % 1000);
    format!("{year:04}-{month:02}-{day:02}T{h:02}:{m:02}:{s:02}.{milli:03}Z")
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

/// A function's code for `persist` and `validate`, which the stored-function API takes as text.
fn text(file: &str) -> Result<String, String> {
    let (name, code) = input::script(file)?;
    String::from_utf8(code).map_err(|e| format!("{name} is not UTF-8 text ({e}): a stored function's code must be"))
}
