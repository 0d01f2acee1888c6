//! The unit's `kv` bucket, opened on first use so that a call that never touches `_home` never
//! reaches the store.

use crate::bindings::cu::unit::kv::{Bucket, Entry, Error as KvError, Expectation, Keys, Write};

use super::codec::{FORMAT, FORMAT_KEY};

/// Why the store could not be used.
#[derive(Debug)]
pub enum StoreError {
    /// Another writer changed data this call read.
    Conflict,
    /// A key or value beyond the store's limits.
    TooLarge(String),
    /// The store failed or holds data this build cannot read.
    Unavailable(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Conflict => f.write_str("another writer changed _home data this call read"),
            StoreError::TooLarge(message) => write!(f, "too large for the store: {message}"),
            StoreError::Unavailable(message) => write!(f, "the store failed: {message}"),
        }
    }
}

/// The host's store broke the kv contract (wit/kv.wit): a host bug, reported rather than trusted.
fn broken(what: String) -> StoreError {
    StoreError::Unavailable(format!("the host's store is broken: {what}"))
}

impl From<KvError> for StoreError {
    fn from(error: KvError) -> Self {
        match error {
            KvError::Conflict => StoreError::Conflict,
            KvError::TooLarge(message) => StoreError::TooLarge(message),
            KvError::Unavailable(message) => StoreError::Unavailable(message),
        }
    }
}

/// Entries per scan page: big enough that a thousand-key table loads in one or two round trips.
const PAGE: u32 = 1024;

/// Stored entries, keys and values.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

pub struct Store {
    name: String,
    bucket: Option<Bucket>,
    /// Whether the bucket's format key has been seen or written.
    formatted: bool,
}

impl Store {
    pub fn new(name: String) -> Self {
        Self { name, bucket: None, formatted: false }
    }

    fn bucket(&mut self) -> Result<&Bucket, StoreError> {
        if self.bucket.is_none() {
            let bucket = Bucket::open(&self.name)?;
            match bucket.get(FORMAT_KEY)? {
                Some(format) if format.as_slice() != [FORMAT] => {
                    return Err(StoreError::Unavailable(format!(
                        "bucket '{}' holds _home data in format {format:?}; this build of cu reads format {FORMAT}",
                        self.name
                    )));
                }
                found => self.formatted = found.is_some(),
            }
            self.bucket = Some(bucket);
        }
        Ok(self.bucket.as_ref().unwrap_or_else(|| unreachable!("opened above")))
    }

    pub fn get_many(&mut self, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        let values = self.bucket()?.get_many(keys)?;
        if values.len() != keys.len() {
            return Err(broken(format!("{} values for {} keys", values.len(), keys.len())));
        }
        Ok(values)
    }

    /// Every entry under `prefix`, in key order, with the prefix cut off the keys.
    pub fn scan_prefix(&mut self, prefix: &[u8]) -> Result<Entries, StoreError> {
        let bucket = self.bucket()?;
        let keys = Keys::Prefix(prefix.to_vec());
        let mut entries = Vec::new();
        let mut cursor = None;
        loop {
            let page = bucket.scan(&keys, cursor.as_deref(), PAGE)?;
            for Entry { mut key, value } in page.entries {
                if !key.starts_with(prefix) || cursor.as_ref().is_some_and(|from| key < *from) {
                    return Err(broken("a scan returned a key outside the range asked for".into()));
                }
                key.drain(..prefix.len());
                entries.push((key, value));
            }
            match page.cursor {
                // A cursor that does not move on would make this loop forever.
                Some(next) if cursor.as_ref().is_some_and(|from| next <= *from) => {
                    return Err(broken("a scan's cursor did not move on".into()));
                }
                Some(next) => cursor = Some(next),
                None => return Ok(entries),
            }
        }
    }

    /// Applies `writes` if every expectation holds; the first commit of a bucket also records the
    /// format its data is in.
    pub fn commit(&mut self, mut writes: Vec<Write>, mut expected: Vec<Expectation>) -> Result<(), StoreError> {
        self.bucket()?;
        if !self.formatted {
            writes.push(Write::Set(Entry { key: FORMAT_KEY.to_vec(), value: vec![FORMAT] }));
            expected.push(Expectation { key: FORMAT_KEY.to_vec(), value: None });
        }
        match self.bucket()?.commit(&writes, &expected) {
            Ok(()) => {
                self.formatted = true;
                Ok(())
            }
            Err(error) => {
                // Another unit may have written the format key first.
                self.formatted = self.bucket()?.get(FORMAT_KEY)?.is_some();
                Err(error.into())
            }
        }
    }
}
