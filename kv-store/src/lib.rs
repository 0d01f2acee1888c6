//! Where `_home` lives: the ordered key-value stores behind the component's `kv` import, kept
//! apart from any WIT layer (the Rust host's kv.rs, the kv-provider crate's components). One
//! module per backend, each but memory behind a feature; [`Store`] is the handle units share, and
//! the one place the limits of wit/kv.wit are enforced.

#[cfg(any(feature = "sqlite", feature = "redis"))]
mod connection;
mod memory;
#[cfg(feature = "redis")]
mod redis;
#[cfg(feature = "sqlite")]
mod sqlite;
mod wit;

use std::fmt::Debug;
use std::ops::Bound;
#[cfg(feature = "sqlite")]
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};

/// The longest key a store accepts, in bytes (wit/kv.wit).
pub const MAX_KEY: usize = 4096;
/// The largest value a store accepts, in bytes (wit/kv.wit).
pub const MAX_VALUE: usize = 16 * 1024 * 1024;

/// Entries a scan page holds at most, whatever the limit asked for: a page is built in one piece
/// (in Redis, inside one script that blocks the server), so it must stay small.
const MAX_PAGE: usize = 4096;

/// Why a store operation failed. Nothing was written.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An expectation of a commit no longer held: another writer changed a key in between.
    #[error("another writer changed the data first")]
    Conflict,
    /// A key or value over the limits ([`MAX_KEY`], [`MAX_VALUE`]), described.
    #[error("too large: {0}")]
    TooLarge(String),
    /// The store could not be reached or failed, with its own message.
    #[error("{0}")]
    Unavailable(String),
}

/// Keys from `start` (included) up to `end` (excluded; `None`: to the last key), bytewise.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyRange {
    /// The first key of the range.
    pub start: Vec<u8>,
    /// The first key after the range, if any.
    pub end: Option<Vec<u8>>,
}

impl KeyRange {
    /// Every key beginning with `prefix` (every key when it is empty).
    pub fn prefix(prefix: &[u8]) -> Self {
        // The least key after all keys with this prefix: trailing 0xff bytes cannot be incremented,
        // so drop them and increment the last byte left. A prefix of only 0xff bytes has no end.
        let end = prefix.iter().rposition(|&byte| byte != 0xff).map(|last| {
            let mut end = prefix[..=last].to_vec();
            end[last] += 1;
            end
        });
        KeyRange { start: prefix.to_vec(), end }
    }

    /// Whether the range holds no key from `start` on.
    fn ends_by(&self, start: &[u8]) -> bool {
        self.end.as_deref().is_some_and(|end| start >= end)
    }
}

/// One write of a commit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Write {
    /// Stores a value (the second field) under a key, replacing any value it had.
    Set(Vec<u8>, Vec<u8>),
    /// Removes a key; removing a missing key is not an error.
    Delete(Vec<u8>),
    /// Removes every key of a range.
    DeleteRange(KeyRange),
}

/// A condition of a commit: `key` holds exactly `value` (`None`: the key is absent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Expectation {
    /// The key.
    pub key: Vec<u8>,
    /// The value it must hold.
    pub value: Option<Vec<u8>>,
}

/// Keys and values, in key order.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// One page of a scan: entries in key order and where the next page starts, if there may be one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Page {
    /// Entries in key order.
    pub entries: Entries,
    /// The first key of the next page: pass it as the cursor of the next scan. `None` on the last page.
    pub cursor: Option<Vec<u8>>,
}

impl Page {
    /// A page from up to `limit + 1` entries read from the start of a page, in the scan's order:
    /// an entry past the limit is not returned but shows that there is a next page, and where it
    /// starts.
    #[cfg(feature = "redis")]
    fn from_overread(mut entries: Entries, limit: usize) -> Self {
        let cursor = if entries.len() > limit { entries.drain(limit..).next().map(|(key, _)| key) } else { None };
        Page { entries, cursor }
    }

