//! A store in a SQLite file: the embedded default. WAL mode, so readers do not block the writer;
//! each commit is one `BEGIN IMMEDIATE` transaction, so expectations are checked and writes applied
//! with no other writer in between, even from another process. Built for a WASI component, the
//! file is locked as a whole while open (sharing.rs says why and how the two kinds keep apart).

mod sharing;

use std::ops::Bound;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

use rusqlite::config::DbConfig;
use rusqlite::types::ToSql;
use rusqlite::{Connection, ErrorCode, OptionalExtension, TransactionBehavior, params};

use super::connection::Lazy;
use super::{Backend, Expectation, KeyRange, PackedEntries, Page, StoreError, Write};

/// How long an operation waits for another connection's write transaction (in this process or
/// another) before failing: commits are short, so waiting is almost always better than failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

const SCHEMA: &str = "CREATE TABLE IF NOT EXISTS kv (
    bucket TEXT NOT NULL,
    key BLOB NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (bucket, key)
) WITHOUT ROWID";

/// The page size of a new file: a page holds more records and splits less often than at SQLite's
/// 4096 (docs/HOME.md, "Stores", has what was measured when it was chosen).
const PAGE_SIZE: i64 = 16384;

const GET: &str = "SELECT value FROM kv WHERE bucket = ?1 AND key = ?2";
const BEGIN: &str = "BEGIN";
const END: &str = "COMMIT";
const SET: &str = "INSERT OR REPLACE INTO kv (bucket, key, value) VALUES (?1, ?2, ?3)";
const DELETE: &str = "DELETE FROM kv WHERE bucket = ?1 AND key = ?2";
// Ranges with and without an end: `key < ?n OR ?n IS NULL` would keep SQLite from stopping at the end.
const SCAN: &str = "SELECT key, value FROM kv WHERE bucket = ?1 AND key >= ?2 ORDER BY key LIMIT ?3";
const SCAN_TO: &str = "SELECT key, value FROM kv WHERE bucket = ?1 AND key >= ?2 AND key < ?4 ORDER BY key LIMIT ?3";
// Descending: from the range's start up to an upper bound that is included, excluded or absent.
const SCAN_DOWN: &str = "SELECT key, value FROM kv WHERE bucket = ?1 AND key >= ?2 ORDER BY key DESC LIMIT ?3";
const SCAN_DOWN_THROUGH: &str =
    "SELECT key, value FROM kv WHERE bucket = ?1 AND key >= ?2 AND key <= ?4 ORDER BY key DESC LIMIT ?3";
const SCAN_DOWN_BEFORE: &str =
    "SELECT key, value FROM kv WHERE bucket = ?1 AND key >= ?2 AND key < ?4 ORDER BY key DESC LIMIT ?3";
const DELETE_RANGE: &str = "DELETE FROM kv WHERE bucket = ?1 AND key >= ?2";
const DELETE_RANGE_TO: &str = "DELETE FROM kv WHERE bucket = ?1 AND key >= ?2 AND key < ?3";

#[derive(Debug)]
pub(super) struct Sqlite {
    path: PathBuf,
    connection: Lazy<Connection>,
}

fn failed(error: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(format!("SQLite: {error}"))
}

/// A blob column of a row, as SQLite holds it.
fn blob<'r>(row: &'r rusqlite::Row<'_>, column: usize) -> Result<&'r [u8], StoreError> {
    row.get_ref(column).map_err(failed)?.as_blob().map_err(|e| failed(e.into()))
}

impl Sqlite {
    pub(super) fn new(path: PathBuf) -> Self {
        Self { path, connection: Lazy::new() }
    }

