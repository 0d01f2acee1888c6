//! The components beside cu: the kv providers (kv-memory, kv-sqlite), the modules provider
//! (modules-dir), cu-run and cu-http, built for wasm32-wasip2, and cu-run and cu-http each
//! composed with cu, kv-sqlite and modules-dir by wac
//! (compose/*.wac) into target/cu-run.wasm, which stock `wasmtime run` runs, and
//! target/cu-http.wasm, which `wasmtime serve` serves; and cu-http composed with cu alone into
//! target/cu-http-open.wasm, which the `cu` binary embeds for `cu serve`.

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
    /// cu-http composed with cu alone, `kv` and `modules` still imports: what `cu serve` runs.
    pub cu_http_open: PathBuf,
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
    let compose = |wac: &str, deps: &[(&str, &Path)], out: &str| -> Result<PathBuf> {
        let out = target_dir.join(out);
        let mut wac_cmd = std::process::Command::new(WAC.ensure()?);
        wac_cmd.arg("compose").arg(root().join("compose").join(wac));
        for (name, path) in deps.iter().chain([&("cu", component)]) {
            wac_cmd.arg("--dep").arg(format!("local:{name}={}", path.display()));
        }
        cmd::run(wac_cmd.arg("-o").arg(&out))?;
        Ok(out)
    };
    let (run, http) = (built.join("cu-run.wasm"), built.join("cu_http.wasm"));
    let with = |name, built, kv| [(name, built), ("kv", kv), ("modules", modules.as_path())];
    let cu_run = compose("cu-run.wac", &with("run", &run, &kv_sqlite), "cu-run.wasm")?;
    // The same command on the memory provider: `_home` lives as long as the run.
    compose("cu-run.wac", &with("run", &run, &kv_memory), "cu-run-memory.wasm")?;
    let cu_http = compose("cu-http.wac", &with("http", &http, &kv_sqlite), "cu-http.wasm")?;
    // `cu serve`'s handler: `kv` and `modules` left for the Rust host to fill.
    let cu_http_open = compose("cu-http-open.wac", &[("http", &http)], "cu-http-open.wasm")?;
    Ok(Composed { cu_run, cu_http, cu_http_open, kv_memory, kv_sqlite, modules })
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
