//! The unit's `kv` bucket, opened on first use so that a call that never touches `_home` never
//! reaches the store.

use crate::bindings::cu::unit::kv::{Bucket, Entry, Error as KvError, Expectation, KeyRange, Keys, Write};

use super::audit::{self, Settings};
use super::codec::{AUDIT_KEY, FORMAT, FORMAT_KEY, OLDEST_FORMAT};

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

/// Entries per scan page: the most a host returns at once (wit/kv.wit's hosts cap pages there),
/// so a large table loads in as few round trips as it can.
const PAGE: u32 = 4096;

/// Stored entries, keys and values.
pub type Entries = Vec<(Vec<u8>, Vec<u8>)>;

/// A page of a scan as the host packs it (wit/kv.wit), its entries read in place.
pub struct Page {
    bytes: Vec<u8>,
    /// Where each entry's key and value lie in `bytes`.
    at: Vec<(std::ops::Range<usize>, std::ops::Range<usize>)>,
}

impl Page {
    fn parse(bytes: Vec<u8>) -> Result<Page, StoreError> {
        let mut at = Vec::new();
        let mut next = 0;
        let field = |next: &mut usize| -> Option<std::ops::Range<usize>> {
            let length = u32::from_le_bytes(bytes.get(*next..*next + 4)?.try_into().ok()?) as usize;
            let start = *next + 4;
            let end = start.checked_add(length).filter(|end| *end <= bytes.len())?;
            *next = end;
            Some(start..end)
        };
        while next < bytes.len() {
            let entry = field(&mut next).zip(field(&mut next));
            at.push(entry.ok_or_else(|| broken("a scan returned a page cut short".into()))?);
        }
        Ok(Page { bytes, at })
    }

    /// The entries, keys and values, in the scan's order.
    pub fn entries(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        self.at.iter().map(|(key, value)| (&self.bytes[key.clone()], &self.bytes[value.clone()]))
    }

    fn key(&self, entry: Option<&(std::ops::Range<usize>, std::ops::Range<usize>)>) -> Option<&[u8]> {
        entry.map(|(key, _)| &self.bytes[key.clone()])
    }
}

pub struct Store {
    name: String,
    bucket: Option<Bucket>,
    /// The bucket's format key and the audit log's settings, as last read or written: every
    /// commit expects them unchanged.
    format: Option<Vec<u8>>,
    audit: Option<Vec<u8>>,
}

impl Store {
    pub fn new(name: String) -> Self {
        Self { name, bucket: None, format: None, audit: None }
    }

    fn bucket(&mut self) -> Result<&Bucket, StoreError> {
        if self.bucket.is_none() {
            let bucket = Bucket::open(&self.name)?;
            self.bucket = Some(bucket);
            self.read_settings()?;
        }
        Ok(self.bucket.as_ref().unwrap_or_else(|| unreachable!("opened above")))
    }

    /// Reads the format key and the audit settings; refuses a format this build cannot read.
    fn read_settings(&mut self) -> Result<(), StoreError> {
        let bucket = self.bucket.as_ref().unwrap_or_else(|| unreachable!("opened first"));
        let found = bucket.get_many(&[FORMAT_KEY.to_vec(), AUDIT_KEY.to_vec()])?;
        let [format, audit]: [Option<Vec<u8>>; 2] =
            found.try_into().map_err(|found: Vec<_>| broken(format!("{} values for 2 keys", found.len())))?;
        if let Some(format) = &format
            && !matches!(format.as_slice(), [v] if (OLDEST_FORMAT..=FORMAT).contains(v))
        {
            let name = &self.name;
            return Err(StoreError::Unavailable(format!(
                "bucket '{name}' holds _home data in format {format:?}; this build of cu reads formats {OLDEST_FORMAT} to {FORMAT}"
            )));
        }
        (self.format, self.audit) = (format, audit);
        Ok(())
    }

    /// Which operations the audit log records.
    pub fn audit_settings(&mut self) -> Result<Settings, StoreError> {
        self.bucket()?;
        audit::settings_of(self.audit.as_deref())
            .map_err(|e| StoreError::Unavailable(format!("the audit log's settings cannot be read: {e}")))
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
        let mut entries = Vec::new();
        let end = super::order::after_prefix(prefix);
        self.scan_pages::<StoreError>(prefix.to_vec(), end, false, PAGE, |page| {
            entries.extend(page.entries().map(|(key, value)| (key[prefix.len()..].to_vec(), value.to_vec())));
            Ok(true)
        })?;
        Ok(entries)
    }