    /// A page from a read that hands each entry to `each` and returns the next page's cursor:
    /// the backends' own readers, which also pack pages without a copy.
    fn gather(
        read: impl FnOnce(&mut dyn FnMut(&[u8], &[u8])) -> Result<Option<Vec<u8>>, StoreError>,
    ) -> Result<Page, StoreError> {
        let mut entries = Vec::new();
        let cursor = read(&mut |key, value| entries.push((key.to_vec(), value.to_vec())))?;
        Ok(Page { entries, cursor })
    }
}

/// Entries packed as wit/kv.wit's scan pages carry them, in one buffer: each key and value after
/// its length (u32, little-endian).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PackedEntries(Vec<u8>);

impl PackedEntries {
    /// Appends an entry. The store's limits ([`MAX_KEY`], [`MAX_VALUE`]) keep lengths in a u32.
    pub fn push(&mut self, key: &[u8], value: &[u8]) {
        for bytes in [key, value] {
            self.0.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
            self.0.extend_from_slice(bytes);
        }
    }

    /// The packed bytes.
    pub fn into_bytes(self) -> Vec<u8> {
        self.0
    }
}

/// What every backend implements; [`Store`] wraps one. Buckets are independent key spaces,
/// created on first write. Keys are ordered bytewise.
pub trait Backend: Send + Sync + Debug {
    /// The values of `keys`, in order, as of one moment.
    fn get_many(&self, bucket: &str, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, StoreError>;
    /// Up to `limit` (at least 1) entries of `range` from `start` (included) on, in key order.
    fn scan(&self, bucket: &str, range: &KeyRange, start: &[u8], limit: usize) -> Result<Page, StoreError>;
    /// Up to `limit` (at least 1) entries of `range` up to `upper`, in descending key order.
    /// `upper` is never past the range's end.
    fn scan_reverse(
        &self,
        bucket: &str,
        range: &KeyRange,
        upper: Bound<&[u8]>,
        limit: usize,
    ) -> Result<Page, StoreError>;
    /// Checks every expectation and, if all hold, applies `writes` in order, atomically with the
    /// check; otherwise [`StoreError::Conflict`] and nothing written. [`Store`] has checked the limits.
    fn commit(&self, bucket: &str, writes: &[Write], expected: &[Expectation]) -> Result<(), StoreError>;

    /// [`Backend::scan`], its entries appended to `out`; returns the page's cursor. A backend that
    /// reads entries into buffers of its own overrides this to pack them as it reads, without a
    /// copy of each: a page crosses into the component packed.
    fn scan_packed(
        &self,
        bucket: &str,
        range: &KeyRange,
        start: &[u8],
        limit: usize,
        out: &mut PackedEntries,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let page = self.scan(bucket, range, start, limit)?;
        page.entries.iter().for_each(|(key, value)| out.push(key, value));
        Ok(page.cursor)
    }

    /// [`Backend::scan_reverse`], packed as [`Backend::scan_packed`] packs.
    fn scan_reverse_packed(
        &self,
        bucket: &str,
        range: &KeyRange,
        upper: Bound<&[u8]>,
        limit: usize,
        out: &mut PackedEntries,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let page = self.scan_reverse(bucket, range, upper, limit)?;
        page.entries.iter().for_each(|(key, value)| out.push(key, value));
        Ok(page.cursor)
    }
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

    /// A SQLite database file, created (with its directory) on first use. Any number of stores,
    /// in this process or others, may share one file.
    #[cfg(feature = "sqlite")]
    pub fn sqlite(path: impl Into<PathBuf>) -> Self {
        Self::from_backend(sqlite::Sqlite::new(path.into()))
    }

    /// A Redis server at `url`: `redis://[USER:PASSWORD@]HOST:PORT/DB`, `rediss://…` for TLS
    /// (the server's certificate checked against the system's roots, or the file SSL_CERT_FILE
    /// names), or `redis+unix:///PATH?db=DB`. Connected to on first use and again after a failure,
    /// with a connection for each operation under way at once. Fails only when `url` is not a
    /// Redis URL.
    #[cfg(feature = "redis")]
    pub fn redis(url: &str) -> Result<Self, String> {
        redis::Redis::new(url).map(Self::from_backend)
    }

    /// A store on any backend.
    pub fn from_backend(backend: impl Backend + 'static) -> Self {
        Self { backend: Arc::new(backend) }
    }

    /// Opens a store from its spec: `memory`, `sqlite:PATH` or a Redis URL (see [`Store::redis`]).
    /// The error says what is wrong with the spec.
    pub fn open(spec: &str) -> Result<Self, String> {
        if spec == "memory" {
            return Ok(Self::memory());
        }
        if let Some(path) = spec.strip_prefix("sqlite:") {
            if path.is_empty() {
                return Err("`sqlite:` needs a file path, e.g. sqlite:.cu/home.sqlite".into());
            }
            #[cfg(feature = "sqlite")]
            return Ok(Self::sqlite(path));
            #[cfg(not(feature = "sqlite"))]
            return Err(format!("`{spec}`: this build has no SQLite store"));
        }
        if ["redis://", "rediss://", "redis+unix://"].iter().any(|scheme| spec.starts_with(scheme)) {
            #[cfg(feature = "redis")]
            return Self::redis(spec);
            #[cfg(not(feature = "redis"))]
            return Err(format!("`{spec}`: this build has no Redis store"));
        }
        Err(format!("unknown store `{spec}`: use `memory`, `sqlite:PATH`, `redis://HOST:PORT/DB` or `rediss://…`"))
    }

    /// The value of `key`, if it has one.
    pub fn get(&self, bucket: &str, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.get_many(bucket, &[key.to_vec()])?.pop().flatten())
    }

