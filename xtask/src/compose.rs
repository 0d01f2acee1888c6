//! The components beside cu: the kv providers (kv-memory, kv-sqlite), the modules provider
//! (modules-dir), cu-run and cu-http, built for wasm32-wasip2, and cu-run and cu-http each
//! composed with cu, kv-sqlite and modules-dir by wac
//! (compose/*.wac) into target/cu-run.wasm, which stock `wasmtime run` runs, and
//! target/cu-http.wasm, which `wasmtime serve` serves.

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
    /// cu-http composed with cu and kv-sqlite: a wasi:http handler.
    pub cu_http: PathBuf,
    /// The kv provider in the instance's memory.
    pub kv_memory: PathBuf,
    /// The kv provider on a SQLite file of a preopened directory.
    pub kv_sqlite: PathBuf,
    /// The modules provider over WASI's preopened directories.
    pub modules: PathBuf,
}

/// Builds the providers, cu-run and cu-http into `target_dir`, and composes the last two with
/// `component` (cu).
pub fn build(target_dir: &Path, component: &Path) -> Result<Composed> {
    let sysroot = sysroot(target_dir)?;
    cmd::run(
        tasks::wasm_build(target_dir)
            .args(["-p", "kv-memory", "-p", "kv-sqlite", "-p", "modules-dir", "-p", "cu-run", "-p", "cu-http"])
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
    let modules = copy("modules_dir.wasm", "modules-dir.wasm")?;
    let compose = |wac: &str, name: &str, built: &Path, kv: &Path, out: &str| -> Result<PathBuf> {
        let dep = |name: &str, path: &Path| format!("local:{name}={}", path.display());
        let out = target_dir.join(out);
        cmd::run(
            std::process::Command::new(WAC.ensure()?)
                .arg("compose")
                .arg(root().join("compose").join(wac))
                .args(["--dep", &dep("kv", kv), "--dep", &dep("modules", &modules), "--dep", &dep("cu", component)])
                .args(["--dep", &dep(name, built), "-o"])
                .arg(&out),
        )?;
        Ok(out)
    };
    let run = built.join("cu-run.wasm");
    let cu_run = compose("cu-run.wac", "run", &run, &kv_sqlite, "cu-run.wasm")?;
    // The same command on the memory provider: `_home` lives as long as the run.
    compose("cu-run.wac", "run", &run, &kv_memory, "cu-run-memory.wasm")?;
    let cu_http = compose("cu-http.wac", "http", &built.join("cu_http.wasm"), &kv_sqlite, "cu-http.wasm")?;
    Ok(Composed { cu_run, cu_http, kv_memory, kv_sqlite, modules })
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
