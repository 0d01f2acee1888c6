//! Runs the cross-host acceptance cases in tests/cases/*.toml through the real component.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use cu::{Error, LimitKind, UnitOptions, Value};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
struct File {
    case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    code: String,
    memory_limit: Option<u64>,
    time_limit_ms: Option<u64>,
    returns: Option<Vec<String>>,
    printed: Option<String>,
    error: Option<String>,
    message: Option<String>,
    line: Option<u32>,
    incomplete: Option<bool>,
    #[serde(default)]
    traceback: Vec<String>,
    #[serde(default)]
    traceback_excludes: Vec<String>,
    value: Option<String>,
    limit: Option<String>,
    path: Option<String>,
    reason: Option<String>,
}

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/cases")
}

fn load_cases() -> Vec<(String, Case)> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(cases_dir())
        .expect("tests/cases exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|ext| ext == "toml"))
        .collect();
    files.sort();
    let mut cases = Vec::new();
    for path in files {
        let text = std::fs::read_to_string(&path).expect("readable case file");
        let file: File = toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let stem = path.file_stem().expect("file name").to_string_lossy().into_owned();
        cases.extend(file.case.into_iter().map(|case| (stem.clone(), case)));
    }
    cases
}

/// Checks one case; returns what went wrong, if anything.
fn check(case: &Case) -> Result<(), String> {
    let mut options = UnitOptions::default()
        .memory_limit(case.memory_limit.unwrap_or(64 << 20))
        .time_limit(Some(Duration::from_millis(case.time_limit_ms.unwrap_or(2000))));
    options.print = cu::Print::Capture;
    let mut unit = common::unit_with(options);
    let result = unit.compute(&case.code);
    match (&case.error, result) {
        (None, Ok(outcome)) => {
            let shown: Vec<String> = outcome.values.iter().map(Value::to_string).collect();
            if let Some(expected) = case.returns.as_ref().filter(|expected| **expected != shown) {
                return Err(format!("returned {shown:?}, expected {expected:?}"));
            }
            let printed = String::from_utf8_lossy(&outcome.printed);
            if let Some(expected) = case.printed.as_ref().filter(|expected| **expected != printed) {
                return Err(format!("printed {printed:?}, expected {expected:?}"));
            }
        }
        (None, Err(error)) => return Err(format!("failed: {error:?}")),
        (Some(kind), Ok(outcome)) => {
            return Err(format!("expected a {kind} error, returned {:?}", outcome.values));
        }
        (Some(kind), Err(error)) => check_error(case, kind, &error)?,
    }
    let alive = unit.compute("return 1").map_err(|e| format!("afterwards `return 1` failed: {e:?}"))?;
    if alive.values != [Value::Integer(1)] {
        return Err(format!("afterwards `return 1` gave {:?}", alive.values));
    }
    Ok(())
}

fn check_error(case: &Case, kind: &str, error: &Error) -> Result<(), String> {
    let contains = |text: &str, expected: &Option<String>, what: &str| match expected {
        Some(part) if !text.contains(part.as_str()) => Err(format!("{what} {text:?} lacks {part:?}")),
        _ => Ok(()),
    };
    match (kind, error) {
        ("syntax", Error::Syntax { message, line, incomplete }) => {
            contains(message, &case.message, "message")?;
            if case.line.is_some() && *line != case.line {
                return Err(format!("line {line:?}, expected {:?}", case.line));
            }
            if case.incomplete.is_some_and(|want| want != *incomplete) {
                return Err(format!("incomplete = {incomplete}, expected {:?}", case.incomplete));
            }
        }
        ("runtime", Error::Runtime { message, traceback, value }) => {
            contains(message, &case.message, "message")?;
            let mut rest = traceback.as_str();
            for part in &case.traceback {
                let at = rest.find(part.as_str()).ok_or_else(|| format!("traceback {traceback:?} lacks {part:?}"))?;
                rest = &rest[at + part.len()..];
            }
            if let Some(bad) = case.traceback_excludes.iter().find(|part| traceback.contains(part.as_str())) {
                return Err(format!("traceback {traceback:?} contains {bad:?}"));
            }
            if let Some(expected) = &case.value {
                let shown = value.as_ref().map(Value::to_string);
                if shown.as_ref() != Some(expected) {
                    return Err(format!("error value {shown:?}, expected {expected:?}"));
                }
            }
        }
        ("limit", Error::Limit { kind: limit, message, reset }) => {
            contains(message, &case.message, "message")?;
            let name = match limit {
                LimitKind::Time => "time",
                LimitKind::Memory => "memory",
                _ => "other",
            };
            if case.limit.as_deref().is_some_and(|want| want != name) {
                return Err(format!("a {name} limit, expected {:?}", case.limit));
            }
            if *reset {
                return Err("the guest did not stop by itself: the host had to reset the unit".into());
            }
        }
        ("conversion", Error::Conversion { path, reason }) => {
            contains(reason, &case.reason, "reason")?;
            if case.path.as_ref().is_some_and(|want| want != path) {
                return Err(format!("path {path:?}, expected {:?}", case.path));
            }
        }
        _ => return Err(format!("expected a {kind} error, got {error:?}")),
    }
    Ok(())
}

#[test]
fn acceptance_cases() {
    let cases = load_cases();
    assert!(cases.len() > 50, "the case files were not all found in {}", cases_dir().display());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(file, case)| check(case).err().map(|why| format!("{file}: {}: {why}", case.name)))
        .collect();
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
