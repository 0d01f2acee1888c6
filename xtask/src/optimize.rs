//! Runs binaryen's `wasm-opt -O3` over the component's core module (the Lua interpreter, the
//! guest's Rust and everything linked with them) and puts it back in the component.
//!
//! The component is compiled again by every host (Cranelift in wasmtime, V8 in Node and browsers),
//! but what binaryen does before them still counts: measured with `cargo xtask bench` and the Lua
//! programs through the JavaScript package, V8 ran them about 3% faster (from just above wasmoon
//! to just below it) and wasmtime no slower. binaryen comes from npm (host-js/package.json) and
//! runs on the build's Node.

use std::fs;
use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::cmd;
use crate::js;

/// The WebAssembly features the core module uses; wasm-opt refuses a module that needs others,
/// which is a clear failure instead of a silently different build.
const FEATURES: &[&str] = &[
    "--enable-exception-handling",
    "--enable-bulk-memory",
    "--enable-nontrapping-float-to-int",
    "--enable-sign-ext",
    "--enable-mutable-globals",
    "--enable-multivalue",
    "--enable-reference-types",
    "--enable-extended-const",
];

/// binaryen inlines any function that has one caller, whatever its size. Lua's interpreter loop
/// is the one caller of several large helpers, and with them inlined both V8 and Cranelift
/// compile the loop worse (more values spilled per instruction dispatched): measured with `cargo
/// xtask bench`, the float-heavy program ran 0.87× of wasmoon in Node with this limit and 1.12×
/// without it, and 1.62× native in wasmtime against 1.71×.
const ONE_CALLER_INLINE_LIMIT: &str = "50";

/// The binary section id of a core module inside a component.
const CORE_MODULE: u8 = 1;
/// The magic number and version (layer) every component starts with.
const PREAMBLE: usize = 8;

/// Writes to `out` the component `raw` with its largest core module optimized by wasm-opt.
pub fn component(node: &Path, raw: &Path, out: &Path) -> Result<()> {
    let bytes = fs::read(raw).with_context(|| format!("reading {}", raw.display()))?;
    let sections = sections(&bytes).with_context(|| format!("{} is not a component", raw.display()))?;
    let main = (0..sections.len())
        .filter(|&i| sections[i].0 == CORE_MODULE)
        .max_by_key(|&i| sections[i].1.len())
        .with_context(|| format!("{} has no core module", raw.display()))?;

    let (before, after) = (out.with_extension("core.wasm"), out.with_extension("core.opt.wasm"));
    fs::write(&before, sections[main].1)?;
    let wasm_opt = js::package_dir().join("node_modules/binaryen/bin/wasm-opt");
    cmd::run(
        std::process::Command::new(node)
            .arg(&wasm_opt)
            .arg(&before)
            .arg("-O3")
            .args(["--one-caller-inline-max-function-size", ONE_CALLER_INLINE_LIMIT])
            .args(FEATURES)
            .arg("-o")
            .arg(&after),
    )?;
    let optimized = fs::read(&after)?;
    fs::remove_file(&before)?;
    fs::remove_file(&after)?;

    let mut component = bytes[..PREAMBLE].to_vec();
    for (i, (id, contents)) in sections.iter().enumerate() {
        let contents = if i == main { &optimized[..] } else { contents };
        component.push(*id);
        write_leb(&mut component, contents.len());
        component.extend_from_slice(contents);
    }
    fs::write(out, component).with_context(|| format!("writing {}", out.display()))
}

/// The top-level sections of a component: id and contents.
fn sections(bytes: &[u8]) -> Result<Vec<(u8, &[u8])>> {
    if bytes.len() < PREAMBLE || &bytes[..4] != b"\0asm" {
        bail!("no WebAssembly header");
    }
    let mut sections = Vec::new();
    let mut at = PREAMBLE;
    while at < bytes.len() {
        let id = bytes[at];
        let (len, start) = read_leb(bytes, at + 1)?;
        let end = start.checked_add(len).filter(|&end| end <= bytes.len()).context("a section runs past the end")?;
        sections.push((id, &bytes[start..end]));
        at = end;
    }
    Ok(sections)
}

/// An unsigned LEB128 number at `at`, and where it ends.
fn read_leb(bytes: &[u8], mut at: usize) -> Result<(usize, usize)> {
    let mut value = 0usize;
    for shift in (0..35).step_by(7) {
        let byte = *bytes.get(at).context("a section size runs past the end")?;
        at += 1;
        value |= usize::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Ok((value, at));
        }
    }
    bail!("a section size is longer than 32 bits")
}

fn write_leb(out: &mut Vec<u8>, mut value: usize) {
    loop {
        let byte = (value & 0x7f) as u8;
        value >>= 7;
        if value == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}
