//! A store in this process's memory: tests and runs that keep nothing.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Mutex;

use super::{Backend, Expectation, KeyRange, PackedEntries, Page, StoreError, Write, lock};

type Bucket = BTreeMap<Vec<u8>, Vec<u8>>;

/// Every bucket behind one lock, so a commit's check and writes happen with no other operation between.
#[derive(Debug, Default)]
pub(super) struct Memory {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Memory {
    fn with<R>(&self, bucket: &str, f: impl FnOnce(&mut Bucket) -> R) -> R {
        f(lock(&self.buckets).entry(bucket.to_string()).or_default())
    }

    /// The entries of a page, from `start` up, to `each`; returns the next page's cursor.
    fn scan_up(
        &self,
        bucket: &str,
        range: &KeyRange,
        start: &[u8],
        limit: usize,
        each: impl FnMut(&[u8], &[u8]),
    ) -> Option<Vec<u8>> {
        self.with(bucket, |b| overread(b.range(bounds(range, start)), limit, each))
    }

    /// The entries of a page, from `upper` down, to `each`; returns the next page's cursor.
    fn scan_down(
        &self,
        bucket: &str,
        range: &KeyRange,
        upper: Bound<&[u8]>,
        limit: usize,
        each: impl FnMut(&[u8], &[u8]),
    ) -> Option<Vec<u8>> {
        let bounds = (Bound::Included(range.start.clone()), upper.map(<[u8]>::to_vec));
        self.with(bucket, |b| overread(b.range(bounds).rev(), limit, each))
    }
}

/// Hands the first `limit` entries to `each`; the key after them is the next page's cursor.
fn overread<'a>(
    mut entries: impl Iterator<Item = (&'a Vec<u8>, &'a Vec<u8>)>,
    limit: usize,
    mut each: impl FnMut(&[u8], &[u8]),
) -> Option<Vec<u8>> {
    entries.by_ref().take(limit).for_each(|(key, value)| each(key, value));
    entries.next().map(|(key, _)| key.clone())
}

/// The keys of `range` from `start` on, as a `BTreeMap::range` argument. The range must not end
/// by `start`, or `BTreeMap::range` panics.
fn bounds(range: &KeyRange, start: &[u8]) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
    (Bound::Included(start.to_vec()), range.end.clone().map_or(Bound::Unbounded, Bound::Excluded))
}

impl Backend for Memory {
    fn get_many(&self, bucket: &str, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        Ok(self.with(bucket, |b| keys.iter().map(|k| b.get(k).cloned()).collect()))
    }

    fn scan(&self, bucket: &str, range: &KeyRange, start: &[u8], limit: usize) -> Result<Page, StoreError> {
        Page::gather(|each| Ok(self.scan_up(bucket, range, start, limit, each)))
    }

    fn scan_reverse(
        &self,
        bucket: &str,
        range: &KeyRange,
        upper: Bound<&[u8]>,
        limit: usize,
    ) -> Result<Page, StoreError> {
        Page::gather(|each| Ok(self.scan_down(bucket, range, upper, limit, each)))
    }

    fn scan_packed(
        &self,
        bucket: &str,
        range: &KeyRange,
        start: &[u8],
        limit: usize,
        out: &mut PackedEntries,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.scan_up(bucket, range, start, limit, |key, value| out.push(key, value)))
    }

    fn scan_reverse_packed(
        &self,
        bucket: &str,
        range: &KeyRange,
        upper: Bound<&[u8]>,
        limit: usize,
        out: &mut PackedEntries,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.scan_down(bucket, range, upper, limit, |key, value| out.push(key, value)))
    }

    fn commit(&self, bucket: &str, writes: &[Write], expected: &[Expectation]) -> Result<(), StoreError> {
        self.with(bucket, |b| {
            if expected.iter().any(|e| b.get(&e.key) != e.value.as_ref()) {
                return Err(StoreError::Conflict);
            }
            for write in writes {
                match write {
                    Write::Set(key, value) => {
                        b.insert(key.clone(), value.clone());
                    }
                    Write::Delete(key) => {
                        b.remove(key);
                    }
                    Write::DeleteRange(range) if range.ends_by(&range.start) => {}
                    Write::DeleteRange(range) => {
                        let doomed: Vec<Vec<u8>> =
                            b.range(bounds(range, &range.start)).map(|(k, _)| k.clone()).collect();
                        for key in doomed {
                            b.remove(&key);
                        }
                    }
                }
            }
            Ok(())
        })
    }
}