    /// The values of `keys`, in order, as of one moment.
    pub fn get_many(&self, bucket: &str, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        self.backend.get_many(bucket, keys)
    }

    /// Up to `limit` entries of `range` in key order, from `cursor` (a page's cursor) on, or from
    /// the range's start when `None`. A page may hold fewer entries than asked for and still have
    /// a cursor; a limit of 0 is taken as 1, so that paging always moves on.
    pub fn scan(
        &self,
        bucket: &str,
        range: &KeyRange,
        cursor: Option<&[u8]>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        match scan_start(range, cursor) {
            Some(start) => self.backend.scan(bucket, range, start, limit.clamp(1, MAX_PAGE)),
            None => Ok(Page::default()),
        }
    }

    /// [`Store::scan`], its entries packed as the component receives them; returns them and the
    /// page's cursor.
    pub fn scan_packed(
        &self,
        bucket: &str,
        range: &KeyRange,
        cursor: Option<&[u8]>,
        limit: usize,
    ) -> Result<(PackedEntries, Option<Vec<u8>>), StoreError> {
        into_packed(|out| match scan_start(range, cursor) {
            Some(start) => self.backend.scan_packed(bucket, range, start, limit.clamp(1, MAX_PAGE), out),
            None => Ok(None),
        })
    }

    /// Up to `limit` entries of `range` in descending key order, from `cursor` (a page's cursor of
    /// an earlier reverse scan: that key and the keys before it) down, or from the range's last
    /// key when `None`. Paging works as for [`Store::scan`].
    pub fn scan_reverse(
        &self,
        bucket: &str,
        range: &KeyRange,
        cursor: Option<&[u8]>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        match scan_upper(range, cursor) {
            Some(upper) => self.backend.scan_reverse(bucket, range, upper, limit.clamp(1, MAX_PAGE)),
            None => Ok(Page::default()),
        }
    }

    /// [`Store::scan_reverse`], packed as [`Store::scan_packed`] packs.
    pub fn scan_reverse_packed(
        &self,
        bucket: &str,
        range: &KeyRange,
        cursor: Option<&[u8]>,
        limit: usize,
    ) -> Result<(PackedEntries, Option<Vec<u8>>), StoreError> {
        into_packed(|out| match scan_upper(range, cursor) {
            Some(upper) => self.backend.scan_reverse_packed(bucket, range, upper, limit.clamp(1, MAX_PAGE), out),
            None => Ok(None),
        })
    }

