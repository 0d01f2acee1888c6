//! The cross-host acceptance cases of tests/cases/*.toml: what each case expects, and the check of
//! an error against it, shared by the tests that run them through the Rust API (acceptance.rs) and
//! through cu-run under the wasmtime CLI and jco (composition.rs).

use std::path::{Path, PathBuf};

use cu::{Error, LimitKind, UnitOptions, Value};
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct File {
    pub case: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    pub name: String,
    pub code: String,
    pub memory_limit: Option<u64>,
    pub time_limit_ms: Option<u64>,
    pub instruction_limit: Option<u64>,
    pub instructions: Option<u64>,
    pub returns: Option<Vec<String>>,
    pub printed: Option<String>,
    pub error: Option<String>,
    pub message: Option<String>,
    pub line: Option<u32>,
    pub incomplete: Option<bool>,
    #[serde(default)]
    pub traceback: Vec<String>,
    #[serde(default)]
    pub traceback_excludes: Vec<String>,
    pub value: Option<String>,
    pub limit: Option<String>,
    pub path: Option<String>,
    pub reason: Option<String>,
    /// What the sandbox adds for the case (`debug`).
    #[serde(default)]
    pub allow: Vec<String>,
    /// Modules the host gives the unit, by name.
    #[serde(default)]
    pub modules: std::collections::BTreeMap<String, String>,
}

pub fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/cases")
}

pub fn load_cases() -> Vec<(String, Case)> {
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

pub fn check_error(case: &Case, kind: &str, error: &Error) -> Result<(), String> {
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
                LimitKind::Instructions => "instructions",
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

impl Case {
    /// The case's unit options (64 MiB and 2 s unless it says otherwise).
    pub fn options(&self) -> UnitOptions {
        let options = UnitOptions::default()
            .memory_limit(self.memory_limit.unwrap_or(64 << 20))
            .time_limit(Some(std::time::Duration::from_millis(self.time_limit_ms.unwrap_or(2000))))
            .instruction_limit(self.instruction_limit);
        self.allow.iter().fold(options, |options, allow| match allow.as_str() {
            "debug" => options.allow(cu::Allow::Debug),
            other => panic!("{}: unknown allow {other:?}", self.name),
        })
    }
}
