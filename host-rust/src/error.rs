//! The error type of every fallible operation in this crate.

use std::ops::RangeInclusive;
use std::path::PathBuf;

use crate::Value;

/// Which limit stopped a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum LimitKind {
    /// The call ran past its time limit.
    Time,
    /// The call needed more memory than its unit may use.
    Memory,
    /// The call ran more instructions than [`UnitOptions::instruction_limit`](crate::UnitOptions::instruction_limit).
    Instructions,
}

/// Why the store did not take a call's writes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum StoreErrorKind {
    /// Another writer changed `_home` data the call had read. Running the call again reads the new data.
    Conflict,
    /// A key or value is larger than the store accepts.
    TooLarge,
    /// The store could not be reached or failed.
    Unavailable,
}

/// Why an operation on an [`Engine`](crate::Engine) or a [`Unit`](crate::Unit) failed.
///
/// After every variant a unit stays usable. Only when the component itself had to be stopped
/// ([`Error::Limit`] with `reset: true`, [`Error::Trap`]) does it lose its globals, and the error says so.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Lua code did not compile.
    #[error("syntax error: {message}")]
    Syntax {
        /// Lua's message, `chunkname:line: reason`.
        message: String,
        /// The line the compiler stopped at, when known.
        line: Option<u32>,
        /// Whether the code ended early, so that more input could complete it (a REPL asks for more).
        incomplete: bool,
    },

    /// Lua code raised an error and did not catch it.
    #[error("{message}")]
    Runtime {
        /// The error object as text.
        message: String,
        /// Lua's stack traceback at the point of the error.
        traceback: String,
        /// The error object itself, when it was not a string (`error({code = 42})`).
        value: Option<Value>,
    },

    /// A time or memory limit stopped the call.
    #[error("{message}")]
    Limit {
        /// Which limit.
        kind: LimitKind,
        /// A readable explanation naming the limit.
        message: String,
        /// True when the guest could not stop by itself and the unit was reset to a fresh Lua state.
        reset: bool,
    },

    /// The store did not take a call's writes to `_home`; nothing of the call was written.
    #[error("{message}")]
    Store {
        /// Why.
        kind: StoreErrorKind,
        /// A readable explanation, with the store's own message when it gave one.
        message: String,
    },

    /// A call left a record that breaks its table's schema; nothing of the call was written.
    #[error("{message}")]
    Schema {
        /// The record or field at fault, e.g. `_home.users.bob.age`.
        path: String,
        /// The rule it breaks: `type`, `required`, `min`, `max`, `pattern`, or `record` (a record
        /// that is not a table).
        rule: String,
        /// A readable explanation, e.g. `_home.users.bob.age: 200 is above max 150`.
        message: String,
    },

    /// A value could not cross between the host and Lua.
    #[error("cannot convert {path}: it {reason}")]
    Conversion {
        /// Where the value sits, e.g. `[2].cb`.
        path: String,
        /// Why, e.g. `is a function`.
        reason: String,
    },

    /// A batch of [`Unit::process_stream`](crate::Unit::process_stream) failed; the batches before
    /// it were processed.
    #[error("batch {batch} (items {} to {}): {source}", items.start(), items.end())]
    Batch {
        /// The failing batch, counting from 1.
        batch: usize,
        /// The items it held, counting from 1.
        items: RangeInclusive<usize>,
        /// Why it failed.
        #[source]
        source: Box<Error>,
    },

    /// A module given to a unit cannot be used: a name that is not a module name, or a module
    /// directory that does not exist.
    #[error("{message}")]
    Module {
        /// A readable explanation naming the module or directory.
        message: String,
    },

    /// The component stopped abnormally (a WebAssembly trap); the unit was reset to a fresh Lua state.
    #[error("the unit was reset after the component trapped: {message}")]
    Trap {
        /// What wasmtime reported.
        message: String,
    },

    /// `cu serve` cannot start: the app's file, the address to listen on, the server's runtime.
    #[error("{message}")]
    Serve {
        /// A readable explanation naming the file or address.
        message: String,
    },

    /// The engine could not compile or instantiate the component.
    #[error("engine: {0:#}")]
    Engine(#[source] wasmtime::Error),

    /// The cache of compiled components could not be used.
    #[error("compiled-component cache {}: {source}", path.display())]
    Cache {
        /// The file or directory involved.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// Whether the error came from the Lua code or its data (syntax, runtime, limit, conversion),
    /// rather than from the engine.
    pub fn is_lua_error(&self) -> bool {
        match self {
            Error::Syntax { .. }
            | Error::Runtime { .. }
            | Error::Limit { .. }
            | Error::Conversion { .. }
            | Error::Store { .. }
            | Error::Schema { .. } => true,
            Error::Batch { source, .. } => source.is_lua_error(),
            _ => false,
        }
    }
}

/// Shorthand for results of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Maps the component's error variant onto [`Error`]: the one place guest errors are translated.
pub(crate) fn from_guest(error: crate::bindings::cu::unit::types::Error) -> Error {
    use crate::bindings::cu::unit::types::{Error as E, LimitKind as K};
    match error {
        E::Syntax(e) => Error::Syntax { message: e.message, line: e.line, incomplete: e.incomplete },
        E::Runtime(e) => Error::Runtime {
            message: e.message,
            traceback: e.traceback,
            value: e.value.and_then(|v| crate::value::value_of(v).ok()),
        },
        E::Limit(e) => Error::Limit {
            kind: match e.kind {
                K::Time => LimitKind::Time,
                K::Memory => LimitKind::Memory,
                K::Instructions => LimitKind::Instructions,
            },
            message: e.message,
            reset: false,
        },
        E::Conversion(e) => Error::Conversion { path: e.path, reason: e.reason },
        E::Schema(e) => Error::Schema { path: e.path, rule: e.rule, message: e.message },
        E::Store(e) => Error::Store {
            kind: match e.kind {
                crate::bindings::cu::unit::types::StoreErrorKind::Conflict => StoreErrorKind::Conflict,
                crate::bindings::cu::unit::types::StoreErrorKind::TooLarge => StoreErrorKind::TooLarge,
                crate::bindings::cu::unit::types::StoreErrorKind::Unavailable => StoreErrorKind::Unavailable,
            },
            message: e.message,
        },
    }
}
