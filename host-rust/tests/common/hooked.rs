//! A store that runs a hook before each commit made through it: to count commits, or to let
//! another writer commit first, as a unit on another host could.

use cu::Store;

pub struct Hooked<F> {
    inner: Store,
    before_commit: F,
}

impl<F: Fn() + Send + Sync + 'static> Hooked<F> {
    /// `inner`, with `before_commit` run before each commit.
    pub fn store(inner: Store, before_commit: F) -> Store {
        Store::from_backend(Hooked { inner, before_commit })
    }
}

impl<F> std::fmt::Debug for Hooked<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hooked")
    }
}

impl<F: Fn() + Send + Sync> cu::Backend for Hooked<F> {
    fn get_many(&self, bucket: &str, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, cu::StoreError> {
        self.inner.get_many(bucket, keys)
    }

    fn scan(&self, bucket: &str, range: &cu::KeyRange, start: &[u8], limit: usize) -> Result<cu::Page, cu::StoreError> {
        self.inner.scan(bucket, range, Some(start), limit)
    }

    fn scan_reverse(
        &self,
        bucket: &str,
        range: &cu::KeyRange,
        upper: std::ops::Bound<&[u8]>,
        limit: usize,
    ) -> Result<cu::Page, cu::StoreError> {
        let cursor = match upper {
            std::ops::Bound::Included(key) => Some(key),
            _ => None,
        };
        self.inner.scan_reverse(bucket, range, cursor, limit)
    }

    fn commit(&self, bucket: &str, writes: &[cu::Write], expected: &[cu::Expectation]) -> Result<(), cu::StoreError> {
        (self.before_commit)();
        self.inner.commit(bucket, writes, expected)
    }
}