    /// The entries of keys `[start, end)` (`end` none: to the last key), a page of at most `page`
    /// at a time, in key order or `reverse`d, handed to `each` until it returns false.
    pub fn scan_pages<E: From<StoreError>>(
        &mut self,
        start: Vec<u8>,
        end: Option<Vec<u8>>,
        reverse: bool,
        page: u32,
        mut each: impl FnMut(&Page) -> Result<bool, E>,
    ) -> Result<(), E> {
        let range = KeyRange { start, end };
        let mut cursor: Option<Vec<u8>> = None;
        loop {
            let (entries, next) = self.scan_page(&range, reverse, cursor.as_deref(), page)?;
            if !each(&entries)? {
                return Ok(());
            }
            match next {
                Some(next) => cursor = Some(next),
                None => return Ok(()),
            }
        }
    }

    /// One page of keys `range`, in key order or `reverse`d, from `cursor` (the cursor of the page
    /// before) on; returns the next page's cursor, if there may be one.
    pub fn scan_page(
        &mut self,
        range: &KeyRange,
        reverse: bool,
        cursor: Option<&[u8]>,
        page: u32,
    ) -> Result<(Page, Option<Vec<u8>>), StoreError> {
        if range.end.as_ref().is_some_and(|end| *end <= range.start) {
            return Ok((Page { bytes: Vec::new(), at: Vec::new() }, None));
        }
        let bucket = self.bucket()?;
        let keys = Keys::Range(range.clone());
        let found = match reverse {
            false => bucket.scan(&keys, cursor, page),
            true => bucket.scan_reverse(&keys, cursor, page),
        }?;
        let entries = Page::parse(found.entries)?;
        if entries.at.len() > page as usize {
            return Err(broken(format!(
                "a scan returned {} entries, more than the {page} asked for",
                entries.at.len()
            )));
        }
        let behind = |key: &[u8]| cursor.is_some_and(|from| if reverse { key > from } else { key < from });
        // A page is in key order (kv.wit), so it is in the range when its ends are: checking
        // every key cost a tenth of a whole table's scan.
        for key in [entries.key(entries.at.first()), entries.key(entries.at.last())].into_iter().flatten() {
            let outside = key < range.start.as_slice() || range.end.as_deref().is_some_and(|end| key >= end);
            if outside || behind(key) {
                return Err(broken("a scan returned a key outside the range asked for".into()));
            }
        }
        // A cursor that does not move on would make a paging loop run forever.
        if let Some(next) = &found.cursor
            && cursor.is_some_and(|from| if reverse { next.as_slice() >= from } else { next.as_slice() <= from })
        {
            return Err(broken("a scan's cursor did not move on".into()));
        }
        Ok((entries, found.cursor))
    }

    /// Applies `writes` if every expectation holds, and the format and the audit settings are
    /// still as this unit last saw them. The first commit of a bucket records the format its data
    /// is in, and the first commit to a bucket of an older format upgrades it.
    pub fn commit(&mut self, mut writes: Vec<Write>, mut expected: Vec<Expectation>) -> Result<(), StoreError> {
        self.bucket()?;
        if self.format.as_deref() != Some(&[FORMAT]) {
            writes.push(Write::Set(Entry { key: FORMAT_KEY.to_vec(), value: vec![FORMAT] }));
        }
        expected.push(Expectation { key: FORMAT_KEY.to_vec(), value: self.format.clone() });
        expected.push(Expectation { key: AUDIT_KEY.to_vec(), value: self.audit.clone() });
        match self.bucket()?.commit(&writes, &expected) {
            Ok(()) => {
                self.format = Some(vec![FORMAT]);
                for write in &writes {
                    if let Write::Set(Entry { key, value }) = write
                        && key == AUDIT_KEY
                    {
                        self.audit = Some(value.clone());
                    }
                }
                Ok(())
            }
            Err(error) => {
                // Another unit may have written the format or the settings in between. Should
                // reading them fail too (the store went away), the commit's own error is the one
                // to report (it may say the commit could have been applied): the next commit then
                // fails on the old settings and reads them again.
                let _ = self.read_settings();
                Err(error.into())
            }
        }
    }
}
