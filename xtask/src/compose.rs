//! The components beside cu: the kv providers (kv-memory, kv-sqlite) and cu-run, built for
//! wasm32-wasip2, and cu-run composed with cu and kv-sqlite by wac (compose/cu-run.wac) into
//! target/cu-run.wasm, which stock `wasmtime run` runs.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::cmd::{self, root};
use crate::setup::WASM_TARGET;
use crate::tasks;
use crate::tools::WAC;

/// Where wasi-libc's headers are for C compiled into components (Debian's wasi-libc package).
const WASI_HEADERS: &str = "/usr/include/wasm32-wasi";

/// What was built, in the target directory.
pub struct Composed {
    /// cu-run composed with cu and kv-sqlite: a command component.
    pub cu_run: PathBuf,
    /// The kv provider in the instance's memory.
    pub kv_memory: PathBuf,
    /// The kv provider on a SQLite file of a preopened directory.
    pub kv_sqlite: PathBuf,
}

/// Builds the providers and cu-run into `target_dir`, and composes cu-run with `component` (cu).
pub fn build(target_dir: &Path, component: &Path) -> Result<Composed> {
    let sysroot = sysroot(target_dir)?;
    cmd::run(
        tasks::wasm_build(target_dir)
            .args(["-p", "kv-memory", "-p", "kv-sqlite", "-p", "cu-run"])
            // SQLite, compiled into kv-sqlite by rusqlite's `bundled` feature.
            .env("CC_wasm32_wasip2", "clang-22")
            .env("AR_wasm32_wasip2", "llvm-ar-22")
            .env("CFLAGS_wasm32_wasip2", format!("--sysroot={}", sysroot.display())),
    )?;
    let built = target_dir.join(WASM_TARGET).join(tasks::GUEST_PROFILE);
    let copy = |from: &str, to: &str| -> Result<PathBuf> {
        let (from, to) = (built.join(from), target_dir.join(to));
        if !from.is_file() {
            bail!("the build did not produce {}", from.display());
        }
        fs::copy(&from, &to)?;
        Ok(to)
    };
    let kv_memory = copy("kv_memory.wasm", "kv-memory.wasm")?;
    let kv_sqlite = copy("kv_sqlite.wasm", "kv-sqlite.wasm")?;
    let cu_run = target_dir.join("cu-run.wasm");
    let dep = |name: &str, path: &Path| format!("local:{name}={}", path.display());
    cmd::run(
        std::process::Command::new(WAC.ensure()?)
            .arg("compose")
            .arg(root().join("compose/cu-run.wac"))
            .args(["--dep", &dep("kv", &kv_sqlite), "--dep", &dep("cu", component)])
            .args(["--dep", &dep("run", &built.join("cu-run.wasm")), "-o"])
            .arg(&cu_run),
    )?;
    Ok(Composed { cu_run, kv_memory, kv_sqlite })
}

/// A sysroot for clang in which wasi-libc's headers are where clang looks for wasm32-wasip2's
/// (without one, clang takes the build machine's glibc headers and fails).
fn sysroot(target_dir: &Path) -> Result<PathBuf> {
    let sysroot = target_dir.join("wasi-sysroot");
    let include = sysroot.join("include");
    fs::create_dir_all(&include)?;
    let headers = include.join(WASM_TARGET);
    if fs::symlink_metadata(&headers).is_err() {
        std::os::unix::fs::symlink(WASI_HEADERS, &headers)?;
    }
    Ok(std::path::absolute(sysroot)?)
}