    /// Every entry under `prefix`, in key order.
    pub fn scan_all(&self, bucket: &str, prefix: &[u8]) -> Result<Entries, StoreError> {
        let range = KeyRange::prefix(prefix);
        let mut entries = Vec::new();
        let mut cursor = None;
        loop {
            let page = self.scan(bucket, &range, cursor.as_deref(), MAX_PAGE)?;
            entries.extend(page.entries);
            match page.cursor {
                Some(next) => cursor = Some(next),
                None => return Ok(entries),
            }
        }
    }

    /// Stores `value` under `key`: a commit of one write, without expectations.
    pub fn set(&self, bucket: &str, key: &[u8], value: &[u8]) -> Result<(), StoreError> {
        self.commit(bucket, &[Write::Set(key.to_vec(), value.to_vec())], &[])
    }

    /// Checks every expectation and, if all hold, applies `writes` in order, atomically with the
    /// check; otherwise fails with [`StoreError::Conflict`]. A key or value over the limits fails
    /// the commit with [`StoreError::TooLarge`]. Nothing is written when it fails.
    pub fn commit(&self, bucket: &str, writes: &[Write], expected: &[Expectation]) -> Result<(), StoreError> {
        for write in writes {
            if let Write::Set(key, value) = write {
                check_size("key", key, MAX_KEY)?;
                check_size("value", value, MAX_VALUE)?;
            }
        }
        if writes.is_empty() && expected.is_empty() {
            return Ok(());
        }
        self.backend.commit(bucket, writes, expected)
    }
}

/// A packed page from a scan that fills `out` and returns the cursor.
fn into_packed(
    scan: impl FnOnce(&mut PackedEntries) -> Result<Option<Vec<u8>>, StoreError>,
) -> Result<(PackedEntries, Option<Vec<u8>>), StoreError> {
    let mut out = PackedEntries::default();
    let cursor = scan(&mut out)?;
    Ok((out, cursor))
}

/// Where a scan of `range` from `cursor` starts; `None` when the range holds nothing from there.
/// A cursor before the range (from another range's page) must not widen it.
fn scan_start<'a>(range: &'a KeyRange, cursor: Option<&'a [u8]>) -> Option<&'a [u8]> {
    let start = cursor.filter(|cursor| *cursor > range.start.as_slice()).unwrap_or(&range.start);
    (!range.ends_by(start)).then_some(start)
}

/// Where a reverse scan of `range` from `cursor` starts; `None` when nothing lies below it.
/// A cursor past the range (from another range's page) must not widen it.
fn scan_upper<'a>(range: &'a KeyRange, cursor: Option<&'a [u8]>) -> Option<Bound<&'a [u8]>> {
    let upper = match (cursor, range.end.as_deref()) {
        (Some(cursor), Some(end)) if cursor >= end => Bound::Excluded(end),
        (Some(cursor), _) => Bound::Included(cursor),
        (None, Some(end)) => Bound::Excluded(end),
        (None, None) => Bound::Unbounded,
    };
    let empty = match upper {
        Bound::Included(key) => key < range.start.as_slice(),
        Bound::Excluded(key) => key <= range.start.as_slice(),
        Bound::Unbounded => false,
    };
    (!empty).then_some(upper)
}

fn check_size(what: &str, bytes: &[u8], limit: usize) -> Result<(), StoreError> {
    if bytes.len() > limit {
        return Err(StoreError::TooLarge(format!("a {what} of {} bytes, more than the limit of {limit}", bytes.len())));
    }
    Ok(())
}

/// Locks `mutex` even when another thread panicked while holding it: nothing the backends run
/// under their locks panics (running out of memory aborts), so a poisoned lock cannot hide a
/// half-applied commit.
fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}