    /// Opens the file, making it and its directory if need be.
    fn connect(&self) -> Result<Connection, StoreError> {
        let fail = |e: &dyn std::fmt::Display| StoreError::Unavailable(format!("SQLite {}: {e}", self.path.display()));
        if let Some(dir) = self.path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| fail(&e))?;
        }
        sharing::check(&self.path)?;
        let connection = Connection::open(&self.path).map_err(|e| fail(&e))?;
        connection.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, true).map_err(|e| fail(&e))?;
        // Set first: the statements below may wait for another connection that is setting up the file.
        connection.busy_timeout(BUSY_TIMEOUT).map_err(|e| fail(&e))?;
        // Before WAL, which writes the header of a new file; a file made before keeps its size.
        connection.pragma_update(None, "page_size", PAGE_SIZE).map_err(|e| fail(&e))?;
        // Without shared memory, WAL needs the file to itself.
        #[cfg(target_os = "wasi")]
        connection.pragma_update(None, "locking_mode", "EXCLUSIVE").map_err(|e| fail(&e))?;
        when_not_busy(|| connection.pragma_update(None, "journal_mode", "WAL")).map_err(|e| fail(&e))?;
        sharing::check(&self.path)?;
        connection.set_db_config(DbConfig::SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, false).map_err(|e| fail(&e))?;
        // With WAL, NORMAL still never corrupts the database; a power loss may drop the last commits.
        connection.pragma_update(None, "synchronous", "NORMAL").map_err(|e| fail(&e))?;
        connection.execute(SCHEMA, []).map_err(|e| fail(&e))?;
        Ok(connection)
    }

    fn with<R>(&self, operation: impl FnOnce(&mut Connection) -> Result<R, StoreError>) -> Result<R, StoreError> {
        self.connection.with(|| self.connect(), operation)
    }

    /// One page of a scan statement: its parameters are the bucket, the lowest key, the number of
    /// entries to read (one past the limit) and, when the statement has one, the other bound. The
    /// first `limit` entries go to `each` as SQLite holds them, without a copy; the key of the one
    /// past them is the next page's cursor.
    fn page(
        &self,
        sql: &str,
        bucket: &str,
        low: &[u8],
        bound: Option<&[u8]>,
        limit: usize,
        mut each: impl FnMut(&[u8], &[u8]),
    ) -> Result<Option<Vec<u8>>, StoreError> {
        self.with(|c| {
            let take = i64::try_from(limit).unwrap_or(i64::MAX).saturating_add(1);
            let mut params: Vec<&dyn ToSql> = vec![&bucket, &low, &take];
            params.extend(bound.as_ref().map(|b| b as &dyn ToSql));
            let mut scan = c.prepare_cached(sql).map_err(failed)?;
            let mut rows = scan.query(params.as_slice()).map_err(failed)?;
            let mut read = 0;
            while let Some(row) = rows.next().map_err(failed)? {
                if read == limit {
                    return Ok(Some(blob(row, 0)?.to_vec()));
                }
                each(blob(row, 0)?, blob(row, 1)?);
                read += 1;
            }
            Ok(None)
        })
    }

    /// The statement and bounds of a scan, and of a reverse scan.
    fn forward(range: &KeyRange) -> (&'static str, Option<&[u8]>) {
        (if range.end.is_some() { SCAN_TO } else { SCAN }, range.end.as_deref())
    }

    fn backward(upper: Bound<&[u8]>) -> (&'static str, Option<&[u8]>) {
        match upper {
            Bound::Included(key) => (SCAN_DOWN_THROUGH, Some(key)),
            Bound::Excluded(key) => (SCAN_DOWN_BEFORE, Some(key)),
            Bound::Unbounded => (SCAN_DOWN, None),
        }
    }
}

/// Runs `statement` until SQLite does not answer "busy", for up to [`BUSY_TIMEOUT`]. Switching a
/// file to WAL needs it to itself, and SQLite tells a connection that cannot have it so at once,
/// without waiting: this is how two connections setting up a new file at once both succeed.
fn when_not_busy(mut statement: impl FnMut() -> rusqlite::Result<()>) -> rusqlite::Result<()> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    loop {
        match statement() {
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy) && Instant::now() < deadline => {
                thread::sleep(Duration::from_millis(5));
            }
            result => return result,
        }
    }
}

