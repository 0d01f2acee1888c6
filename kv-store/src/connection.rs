//! A backend's connection, made on first use and made again after a failure: a run that never
//! touches `_home` never reaches its store, and a store that went away and came back is used again.

use std::fmt;
use std::sync::Mutex;

use super::{StoreError, lock};

/// One connection, used by one operation at a time.
pub(super) struct Lazy<C> {
    connection: Mutex<Option<C>>,
}

impl<C> Lazy<C> {
    pub(super) fn new() -> Self {
        Self { connection: Mutex::new(None) }
    }

    /// Runs `operation` on the connection, made by `connect` if there is none. A connection whose
    /// operation failed with [`StoreError::Unavailable`] is dropped, so the next operation starts
    /// on a fresh one rather than on a broken socket or a half-read reply.
    pub(super) fn with<R>(
        &self,
        connect: impl FnOnce() -> Result<C, StoreError>,
        operation: impl FnOnce(&mut C) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let mut slot = lock(&self.connection);
        let connection = match slot.take() {
            Some(connection) => connection,
            None => connect()?,
        };
        let result = operation(slot.insert(connection));
        if matches!(result, Err(StoreError::Unavailable(_))) {
            *slot = None;
        }
        result
    }
}

impl<C> fmt::Debug for Lazy<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not locked: a Debug call from inside an operation would deadlock.
        f.debug_struct("Lazy").finish_non_exhaustive()
    }
}
