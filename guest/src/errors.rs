//! Every way a call can fail, mapped to `cu:unit/types.error` in one place.

use crate::bindings::cu::unit::types::{
    ConversionError, Error, LimitError, LimitKind, RuntimeError, SchemaError, StoreError, StoreErrorKind, SyntaxError,
};
use crate::convert::Failure;
use crate::home::{HomeError, StoreFailure};

/// How the memory error of a full `print` buffer begins (see output.rs).
pub const PRINT_OVERFLOW: &str = "print output exceeds the memory limit";
/// How the memory error of a bigint result past the limit begins (see bigint/functions.rs).
pub const BIGINT_OVERFLOW: &str = "bigint digits exceed the memory limit";

/// The message Lua raises when an allocation fails.
const MEMORY_ERROR: &str = "not enough memory";

/// The traceback section mlua appends to messages of errors it converts itself.
const TRACEBACK_HEADER: &str = "\nstack traceback:";

pub fn time_limit(limit_ms: u64) -> Error {
    Error::Limit(LimitError {
        kind: LimitKind::Time,
        message: format!("time limit exceeded: the call ran longer than {limit_ms} ms"),
    })
}

pub fn instruction_limit(limit: u64) -> Error {
    Error::Limit(LimitError {
        kind: LimitKind::Instructions,
        message: format!("instruction limit exceeded: the call ran more than {limit} instructions"),
    })
}

pub fn memory_limit(limit: u64) -> Error {
    let message = if limit == 0 {
        "out of memory: the unit's memory is exhausted".to_string()
    } else {
        format!("memory limit exceeded: the Lua heap would grow past {limit} bytes")
    };
    Error::Limit(LimitError { kind: LimitKind::Memory, message })
}

pub fn runtime(message: String, traceback: String, value: Option<crate::bindings::cu::unit::types::Value>) -> Error {
    Error::Runtime(RuntimeError { message, traceback, value })
}

/// An error the runner's message handler did not see: a memory error (Lua does not call the
/// handler for those) or, when the handler itself failed, Lua's "error in error handling".
pub fn unhandled(error: &mlua::Value, memory_limit_bytes: u64) -> Error {
    match error {
        mlua::Value::String(s) if s.as_bytes().as_ref() == MEMORY_ERROR.as_bytes() => memory_limit(memory_limit_bytes),
        mlua::Value::String(s) => runtime(s.to_string_lossy(), String::new(), None),
        mlua::Value::Error(e) => from_lua((**e).clone(), memory_limit_bytes),
        other => runtime(format!("(error object is a {} value)", other.type_name()), String::new(), None),
    }
}

/// A conversion failure, with the path under `root` (e.g. `[2]` for the second return value).
pub fn conversion(failure: Failure, root: &str, memory_limit_bytes: u64) -> Error {
    match failure {
        Failure::Invalid { reason, path } => {
            Error::Conversion(ConversionError { path: Failure::path(&path, root), reason })
        }
        Failure::Lua(error) => from_lua(error, memory_limit_bytes),
        Failure::Unloaded => Error::Conversion(ConversionError {
            path: root.to_string(),
            reason: "holds a stored table that could not be loaded".to_string(),
        }),
    }
}

/// Whether `error` is a commit that failed because another writer changed data the call read.
pub fn is_conflict(error: &Error) -> bool {
    matches!(error, Error::Store(StoreError { kind: StoreErrorKind::Conflict, .. }))
}

/// `error` with `note` after its message, in parentheses.
pub fn with_note(mut error: Error, note: &str) -> Error {
    if let Error::Store(StoreError { message, .. }) = &mut error {
        message.push_str(&format!(" ({note})"));
    }
    error
}

/// A commit of `_home` writes, or a host operation on `_home`, that failed: nothing was written.
pub fn home(error: HomeError, memory_limit_bytes: u64) -> Error {
    let store = |kind, message: String| Error::Store(StoreError { kind, message });
    match error {
        HomeError::Unstorable { path, reason } => Error::Conversion(ConversionError { path, reason }),
        HomeError::Store(failure @ StoreFailure::Conflict) => store(StoreErrorKind::Conflict, failure.to_string()),
        HomeError::Store(failure @ StoreFailure::TooLarge(_)) => store(StoreErrorKind::TooLarge, failure.to_string()),
        HomeError::Store(failure @ StoreFailure::Unavailable(_)) => {
            store(StoreErrorKind::Unavailable, failure.to_string())
        }
        HomeError::Schema(violation) => Error::Schema(SchemaError {
            path: violation.path,
            rule: violation.rule.to_string(),
            message: violation.message,
        }),
        HomeError::Lua(error) => from_lua(error, memory_limit_bytes),
        other @ (HomeError::Corrupt(_) | HomeError::NoSnapshot(_) | HomeError::Invalid(_)) => {
            runtime(other.message(), String::new(), None)
        }
    }
}

/// An error mlua reports (rather than one a script raised through the runner).
pub fn from_lua(error: mlua::Error, memory_limit_bytes: u64) -> Error {
    match error {
        mlua::Error::SyntaxError { message, incomplete_input } => {
            Error::Syntax(SyntaxError { line: line_of(&message), message, incomplete: incomplete_input })
        }
        // Our own memory errors (print's buffer) say what ran out; Lua's only "not enough memory".
        mlua::Error::MemoryError(message)
            if message.starts_with(PRINT_OVERFLOW) || message.starts_with(BIGINT_OVERFLOW) =>
        {
            Error::Limit(LimitError { kind: LimitKind::Memory, message })
        }
        mlua::Error::MemoryError(_) => memory_limit(memory_limit_bytes),
        mlua::Error::CallbackError { cause, .. } => from_lua((*cause).clone(), memory_limit_bytes),
        mlua::Error::WithContext { cause, .. } => from_lua((*cause).clone(), memory_limit_bytes),
        mlua::Error::RuntimeError(message) => {
            let (message, traceback) = split_traceback(&message);
            runtime(message, traceback, None)
        }
        other => runtime(other.to_string(), String::new(), None),
    }
}

/// An error raised by a Rust function of the sandbox reaches Lua as an mlua error object; this is
/// the runtime error (or limit) it stands for, with the traceback the runner took.
pub fn from_wrapped(error: &mlua::Error, traceback: String, memory_limit_bytes: u64) -> Error {
    match from_lua(error.clone(), memory_limit_bytes) {
        Error::Runtime(e) => runtime(e.message, traceback, None),
        other => other,
    }
}

/// The text of an mlua error as a script would want to read it: the innermost cause's message.
pub fn message_of(error: &mlua::Error) -> String {
    match error {
        mlua::Error::CallbackError { cause, .. } | mlua::Error::WithContext { cause, .. } => message_of(cause),
        mlua::Error::RuntimeError(message) => split_traceback(message).0,
        other => other.to_string(),
    }
}

/// Separates `message\nstack traceback:...` as mlua formats it.
fn split_traceback(text: &str) -> (String, String) {
    match text.find(TRACEBACK_HEADER) {
        Some(at) => (text[..at].to_string(), text[at + 1..].to_string()),
        None => (text.to_string(), String::new()),
    }
}

/// The line in `chunkname:LINE: reason`. Chunk names may contain colons, so take the first
/// `:digits:` group.
pub fn line_of(message: &str) -> Option<u32> {
    let bytes = message.as_bytes();
    let mut i = 0;
    while let Some(offset) = message[i..].find(':') {
        let start = i + offset + 1;
        let digits = bytes[start..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 0 && bytes.get(start + digits) == Some(&b':') {
            return message[start..start + digits].parse().ok();
        }
        i = start;
    }
    None
}
