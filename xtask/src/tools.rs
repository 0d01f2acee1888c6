//! Command-line tools built from the crate registry: the wasmtime CLI, which runs the composed
//! components as a user without a cu host would, and wac, which composes them. Each is built once
//! per machine into a directory outside the checkout (the wasmtime CLI takes about 10 minutes), so
//! a fresh clone, as CI makes, finds it there.

use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cmd::{self, cargo};

/// A tool: its crate, the exact version, the features it is built with and its binary.
pub struct Tool {
    krate: &'static str,
    version: &'static str,
    features: &'static [&'static str],
    binary: &'static str,
}

/// The wasmtime CLI of the wasmtime the Rust host embeds, with only what `run` and `serve` need
/// (`serve` does not build without `component-model-async`).
pub const WASMTIME: Tool = Tool {
    krate: "wasmtime-cli",
    version: "48.0.8",
    features: &["run", "serve", "component-model", "component-model-async", "cranelift", "cache"],
    binary: "wasmtime",
};

/// wac, without the registry client its default features pull in.
pub const WAC: Tool = Tool { krate: "wac-cli", version: "0.12.0", features: &[], binary: "wac" };

/// Where tools are kept: `$CU_TOOLS_DIR`, else `~/.cache/cu-tools`.
fn tools_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CU_TOOLS_DIR") {
        return dir.into();
    }
    PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".cache/cu-tools")
}

impl Tool {
    /// The tool's binary, built first if this machine does not have it yet.
    pub fn ensure(&self) -> Result<PathBuf> {
        let root = tools_dir().join(format!("{}-{}", self.krate, self.version));
        let binary = root.join("bin").join(self.binary);
        if binary.is_file() {
            return Ok(binary);
        }
        eprintln!(
            "xtask: building {} {} into {} (once per machine; the wasmtime CLI takes about 10 minutes)",
            self.krate,
            self.version,
            root.display()
        );
        let mut install = cargo();
        install
            .args(["install", "--locked", "--no-default-features", "--root"])
            .arg(&root)
            .arg(format!("{}@{}", self.krate, self.version));
        if !self.features.is_empty() {
            install.args(["--features", &self.features.join(",")]);
        }
        cmd::run(&mut install).with_context(|| format!("could not build {}", self.krate))?;
        if !binary.is_file() {
            bail!("building {} did not make {}", self.krate, binary.display());
        }
        let version = cmd::output(Command::new(&binary).arg("--version"))?;
        eprintln!("xtask: {} is {}", binary.display(), version.trim());
        Ok(binary)
    }
}
