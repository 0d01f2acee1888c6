//! The audit log: an entry for each commit of a listed operation, written in that same commit,
//! so the log never records what did not happen and never misses what did.
//!
//! The settings (key `A`) are read with the bucket's format when a unit first opens it, and every
//! commit expects them unchanged (store.rs): a commit made under settings that another unit has
//! since changed fails with a conflict, rather than go unlogged. Entries (`l ‖ time ‖ random`)
//! are outside `_home`'s data, so snapshots neither copy nor restore them: a restore does not
//! rewind the record of what happened, and is itself logged.

use std::time::{SystemTime, UNIX_EPOCH};

use super::codec::{AUDIT_KEY, AUDIT_TAG, Corrupt, Reader, put_bytes, sealed, unsealed};
use super::commit::new_id;
use super::{HomeError, Inner};
use crate::bindings::cu::unit::kv::{Entry, Write};

/// What can be logged, by the names the seeds' API gives them.
pub const OPERATIONS: &[&str] = &[
    "compute",
    "set",
    "delete",
    "batchTableOperations",
    "persistFunction",
    "createIndex",
    "dropIndex",
    "setSchema",
    "saveSnapshot",
    "restoreSnapshot",
    "deleteSnapshot",
    "enableAuditLog",
];

/// The operation that changes the settings, logged whatever they say.
pub const ENABLE: &str = "enableAuditLog";

/// Targets an entry keeps at most; it counts the rest.
const MAX_TARGETS: usize = 64;

/// Which operations are logged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Settings {
    pub operations: Vec<String>,
}

impl Settings {
    pub fn logs(&self, operation: &str) -> bool {
        operation == ENABLE || self.operations.iter().any(|o| o == operation)
    }

    pub fn parse(operations: Vec<String>) -> Result<Settings, String> {
        for operation in &operations {
            if !OPERATIONS.contains(&operation.as_str()) {
                return Err(format!(
                    "unknown operation '{operation}' for the audit log: use {}",
                    OPERATIONS.join(", ")
                ));
            }
        }
        Ok(Settings { operations })
    }

    pub fn encode(&self) -> Vec<u8> {
        sealed(|out| {
            out.extend_from_slice(&(self.operations.len() as u32).to_le_bytes());
            for operation in &self.operations {
                put_bytes(out, operation.as_bytes());
            }
        })
    }

    pub fn decode(bytes: &[u8]) -> Result<Settings, Corrupt> {
        let mut reader = Reader(unsealed(bytes)?.1);
        let operations = (0..reader.u32()?)
            .map(|_| String::from_utf8(reader.bytes()?.to_vec()).map_err(|_| Corrupt("a malformed audit setting")))
            .collect::<Result<_, _>>()?;
        Ok(Settings { operations })
    }
}

/// One entry of the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Record {
    pub time_ms: u64,
    pub operation: String,
    pub targets: Vec<String>,
    /// Targets beyond those kept.
    pub more: u64,
    pub label: Option<String>,
}

impl Record {
    fn encode(&self) -> Vec<u8> {
        sealed(|out| {
            out.extend_from_slice(&self.time_ms.to_le_bytes());
            put_bytes(out, self.operation.as_bytes());
            match &self.label {
                Some(label) => {
                    out.push(1);
                    put_bytes(out, label.as_bytes());
                }
                None => out.push(0),
            }
            out.extend_from_slice(&(self.targets.len() as u32).to_le_bytes());
            for target in &self.targets {
                put_bytes(out, target.as_bytes());
            }
            out.extend_from_slice(&self.more.to_le_bytes());
        })
    }

    fn decode(bytes: &[u8]) -> Result<Record, Corrupt> {
        let mut reader = Reader(unsealed(bytes)?.1);
        let text = |reader: &mut Reader| -> Result<String, Corrupt> {
            Ok(String::from_utf8_lossy(reader.bytes()?).into_owned())
        };
        let time_ms = reader.u64()?;
        let operation = text(&mut reader)?;
        let label = if reader.byte()? == 1 { Some(text(&mut reader)?) } else { None };
        let targets = (0..reader.u32()?).map(|_| text(&mut reader)).collect::<Result<_, _>>()?;
        Ok(Record { time_ms, operation, targets, more: reader.u64()?, label })
    }
}

/// Nanoseconds since the Unix epoch: entries are ordered by it, so one unit's stay in order.
fn now_ns() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}

/// Where entries of time `ns` and later begin.
fn time_key(ns: u64) -> Vec<u8> {
    let mut key = vec![AUDIT_TAG];
    key.extend_from_slice(&ns.to_be_bytes());
    key
}

fn entry_key(ns: u64) -> Vec<u8> {
    let mut key = time_key(ns);
    // Entries of one instant from two units stay apart.
    key.extend_from_slice(&new_id().to_be_bytes());
    key
}

impl Inner {
    /// The write that logs `operation` on `targets`, when the settings (or `settings`, when the
    /// commit changes them) ask for it.
    pub(super) fn audit_write(
        &mut self,
        operation: &str,
        targets: Vec<String>,
        settings: Option<&Settings>,
    ) -> Result<Option<Write>, HomeError> {
        let logs = match settings {
            Some(settings) => settings.logs(operation),
            None => self.store.audit_settings()?.logs(operation),
        };
        if !logs {
            return Ok(None);
        }
        let more = targets.len().saturating_sub(MAX_TARGETS) as u64;
        let targets = targets.into_iter().take(MAX_TARGETS).collect();
        // A host's clock may be coarse (a browser's counts milliseconds): a unit's entries stay in
        // the order it made them.
        let ns = now_ns().max(self.audit_clock + 1);
        self.audit_clock = ns;
        let time_ms = ns / 1_000_000;
        let record = Record { time_ms, operation: operation.to_string(), targets, more, label: self.label.clone() };
        Ok(Some(Write::Set(Entry { key: entry_key(ns), value: record.encode() })))
    }

    /// Replaces the settings, in a commit of its own that logs the change.
    pub(super) fn enable_audit(&mut self, settings: Settings) -> Result<(), HomeError> {
        let mut writes = vec![Write::Set(Entry { key: AUDIT_KEY.to_vec(), value: settings.encode() })];
        writes.extend(self.audit_write(ENABLE, settings.operations.clone(), Some(&settings))?);
        self.store.commit(writes, Vec::new())?;
        Ok(())
    }

    /// Entries from `since` up to `until` (milliseconds, both included), oldest first, at most `limit`.
    pub(super) fn read_audit(&mut self, since: u64, until: u64, limit: usize) -> Result<Vec<Record>, HomeError> {
        let start = time_key(since.saturating_mul(1_000_000));
        let end = match until.checked_add(1).and_then(|after| after.checked_mul(1_000_000)) {
            Some(after) => time_key(after),
            None => vec![AUDIT_TAG + 1],
        };
        let mut records = Vec::new();
        self.store.scan_pages::<HomeError>(start, Some(end), false, 1024, |page| {
            for (_, bytes) in page.entries() {
                let record = Record::decode(bytes)
                    .map_err(|e| HomeError::Corrupt(format!("an entry of the audit log cannot be read: {e}")))?;
                records.push(record);
                if records.len() >= limit {
                    return Ok(false);
                }
            }
            Ok(true)
        })?;
        Ok(records)
    }
}

/// The settings as stored, for store.rs.
pub fn settings_of(bytes: Option<&[u8]>) -> Result<Settings, Corrupt> {
    bytes.map_or(Ok(Settings::default()), Settings::decode)
}
