//! A backend's connections, made on first use and made again after a failure: a run that never
//! touches `_home` never reaches its store, and a store that went away and came back is used again.
//! [`Lazy`] is one connection that operations take turns on; [`Pool`] gives each operation under
//! way a connection of its own.

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

/// Connections for operations at once: an operation takes an idle one, or makes one when none is
/// idle, and gives it back when done. So a store shared by many threads (the workers of `cu serve`)
/// holds as many connections as operations it ever ran at once, and no more than `max_idle` wait
/// idle. Only the Redis backend has it.
#[cfg(feature = "redis")]
pub(super) struct Pool<C> {
    idle: Mutex<Vec<C>>,
    max_idle: usize,
}

#[cfg(feature = "redis")]
impl<C> Pool<C> {
    pub(super) fn new(max_idle: usize) -> Self {
        Self { idle: Mutex::new(Vec::new()), max_idle }
    }

    /// Runs `operation` on an idle connection, or on one `connect` makes. A connection whose
    /// operation failed with [`StoreError::Unavailable`] is dropped, not given back: the next
    /// operation that needs one connects afresh.
    pub(super) fn with<R>(
        &self,
        connect: impl FnOnce() -> Result<C, StoreError>,
        operation: impl FnOnce(&mut C) -> Result<R, StoreError>,
    ) -> Result<R, StoreError> {
        let idle = lock(&self.idle).pop();
        let mut connection = match idle {
            Some(connection) => connection,
            None => connect()?,
        };
        let result = operation(&mut connection);
        if !matches!(result, Err(StoreError::Unavailable(_))) {
            let mut idle = lock(&self.idle);
            if idle.len() < self.max_idle {
                idle.push(connection);
            }
        }
        result
    }
}

#[cfg(feature = "redis")]
impl<C> fmt::Debug for Pool<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Pool").field("max_idle", &self.max_idle).finish_non_exhaustive()
    }
}
