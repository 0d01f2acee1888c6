//! A store in a SQLite file: the embedded default. WAL mode, so readers do not block the writer;
//! each commit is one `BEGIN IMMEDIATE` transaction, so expectations are checked and writes applied
//! with no other writer in between, even from another process.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};

use super::{Backend, Expectation, KeyRange, Page, StoreError, Write, scan_start};

/// How long a commit waits for another process's transaction before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS kv (
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID";

#[derive(Debug)]
pub struct Sqlite {
    path: PathBuf,
    /// Opened on first use, so that a run that never touches `_home` creates no file.
    connection: Mutex<Option<Connection>>,
}

fn failed(error: impl std::fmt::Display) -> StoreError {
    StoreError::Unavailable(format!("SQLite: {error}"))
}

impl Sqlite {
    pub fn new(path: PathBuf) -> Self {
        Self { path, connection: Mutex::new(None) }
    }

    fn open(&self) -> Result<Connection, StoreError> {
        let fail = |e: &dyn std::fmt::Display| StoreError::Unavailable(format!("SQLite {}: {e}", self.path.display()));
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        }
        let connection = Connection::open(&self.path).map_err(|e| fail(&e))?;
        connection.busy_timeout(BUSY_TIMEOUT).map_err(|e| fail(&e))?;
        connection.pragma_update(None, "journal_mode", "WAL").map_err(|e| fail(&e))?;
        // With WAL, NORMAL still never corrupts the database; a power loss may drop the last commits.
        connection.pragma_update(None, "synchronous", "NORMAL").map_err(|e| fail(&e))?;
        connection.execute(SCHEMA, []).map_err(|e| fail(&e))?;
        Ok(connection)
    }

    fn with<R>(&self, f: impl FnOnce(&mut Connection) -> Result<R, StoreError>) -> Result<R, StoreError> {
        let mut guard = self.connection.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        if guard.is_none() {
            *guard = Some(self.open()?);
        }
        match guard.as_mut() {
            Some(connection) => f(connection),
            None => Err(failed("the connection is not open")),
        }
    }
}

impl Backend for Sqlite {
    fn get_many(&self, bucket: &str, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.with(|c| {
            // One read transaction, so the values are consistent with each other.
            let tx = c.transaction().map_err(failed)?;
            let values = {
                let mut get =
                    tx.prepare_cached("SELECT value FROM kv WHERE bucket = ?1 AND key = ?2").map_err(failed)?;
                keys.iter()
                    .map(|key| get.query_row(params![bucket, key], |row| row.get(0)).optional().map_err(failed))
                    .collect::<Result<Vec<_>, _>>()?
            };
            tx.commit().map_err(failed)?;
            Ok(values)
        })
    }

    fn scan(&self, bucket: &str, range: &KeyRange, cursor: Option<&[u8]>, limit: usize) -> Result<Page, StoreError> {
        self.with(|c| {
            let start = scan_start(range, cursor);
            let take = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
            let mut entries: Vec<(Vec<u8>, Vec<u8>)> = match &range.end {
                Some(end) => {
                    let mut scan = c
                        .prepare_cached(
                            "SELECT key, value FROM kv WHERE bucket = ?1 AND key >= ?2 AND key < ?3 ORDER BY key LIMIT ?4",
                        )
                        .map_err(failed)?;
                    scan.query_map(params![bucket, start, end, take], |row| Ok((row.get(0)?, row.get(1)?)))
                        .map_err(failed)?
                        .collect::<Result<_, _>>()
                        .map_err(failed)?
                }
                None => {
                    let mut scan = c
                        .prepare_cached("SELECT key, value FROM kv WHERE bucket = ?1 AND key >= ?2 ORDER BY key LIMIT ?3")
                        .map_err(failed)?;
                    scan.query_map(params![bucket, start, take], |row| Ok((row.get(0)?, row.get(1)?)))
                        .map_err(failed)?
                        .collect::<Result<_, _>>()
                        .map_err(failed)?
                }
            };
            let cursor = (entries.len() > limit).then(|| entries.pop().map(|(k, _)| k)).flatten();
            Ok(Page { entries, cursor })
        })
    }

    fn commit(&self, bucket: &str, writes: &[Write], expected: &[Expectation]) -> Result<(), StoreError> {
        self.with(|c| {
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(failed)?;
            {
                let mut get =
                    tx.prepare_cached("SELECT value FROM kv WHERE bucket = ?1 AND key = ?2").map_err(failed)?;
                for expectation in expected {
                    let current: Option<Vec<u8>> =
                        get.query_row(params![bucket, expectation.key], |row| row.get(0)).optional().map_err(failed)?;
                    if current != expectation.value {
                        return Err(StoreError::Conflict);
                    }
                }
                let mut set = tx
                    .prepare_cached("INSERT OR REPLACE INTO kv (bucket, key, value) VALUES (?1, ?2, ?3)")
                    .map_err(failed)?;
                let mut delete = tx.prepare_cached("DELETE FROM kv WHERE bucket = ?1 AND key = ?2").map_err(failed)?;
                for write in writes {
                    match write {
                        Write::Set(key, value) => set.execute(params![bucket, key, value]).map(drop),
                        Write::Delete(key) => delete.execute(params![bucket, key]).map(drop),
                        Write::DeleteRange(KeyRange { start, end: Some(end) }) => tx
                            .execute(
                                "DELETE FROM kv WHERE bucket = ?1 AND key >= ?2 AND key < ?3",
                                params![bucket, start, end],
                            )
                            .map(drop),
                        Write::DeleteRange(KeyRange { start, end: None }) => tx
                            .execute("DELETE FROM kv WHERE bucket = ?1 AND key >= ?2", params![bucket, start])
                            .map(drop),
                    }
                    .map_err(failed)?;
                }
            }
            // Dropping the transaction without committing (any early return above) rolls it back.
            tx.commit().map_err(failed)
        })
    }
}
