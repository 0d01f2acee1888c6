//! The commands: build, install, test, bench.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};
use sha2::{Digest, Sha256};

use crate::cmd::{self, cargo, root};
use crate::setup::{self, BENCH_PACKAGES, BUILD_PACKAGES, TEST_PACKAGES, WASM_TARGET};
use crate::tools::WASMTIME;
use crate::{compose, conformance};
use crate::{js, optimize};

/// The Cargo profile of the guest (see the root Cargo.toml).
pub const GUEST_PROFILE: &str = "guest";
/// The component every host runs, in the target directory.
const COMPONENT: &str = "cu.wasm";

/// What a build produced.
pub struct Built {
    /// The guest component.
    pub component: PathBuf,
    /// The `cu` binary.
    pub cu: PathBuf,
    /// A Node that runs the component (the system's, or one installed for it).
    pub node: PathBuf,
}

/// Installs what is missing, then builds the guest and the host (release).
pub fn all() -> Result<Built> {
    setup::rust_target()?;
    setup::apt(BUILD_PACKAGES)?;
    let node = js::node()?;
    js::dependencies(&node)?;
    let target = root().join("target");
    let component = guest(&target, &node, false)?;
    let composed = compose::build(&target, &component)?;
    // host-rust's build script finds target/cu-http-open.wasm itself, as every later cargo
    // command here leaves CU_HTTP_COMPONENT unset: setting it here alone would rebuild the crate.
    cmd::run(cargo().args(["build", "--release", "--locked", "-p", "host-rust"]).env("CU_COMPONENT", &component))?;
    let cu = root().join("target/release/cu");
    js::build(&node, &component, &composed.cu_run)?;
    let size =
        |path: &Path| -> Result<String> { Ok(format!("{} ({} bytes)", path.display(), fs::metadata(path)?.len())) };
    eprintln!(
        "xtask: built {}, {}, {} and {} (for `cu serve`), the kv providers {} and {}, the modules provider {}, {} and the JavaScript \
         package in {}",
        size(&component)?,
        size(&composed.cu_run)?,
        size(&composed.cu_http)?,
        size(&composed.cu_http_open)?,
        size(&composed.kv_memory)?,
        size(&composed.kv_sqlite)?,
        size(&composed.modules)?,
        cu.display(),
        js::package_dir().display()
    );
    Ok(Built { component, cu, node })
}

/// Builds, puts `cu` next to cargo's own binaries (on PATH for a rustup install), and runs the
/// example script with it.
pub fn install() -> Result<()> {
    let built = all()?;
    let bin_dir = cargo_home().join("bin");
    fs::create_dir_all(&bin_dir)?;
    let dest = bin_dir.join("cu");
    // Copy to a temporary name and rename, so a running `cu` is never overwritten in place.
    let temp = bin_dir.join(".cu.tmp");
    fs::copy(&built.cu, &temp).with_context(|| format!("copying cu to {}", temp.display()))?;
    fs::rename(&temp, &dest)?;
    eprintln!("xtask: installed {}", dest.display());
    cmd::run(Command::new(&dest).arg("run").arg(root().join("examples/hello.lua")).arg("world"))
}

/// Builds, checks that a clean second build of the guest has the same bytes, installs what the
/// tests need, and runs every test.
pub fn test(extra: &[String]) -> Result<()> {
    let built = all()?;
    setup::apt(TEST_PACKAGES)?;
    reproducible(&built.component, &built.node)?;
    // The composed components run under the real wasmtime CLI, and under Node through jco.
    let wasmtime = WASMTIME.ensure()?;
    cmd::run(
        cargo()
            .args([
                "test",
                "--release",
                "--locked",
                "-p",
                "host-rust",
                "-p",
                "kv-store",
                "-p",
                "module-path",
                "-p",
                "packed",
                "-p",
                "value",
            ])
            .args(extra)
            .env("CU_COMPONENT", &built.component)
            .env("CU_WASMTIME", wasmtime)
            .env("CU_NODE", &built.node),
    )?;
    js::test(&built.node)?;
    conformance::check(&built)
}

/// Builds, installs a Redis server, and runs the chaos run (host-rust/tests/chaos.rs) for
/// `seconds` on each store, printing its figures.
pub fn chaos(seconds: u64) -> Result<()> {
    let built = all()?;
    setup::apt(TEST_PACKAGES)?;
    cmd::run(
        cargo()
            .args(["test", "--release", "--locked", "-p", "host-rust", "--test", "chaos"])
            .env("CU_COMPONENT", &built.component)
            .env("CU_CHAOS_SECONDS", seconds.to_string()),
    )
}

/// `600`, `90s`, `10m` or `1h` as seconds.
pub fn seconds(text: &str) -> Result<u64> {
    let bad = || anyhow::anyhow!("`{text}` is not a duration: use e.g. 600, 90s, 10m or 1h");
    let (number, unit) = text.find(|c: char| !c.is_ascii_digit()).map_or((text, ""), |at| text.split_at(at));
    let scale = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(bad()),
    };
    Ok(number.parse::<u64>().map_err(|_| bad())? * scale)
}

/// The benchmarks of the Rust host, in the order they run (host-rust/benches/); `js` is the
/// JavaScript package's, in Node.
const BENCHES: [&str; 9] = ["lua", "io", "home", "query", "bigint", "composition", "serve", "retry", "js"];

