//! One file, two kinds of SQLite. Native processes (the `cu` CLI, the Rust and Node hosts) lock
//! it with fcntl locks and share it through WAL and its `-shm` index. A component under a WASI
//! runtime (kv-sqlite under `wasmtime run`) has neither fcntl locks nor shared memory: its SQLite
//! locks the file by making a `.lock` directory beside it (the `unix-dotfile` VFS) and, in
//! exclusive locking mode, keeps WAL's index in its own memory and the lock for as long as it has
//! the file open. Neither sees the other's locks, so each refuses the file while the other kind
//! has it open, by the mark the other leaves: a native connection's `-shm` file, a component's
//! `.lock` directory.
//!
//! Each looks before it opens the file and again once its own mark is made: of two starting at
//! once, at least one sees the other. Until it has looked twice a connection does not checkpoint
//! when it closes, so one that refuses leaves the file as it found it.

use std::path::{Path, PathBuf};

use crate::StoreError;

/// The mark of the other kind of process, and what it means.
#[cfg(target_os = "wasi")]
fn others_mark(path: &Path) -> (PathBuf, String) {
    let mark = suffixed(path, "-shm");
    let hint = format!(
        "{} is open in a native program (the cu CLI, or a Rust or Node host), which shares it through {}; \
         a component cannot use it at the same time. If no such program is running, that file was left by \
         one that was stopped: open the database once with `cu` to tidy it",
        path.display(),
        mark.display()
    );
    (mark, hint)
}

#[cfg(not(target_os = "wasi"))]
fn others_mark(path: &Path) -> (PathBuf, String) {
    let mark = suffixed(path, ".lock");
    let hint = format!(
        "{} is open in a cu component under a WASI runtime (such as `wasmtime run` with kv-sqlite), which \
         locks it with {}; cu cannot use it at the same time. If no such program is running, that directory \
         was left by one that was stopped: remove it",
        path.display(),
        mark.display()
    );
    (mark, hint)
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Fails when the other kind of process has the file at `path` open.
pub(super) fn check(path: &Path) -> Result<(), StoreError> {
    let (mark, hint) = others_mark(path);
    if mark.exists() { Err(StoreError::Unavailable(format!("SQLite: {hint}"))) } else { Ok(()) }
}
