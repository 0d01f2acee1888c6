//! Installing what the build needs, when it is missing.

use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cmd;

/// The Rust target the guest is built for.
pub const WASM_TARGET: &str = "wasm32-wasip2";

/// Debian packages the guest build needs: clang-22 and llvm-ar-22 compile Lua and the setjmp
/// runtime with WebAssembly exceptions (Debian's default clang 14 is too old for that), and
/// wasi-libc provides the C headers. Linking is done by Rust's bundled linker, so no lld.
pub const BUILD_PACKAGES: &[&str] = &["clang-22", "llvm-22", "wasi-libc"];

/// Debian packages the tests need: a Redis server, which the tests of the Redis store start on
/// free ports of their own, and Chromium, which the JavaScript package's browser tests drive
/// headless (through playwright-core, which downloads no browser of its own), curl, which
/// fetches Lua's test suite (conformance.rs) and runs the README's `cu serve` session, and openssl,
/// which makes the certificates of the Redis tests over TLS.
pub const TEST_PACKAGES: &[&str] = &["redis-server", "chromium", "curl", "openssl"];

/// Debian packages the benchmarks need: native Lua 5.4 and Python 3, the references.
pub const BENCH_PACKAGES: &[&str] = &["lua5.4", "python3"];

/// Adds the wasm32-wasip2 target to the active toolchain if it is missing.
pub fn rust_target() -> Result<()> {
    let installed = cmd::output(Command::new("rustup").args(["target", "list", "--installed"]))
        .context("rustup is needed to add the wasm32-wasip2 target; install Rust with rustup")?;
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        return Ok(());
    }
    cmd::run(Command::new("rustup").args(["target", "add", WASM_TARGET]))
}

/// Installs the Debian `packages` that are not installed yet.
pub fn apt(packages: &[&str]) -> Result<()> {
    let missing: Vec<&str> = packages.iter().copied().filter(|p| !dpkg_installed(p)).collect();
    if missing.is_empty() {
        return Ok(());
    }
    eprintln!("xtask: installing Debian packages: {}", missing.join(" "));
    if !cmd::exists("apt-get") {
        bail!("these packages are missing and there is no apt-get to install them: {}", missing.join(" "));
    }
    let as_root = cmd::output(Command::new("id").arg("-u")).is_ok_and(|uid| uid.trim() == "0");
    let sudo: &[&str] = if as_root { &[] } else { &["sudo"] };
    let apt_get = |args: &[&str]| {
        let mut argv: Vec<&str> = sudo.to_vec();
        argv.push("apt-get");
        argv.extend_from_slice(args);
        let mut command = Command::new(argv[0]);
        command.args(&argv[1..]).env("DEBIAN_FRONTEND", "noninteractive");
        command
    };
    cmd::run(&mut apt_get(&["update", "-q"])).context("apt-get update failed (run as root, or with sudo)")?;
    let mut install = vec!["install", "-y", "-q", "--no-install-recommends"];
    install.extend_from_slice(&missing);
    cmd::run(&mut apt_get(&install)).with_context(|| format!("could not install {}", missing.join(" ")))
}

fn dpkg_installed(package: &str) -> bool {
    cmd::output(Command::new("dpkg-query").args(["-W", "-f=${Status}", package]))
        .is_ok_and(|status| status.contains("install ok installed"))
}
