//! A store that runs a hook before each operation made through it: to count commits, to let
//! another writer commit first, as a unit on another host could, or to fail as a store that went
//! away does.

use cu::{Store, StoreError};

/// The kind of operation a hook runs before.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Read,
    Commit,
}

pub struct Hooked<F> {
    inner: Store,
    before: F,
}

impl<F: Fn(Op) -> Result<(), StoreError> + Send + Sync + 'static> Hooked<F> {
    /// `inner`, with `before` run before each operation; its error is the operation's.
    pub fn store(inner: Store, before: F) -> Store {
        Store::from_backend(Hooked { inner, before })
    }
}

/// `inner`, with `hook` run before each commit.
pub fn before_commit(inner: Store, hook: impl Fn() + Send + Sync + 'static) -> Store {
    Hooked::store(inner, move |op| {
        if op == Op::Commit {
            hook();
        }
        Ok(())
    })
}

impl<F> std::fmt::Debug for Hooked<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Hooked")
    }
}

impl<F: Fn(Op) -> Result<(), StoreError> + Send + Sync> cu::Backend for Hooked<F> {
    fn get_many(&self, bucket: &str, keys: &[Vec<u8>]) -> Result<Vec<Option<Vec<u8>>>, StoreError> {
        (self.before)(Op::Read)?;
        self.inner.get_many(bucket, keys)
    }

    fn scan(&self, bucket: &str, range: &cu::KeyRange, start: &[u8], limit: usize) -> Result<cu::Page, StoreError> {
        (self.before)(Op::Read)?;
        self.inner.scan(bucket, range, Some(start), limit)
    }

    fn scan_reverse(
        &self,
        bucket: &str,
        range: &cu::KeyRange,
        upper: std::ops::Bound<&[u8]>,
        limit: usize,
    ) -> Result<cu::Page, StoreError> {
        (self.before)(Op::Read)?;
        let cursor = match upper {
            std::ops::Bound::Included(key) => Some(key),
            _ => None,
        };
        self.inner.scan_reverse(bucket, range, cursor, limit)
    }

    fn commit(&self, bucket: &str, writes: &[cu::Write], expected: &[cu::Expectation]) -> Result<(), StoreError> {
        (self.before)(Op::Commit)?;
        self.inner.commit(bucket, writes, expected)
    }
}