/// Builds, installs native Lua 5.4, Python 3 and a Redis server, and runs the benchmarks (or only
/// those named by `--only NAME`, repeatable).
pub fn bench(extra: &[String]) -> Result<()> {
    let (only, extra) = only(extra)?;
    let built = all()?;
    // The `_home` benchmark starts a Redis server, as the tests do.
    setup::apt(&[BENCH_PACKAGES, TEST_PACKAGES].concat())?;
    let runs = extra.iter().position(|a| a == "--runs").map(|i| &extra[i..(i + 2).min(extra.len())]);
    for bench in BENCHES.into_iter().filter(|bench| only.is_empty() || only.contains(bench)) {
        if bench == "js" {
            js::bench(&built.node, &extra)?;
            continue;
        }
        // Program names are the Lua bench's; the others take only the number of runs.
        let args = if bench == "lua" { &extra[..] } else { runs.unwrap_or_default() };
        let mut command = cargo();
        command
            .args(["bench", "--locked", "-p", "host-rust", "--bench", bench, "--"])
            .args(args)
            .env("CU_COMPONENT", &built.component);
        match bench {
            "composition" => command.env("CU_WASMTIME", WASMTIME.ensure()?),
            "serve" => command.env("CU_WASMTIME", WASMTIME.ensure()?).env("CU_NODE", &built.node),
            "retry" => {
                command.env("CU_UNTRACKED_COMPONENT", guest(&root().join("target/untracked"), &built.node, true)?)
            }
            _ => &mut command,
        };
        cmd::run(&mut command)?;
    }
    Ok(())
}

/// The benchmarks `--only` names in `extra`, and the other arguments.
fn only(extra: &[String]) -> Result<(Vec<&str>, Vec<String>)> {
    let (mut only, mut rest) = (Vec::new(), Vec::new());
    let mut args = extra.iter();
    while let Some(arg) = args.next() {
        if arg != "--only" {
            rest.push(arg.clone());
            continue;
        }
        match args.next().and_then(|name| BENCHES.into_iter().find(|bench| bench == name)) {
            Some(bench) => only.push(bench),
            None => bail!("--only takes one of {}", BENCHES.join(", ")),
        }
    }
    Ok((only, rest))
}

/// Builds the guest component into `target_dir`, optimizes it (optimize.rs) into
/// `target_dir/cu.wasm` and returns that path. An `untracked` guest leaves out conflict tracking
/// (guest/build.rs), for the benchmark that measures its cost.
fn guest(target_dir: &Path, node: &Path, untracked: bool) -> Result<PathBuf> {
    let mut build = wasm_build(target_dir);
    build.args(["-p", "guest"]).env("CU_LUA_SRC", lua_src_dir()?);
    if untracked {
        build.env("CU_UNTRACKED", "1");
    }
    cmd::run(&mut build)?;
    let linked = target_dir.join(WASM_TARGET).join(GUEST_PROFILE).join("guest.wasm");
    if !linked.is_file() {
        bail!("the guest build did not produce {}", linked.display());
    }
    let component = target_dir.join(COMPONENT);
    optimize::component(node, &linked, &component)?;
    Ok(component)
}

/// `cargo build` of components into `target_dir`, with the guest's profile and flags (the same
/// for every component, so that crates they share are built once).
pub fn wasm_build(target_dir: &Path) -> Command {
    let mut build = cargo();
    build
        .args(["build", "--locked", "--target", WASM_TARGET, "--profile", GUEST_PROFILE])
        .env("CARGO_TARGET_DIR", target_dir)
        .env(WASM_RUSTFLAGS, wasm_rustflags());
    build
}

/// The variable that gives rustc flags for the components' target.
pub const WASM_RUSTFLAGS: &str = "CARGO_TARGET_WASM32_WASIP2_RUSTFLAGS";

/// The components' rustc flags: paths of this checkout and of cargo's registry would otherwise
/// end up in panic messages, making the bytes depend on where the build ran.
pub fn wasm_rustflags() -> String {
    format!("--remap-path-prefix={}=/cu --remap-path-prefix={}=/cargo", root().display(), cargo_home().display())
}

/// Builds the guest again from nothing in a separate directory and compares the bytes.
fn reproducible(component: &Path, node: &Path) -> Result<()> {
    let dir = root().join("target/repro");
    if dir.exists() {
        fs::remove_dir_all(&dir)?;
    }
    let again = guest(&dir, node, false)?;
    let (a, b) = (sha256(component)?, sha256(&again)?);
    if a != b {
        bail!("the guest build is not reproducible: {} has sha256 {a}, a clean rebuild {b}", component.display());
    }
    eprintln!("xtask: reproducible: two clean guest builds have sha256 {a}");
    fs::remove_dir_all(&dir)?;
    Ok(())
}

/// The sha256 of the file at `path`, in lowercase hex.
pub fn sha256(path: &Path) -> Result<String> {
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(sha256_hex(&bytes))
}

/// The sha256 of `bytes`, in lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// The sources of Lua 5.4 that guest/build.rs patches: the `lua-src` package the lock file pins.
pub fn lua_src_dir() -> Result<PathBuf> {
    let json = cmd::output(cargo().args(["metadata", "--format-version", "1", "--locked"]))?;
    let metadata: serde_json::Value = serde_json::from_str(&json).context("reading cargo metadata")?;
    let manifest = metadata["packages"]
        .as_array()
        .and_then(|packages| packages.iter().find(|p| p["name"] == "lua-src"))
        .and_then(|p| p["manifest_path"].as_str())
        .context("cargo metadata does not list the lua-src package")?;
    Ok(Path::new(manifest).parent().context("lua-src has no directory")?.to_path_buf())
}

fn cargo_home() -> PathBuf {
    std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| "/root".into())).join(".cargo"))
}
