//! The on-disk cache of compiled components.
//!
//! Compiling the component takes a few hundred milliseconds; loading the compiled form is a memory
//! map. Files are named by a hash of the component's bytes and of everything wasmtime says makes
//! compiled code incompatible (its version, target and settings), so a changed component or
//! wasmtime never loads stale code. Loading compiled code runs it natively: the cache directory
//! must be writable only by the user (the default, under the user's cache directory, is).

use std::fs;
use std::hash::{Hash, Hasher};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use sha2::{Digest, Sha256};
use wasmtime::component::Component;

use crate::error::{Error, Result};

/// Where the compiled form of `component` lives (or would live) in `dir`.
pub(crate) fn file_for(engine: &wasmtime::Engine, component: &[u8], dir: &Path) -> PathBuf {
    let mut hasher = Sha256Hasher(Sha256::new());
    hasher.0.update(component);
    engine.precompile_compatibility_hash().hash(&mut hasher);
    let digest = hasher.0.finalize();
    let key: String = digest.iter().take(16).map(|b| format!("{b:02x}")).collect();
    dir.join(format!("cu-{key}.cwasm"))
}

/// Loads the compiled component from `dir`, compiling and storing it first when it is missing or
/// unusable. Without a directory it only compiles. A cache that cannot be written is skipped.
pub(crate) fn load_or_compile(engine: &wasmtime::Engine, component: &[u8], dir: Option<&Path>) -> Result<Component> {
    let Some(dir) = dir else {
        return Component::new(engine, component).map_err(Error::Engine);
    };
    let file = file_for(engine, component, dir);
    if file.is_file() {
        // SAFETY: the file was written by `store` below from wasmtime's own serialization, in a
        // directory only this user writes; wasmtime checks its header and compatibility.
        if let Ok(compiled) = unsafe { Component::deserialize_file(engine, &file) } {
            return Ok(compiled);
        }
    }
    let compiled = Component::new(engine, component).map_err(Error::Engine)?;
    // A read-only or full disk costs only speed, never correctness: ignore failures to store.
    let _ = store(&compiled, dir, &file);
    Ok(compiled)
}

/// Writes atomically: a concurrent reader sees the old file or the whole new one.
fn store(compiled: &Component, dir: &Path, file: &Path) -> Result<()> {
    let io = |source| Error::Cache { path: dir.to_path_buf(), source };
    fs::create_dir_all(dir).map_err(io)?;
    let bytes = compiled.serialize().map_err(Error::Engine)?;
    // Unique per process and per call, so that engines built in parallel never share a file.
    static WRITES: AtomicUsize = AtomicUsize::new(0);
    let temp = dir.join(format!(".{}-{}.tmp", std::process::id(), WRITES.fetch_add(1, Ordering::Relaxed)));
    fs::write(&temp, bytes).map_err(io)?;
    fs::rename(&temp, file).map_err(io)
}

/// Feeds `Hash` implementations into SHA-256.
struct Sha256Hasher(Sha256);

impl Hasher for Sha256Hasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    fn finish(&self) -> u64 {
        unreachable!("only the digest is read")
    }
}
