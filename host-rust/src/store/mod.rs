//! Where `_home` lives: the ordered key-value stores behind the component's `kv` import, kept
//! apart from the WIT layer (kv.rs). One module per backend; [`Store`] is the handle units share.

mod memory;
mod sqlite;

use std::fmt::Debug;
use std::path::PathBuf;
use std::sync::Arc;

/// The longest key a store accepts, in bytes (wit/kv.wit).
pub const MAX_KEY: usize = 4096;
/// The largest value a store accepts, in bytes (wit/kv.wit).
pub const MAX_VALUE: usize = 16 * 1024 * 1024;

/// Why a store operation failed. Nothing was written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An expectation of a commit no longer held: another writer changed a key in between.
    #[error("another writer changed the data first")]
    Conflict,
    /// A key or value over the limits ([`MAX_KEY`], [`MAX_VALUE`]).
    #[error("too large: {0}")]
    TooLarge(String),
    /// The store could not be reached or failed, with its own message.
    #[error("{0}")]
    Unavailable(String),
}

/// Keys from `start` (included) up to `end` (excluded; `None`: to the last key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRange {
    pub start: Vec<u8>,
    pub end: Option<Vec<u8>>,
}

impl KeyRange {
    /// Every key beginning with `prefix`.
    pub fn prefix(prefix: &[u8]) -> Self {
        // The first key after all keys with this prefix: drop trailing 0xff bytes, increment the last.
        let mut end = prefix.to_vec();
        while end.last() == Some(&0xff) {
            end.pop();
        }
        let end = end.last_mut().map(|last| *last += 1).map(|()| end.clone());
        KeyRange { start: prefix.to_vec(), end }
    }

    pub fn contains(&self, key: &[u8]) -> bool {
        key >= self.start.as_slice() && self.end.as_deref().is_none_or(|end| key < end)
    }
}

/// One write of a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    Set(Vec<u8>, Vec<u8>),
    Delete(Vec<u8>),
    DeleteRange(KeyRange),
}

/// A condition of a commit: `key` holds exactly `value` (`None`: absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    pub key: Vec<u8>,
    pub value: Option<Vec<u8>>,
}

/// Keys and values, in key order.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// One page of a scan: entries in key order and where the next page starts, if there may be one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    pub entries: Entries,
    pub cursor: Option<Vec<u8>>,
}

/// What every backend implements. Buckets are independent key spaces, created on first write.
pub trait Backend: Send + Sync + Debug {
    /// The values of `keys`, in order.
    fn get_many(&self, bucket: &str, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, StoreError>;
    /// Up to `limit` entries of `range` from `cursor` (included) on, in key order.
    fn scan(&self, bucket: &str, range: &KeyRange, cursor: Option<&[u8]>, limit: usize) -> Result<Page, StoreError>;
    /// Checks every expectation and, if all hold, applies `writes` in order, atomically with the
    /// check; otherwise [`StoreError::Conflict`] and nothing written. Limits are checked by [`Store`].
    fn commit(&self, bucket: &str, writes: &[Write], expected: &[Expectation]) -> Result<(), StoreError>;
}

/// A store that units keep `_home` in: cheap to clone, shared by every unit given a clone.
#[derive(Clone, Debug)]
pub struct Store {
    backend: Arc<dyn Backend>,
}

impl Store {
    /// A store in this process's memory, gone when the last clone is dropped.
    pub fn memory() -> Self {
        Self::from_backend(memory::Memory::default())
    }

    /// A SQLite database file, created (with its directory) on first use.
    pub fn sqlite(path: impl Into<PathBuf>) -> Self {
        Self::from_backend(sqlite::Sqlite::new(path.into()))
    }

    /// A store on any backend.
    pub fn from_backend(backend: impl Backend + 'static) -> Self {
        Self { backend: Arc::new(backend) }
    }

    /// Opens a store from its spec: `memory`, `sqlite:PATH`.
    pub fn open(spec: &str) -> Result<Self, String> {
        if spec == "memory" {
            return Ok(Self::memory());
        }
        if let Some(path) = spec.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err("`sqlite:` needs a file path, e.g. sqlite:.cu/home.sqlite".into());
            }
            return Ok(Self::sqlite(path));
        }
        Err(format!("unknown store `{spec}`: use `memory` or `sqlite:PATH`"))
    }

    pub fn get(&self, bucket: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.get_many(bucket, &[key.to_vec()])?.pop().flatten())
    }

    pub fn get_many(&self, bucket: &str, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        self.backend.get_many(bucket, keys)
    }

    pub fn scan(
        &self,
        bucket: &str,
        range: &KeyRange,
        cursor: Option<&[u8]>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        self.backend.scan(bucket, range, cursor, limit.max(1))
    }

    /// Every entry under `prefix`, in key order.
    pub fn scan_all(&self, bucket: &str, prefix: &[u8]) -> Result<Entries, StoreError> {
        let range = KeyRange::prefix(prefix);
        let mut entries = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.scan(bucket, &range, cursor.as_deref(), 1024)?;
            entries.extend(page.entries);
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(entries),
            }
        }
    }

    pub fn set(&self, bucket: &str, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.commit(bucket, &[Write::Set(key.to_vec(), value.to_vec())], &[])
    }

    /// See [`Backend::commit`]; refuses keys and values over the limits first.
    pub fn commit(&self, bucket: &str, writes: &[Write], expected: &[Expectation]) -> Result<(), StoreError> {
        for write in writes {
            if let Write::Set(key, value) = write {
                check_key(key)?;
                if value.len() > MAX_VALUE {
                    return Err(StoreError::TooLarge(format!(
                        "a value of {} bytes, more than the limit of {MAX_VALUE}",
                        value.len()
                    )));
                }
            }
        }
        self.backend.commit(bucket, writes, expected)
    }
}

fn check_key(key: &[u8]) -> Result<(), StoreError> {
    if key.len() > MAX_KEY {
        return Err(StoreError::TooLarge(format!("a key of {} bytes, more than the limit of {MAX_KEY}", key.len())));
    }
    Ok(())
}

/// Where a scan page starts: the cursor, unless it lies before the range.
fn scan_start<'a>(range: &'a KeyRange, cursor: Option<&'a [u8]>) -> &'a [u8] {
    cursor.filter(|c| *c > range.start.as_slice()).unwrap_or(&range.start)
}
