//! A store in memory: tests and ephemeral runs.

use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;
use std::sync::Mutex;

use super::{Backend, Expectation, KeyRange, Page, StoreError, Write, scan_start};

type Bucket = BTreeMap<Vec<u8>, Vec<u8>>;

#[derive(Debug, Default)]
pub struct Memory {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Memory {
    fn with<R>(&self, bucket: &str, f: impl FnOnce(&mut Bucket) -> R) -> R {
        // Nothing panics while the lock is held, so a poisoned lock cannot hide a half-applied commit.
        let mut buckets = self.buckets.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        f(buckets.entry(bucket.to_string()).or_default())
    }
}

impl Backend for Memory {
    fn get_many(&self, bucket: &str, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        Ok(self.with(bucket, |b| keys.iter().map(|k| b.get(k).cloned()).collect()))
    }

    fn scan(&self, bucket: &str, range: &KeyRange, cursor: Option<&[u8]>, limit: usize) -> Result<Page, StoreError> {
        Ok(self.with(bucket, |b| {
            let start = Bound::Included(scan_start(range, cursor).to_vec());
            let end = range.end.clone().map_or(Bound::Unbounded, Bound::Excluded);
            let mut entries: Vec<_> =
                b.range((start, end)).take(limit + 1).map(|(k, v)| (k.clone(), v.clone())).collect();
            let cursor = (entries.len() > limit).then(|| entries.pop().map(|(k, _)| k)).flatten();
            Page { entries, cursor }
        }))
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
                    Write::DeleteRange(range) => {
                        let end = range.end.clone().map_or(Bound::Unbounded, Bound::Excluded);
                        let doomed: Vec<Vec<u8>> =
                            b.range((Bound::Included(range.start.clone()), end)).map(|(k, _)| k.clone()).collect();
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