/// The parameters of a range statement: the fixed ones, then the range's end if it has one.
fn with_end<'a>(mut fixed: Vec<&'a dyn ToSql>, range: &'a KeyRange) -> Vec<&'a dyn ToSql> {
    fixed.extend(range.end.as_ref().map(|end| end as &dyn ToSql));
    fixed
}

impl Backend for Sqlite {
    fn get_many(&self, bucket: &str, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.with(|c| {
            let read = |c: &Connection| -> Result<Vec<Option<Vec<u8>>>, StoreError> {
                let mut get = c.prepare_cached(GET).map_err(failed)?;
                keys.iter()
                    .map(|key| get.query_row(params![bucket, key], |row| row.get(0)).optional().map_err(failed))
                    .collect()
            };
            if keys.len() == 1 {
                return read(c);
            }
            // One read transaction, so the values are consistent with each other. Its statements
            // are prepared once: a transaction's BEGIN parsed anew each time cost more than the reads.
            c.prepare_cached(BEGIN).and_then(|mut begin| begin.execute([])).map_err(failed)?;
            let values = read(c);
            c.prepare_cached(END).and_then(|mut end| end.execute([])).map_err(failed)?;
            values
        })
    }

    fn scan(&self, bucket: &str, range: &KeyRange, start: &[u8], limit: usize) -> Result<Page, StoreError> {
        let (sql, bound) = Self::forward(range);
        Page::gather(|each| self.page(sql, bucket, start, bound, limit, each))
    }

    fn scan_reverse(
        &self,
        bucket: &str,
        range: &KeyRange,
        upper: Bound<&[u8]>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        let (sql, bound) = Self::backward(upper);
        Page::gather(|each| self.page(sql, bucket, &range.start, bound, limit, each))
    }

    fn scan_packed(
        &self,
        bucket: &str,
        range: &KeyRange,
        start: &[u8],
        limit: usize,
        out: &mut PackedEntries,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let (sql, bound) = Self::forward(range);
        self.page(sql, bucket, start, bound, limit, |key, value| out.push(key, value))
    }

    fn scan_reverse_packed(
        &self,
        bucket: &str,
        range: &KeyRange,
        upper: Bound<&[u8]>,
        limit: usize,
        out: &mut PackedEntries,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let (sql, bound) = Self::backward(upper);
        self.page(sql, bucket, &range.start, bound, limit, |key, value| out.push(key, value))
    }

    fn commit(&self, bucket: &str, writes: &[Write], expected: &[Expectation]) -> Result<(), StoreError> {
        self.with(|c| {
            // IMMEDIATE takes the write lock now: a deferred transaction that read first could fail
            // to upgrade when another connection wrote in between, without waiting.
            let tx = c.transaction_with_behavior(TransactionBehavior::Immediate).map_err(failed)?;
            {
                let mut get = tx.prepare_cached(GET).map_err(failed)?;
                for expectation in expected {
                    let current: Option<Vec<u8>> =
                        get.query_row(params![bucket, expectation.key], |row| row.get(0)).optional().map_err(failed)?;
                    if current != expectation.value {
                        return Err(StoreError::Conflict);
                    }
                }
                let mut set = tx.prepare_cached(SET).map_err(failed)?;
                let mut delete = tx.prepare_cached(DELETE).map_err(failed)?;
                for write in writes {
                    match write {
                        Write::Set(key, value) => set.execute(params![bucket, key, value]),
                        Write::Delete(key) => delete.execute(params![bucket, key]),
                        Write::DeleteRange(range) => {
                            let sql = if range.end.is_some() { DELETE_RANGE_TO } else { DELETE_RANGE };
                            let params = with_end(vec![&bucket, &range.start], range);
                            tx.prepare_cached(sql).and_then(|mut delete| delete.execute(params.as_slice()))
                        }
                    }
                    .map_err(failed)?;
                }
            }
            // Dropping the transaction without committing (any early return above) rolls it back.
            tx.commit().map_err(failed)
        })
    }
}
