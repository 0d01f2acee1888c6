//! `cargo xtask conformance`: Lua's own test suite, file by file, under native Lua 5.4 built from
//! the sources the guest builds, under cu in wasmtime (the `cu` CLI) and under cu in Node (the
//! JavaScript package), printed as docs/CONFORMANCE.md's table.
//!
//! The suite is not ours to copy into the repository, and lua.org is out of this machine's reach,
//! so it is fetched into target/ from the newest copy a registry here holds: the `testes/`
//! directory of Lua 5.4.8 inside lupa 2.8's source package on PyPI, checked by its sha256.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cmd::{self, root};
use crate::tasks;

const SUITE_URL: &str = "https://files.pythonhosted.org/packages/c3/a6/0f869fbb07c393f15473b1eefefb7b5bec162fb7481803d040ed4dc46002/lupa-2.8.tar.gz";
const SUITE_SHA256: &str = "d8022641b9ec8ecf2c5ecbe9f47e5a70e0b87c4b5ae921b92cb02a638e0acd08";
/// Where the suite sits inside the package.
const SUITE_DIR: &str = "lupa-2.8/third-party/lua54/testes";
/// The standalone interpreter's front end, which lua-src leaves out; the same file in 5.4.9.
const FRONT_END: &str = "lupa-2.8/third-party/lua54/lua.c";
/// The release of Lua the suite is from.
const SUITE_RELEASE: &str = "5.4.8";

/// The files `all.lua` runs, in its order.
const FILES: &[&str] = &[
    "main.lua",
    "gc.lua",
    "db.lua",
    "calls.lua",
    "strings.lua",
    "literals.lua",
    "tpack.lua",
    "attrib.lua",
    "gengc.lua",
    "locals.lua",
    "constructs.lua",
    "code.lua",
    "big.lua",
    "cstack.lua",
    "nextvar.lua",
    "pm.lua",
    "utf8.lua",
    "api.lua",
    "events.lua",
    "vararg.lua",
    "closure.lua",
    "coroutine.lua",
    "goto.lua",
    "errors.lua",
    "math.lua",
    "sort.lua",
    "bitwise.lua",
    "verybig.lua",
    "files.lua",
];

/// What `all.lua` sets for a port's user tests (its `_U` mode): no long or memory-hungry tests
/// (`_soft`), no non-portable ones (`_port`), no C test library (`T`), and `debug` only by
/// `require`.
const PRELUDE: &str = "_soft = true; _port = true; _nomsg = true; T = nil; debug = nil";

/// What cu adds before each file, as a port of the suite to a sandbox would: cu has no `io` and
/// no `os.setlocale`, which the suite uses beside what it tests (`io.write` for messages,
/// `io.stdin` as some userdata, locales it tries and skips when refused). The stand-ins write
/// nothing, and `io.stdin` is a userdata of cu's own (a bigint, named `FILE*` as Lua's files are).
/// files.lua, which tests `io` itself, still fails on what it lacks.
const PORT: &str = "local sample = require('bigint').new(0); \
    require('debug').setmetatable(sample, { __name = 'FILE*' }); \
    io = { stdin = sample, stdout = sample, stderr = { write = function(self) return self end }, \
    write = function(...) for i = 1, select('#', ...) do local v = select(i, ...) \
    if type(v) ~= 'string' and type(v) ~= 'number' then \
    error(\"bad argument #\" .. i .. \" to 'io.write' (string expected, got \" .. type(v) .. \")\", 2) end end \
    return io end, input = function() return sample end }; package.loaded.io = io; \
    os.setlocale = function(name) if name == nil or name == '' or name == 'C' then return 'C' end end";

/// Lines cu leaves out, each range a test of what the sandbox refuses by design: they are blanked
/// (so that every other line keeps its number) in cu's copy of the suite, and native Lua must
/// still pass that copy. Why, for docs/CONFORMANCE.md.
const SKIPS: &[(&str, usize, usize, &str)] = &[
    (
        "attrib.lua",
        13,
        71,
        "tests `package.path`, `cpath`, `config` and `searchpath`: cu's `require` finds modules through its host",
    ),
    ("calls.lua", 330, 342, "loads bytecode"),
    ("calls.lua", 346, 347, "loads bytecode"),
    ("calls.lua", 369, 372, "loads bytecode"),
    ("calls.lua", 390, 393, "loads bytecode"),
    ("calls.lua", 396, 411, "loads bytecode"),
    ("calls.lua", 428, 434, "loads bytecode"),
    ("calls.lua", 453, 494, "loads bytecode (the binary chunk format)"),
    ("db.lua", 52, 58, "loads bytecode"),
    (
        "db.lua",
        711,
        712,
        "counts `print`'s upvalues: cu's `print` is a closure (it writes where the host says), with 1",
    ),
    ("db.lua", 960, 1051, "loads bytecode (functions without debug information)"),
    ("errors.lua", 235, 242, "names a light userdata: cu's one light userdata type is `null`"),
    ("errors.lua", 248, 248, "checks `io.input`'s argument: cu has no `io`"),
    ("errors.lua", 277, 290, "loads bytecode (functions without debug information)"),
    ("errors.lua", 340, 340, "calls a file's `__gc`: cu has no `io`"),
];

/// Seconds each file may run on each side.
const FILE_TIMEOUT: &str = "600";

/// How a file ended on one side.
enum Outcome {
    Passed,
    Failed(String),
}

impl Outcome {
    fn cell(&self) -> String {
        match self {
            Outcome::Passed => "pass".into(),
            Outcome::Failed(why) => format!("fails: {}", why.trim_start_matches("cu: error: ").replace('|', "\\|")),
        }
    }
}

/// The files that fail under cu, by design (docs/CONFORMANCE.md).
const EXPECTED_FAILURES: &[&str] = &["files.lua"];

/// Builds, runs the suite and prints the table.
pub fn conformance() -> Result<()> {
    let built = tasks::all()?;
    crate::setup::apt(crate::setup::TEST_PACKAGES)?;
    let rows = run(&built)?;
    println!("| file (Lua {SUITE_RELEASE}'s suite) | native Lua 5.4.9 | cu in wasmtime | cu in Node |");
    println!("|---|---|---|---|");
    for row in &rows {
        println!("| {} | {} | {} | {} |", row.file, row.native.cell(), row.wasmtime.cell(), row.node.cell());
    }
    println!("\nLeft out of cu's copy (blank lines in their place; native Lua passes that copy too):\n");
    for (file, first, last, why) in SKIPS {
        println!("- {file}, lines {first}–{last}: {why}");
    }
    Ok(())
}

/// Runs the suite (for `cargo xtask test`): fails unless every file passes natively and exactly
/// the expected ones fail under cu.
pub fn check(built: &tasks::Built) -> Result<()> {
    let wrong: Vec<String> = run(built)?
        .iter()
        .filter_map(|row| {
            let expected = EXPECTED_FAILURES.contains(&row.file);
            let cu_passed = [&row.wasmtime, &row.node].map(|o| matches!(o, Outcome::Passed));
            let right = matches!(row.native, Outcome::Passed) && cu_passed == [!expected, !expected];
            (!right).then(|| {
                format!(
                    "{}: native {}, wasmtime {}, Node {}",
                    row.file,
                    row.native.cell(),
                    row.wasmtime.cell(),
                    row.node.cell()
                )
            })
        })
        .collect();
    if !wrong.is_empty() {
        bail!("Lua's test suite does not give docs/CONFORMANCE.md's results:\n{}", wrong.join("\n"));
    }
    eprintln!("xtask: conformance: every file of Lua's test suite gives docs/CONFORMANCE.md's result");
    Ok(())
}

/// One file's results.
struct Row {
    file: &'static str,
    native: Outcome,
    wasmtime: Outcome,
    node: Outcome,
}

fn run(built: &tasks::Built) -> Result<Vec<Row>> {
    let dir = root().join("target/conformance");
    fs::create_dir_all(&dir)?;
    let suite = fetch_suite(&dir)?;
    let lua = native_lua(&dir)?;
    let ported = port(&suite, &dir.join("ported"))?;
    for file in FILES.iter().filter(|file| SKIPS.iter().any(|skip| skip.0 == **file)) {
        let native = outcome(Command::new(&lua).args(["-e", PRELUDE, file]), &ported)?;
        if let Outcome::Failed(why) = native {
            bail!("native Lua fails the copy of {file} with cu's skips, so a skip breaks the test: {why}");
        }
    }
    let script = root().join("host-js/scripts/conformance.js");
    // Each file is required as a module found along `?.lua`, so that its chunk is named as `lua`
    // names it (`@calls.lua`) and what it returns (locals.lua returns a function) is kept in
    // `package.loaded` rather than converted for the host. The driver's own directory holds no
    // module of the suite.
    let driver = dir.join("driver/run.lua");
    fs::create_dir_all(dir.join("driver"))?;
    fs::write(&driver, "require(arg[1])\n")?;
    let mut rows = Vec::new();
    for file in FILES {
        eprintln!("xtask: conformance: {file}");
        let native =
            outcome(Command::new("timeout").args([FILE_TIMEOUT]).arg(&lua).args(["-e", PRELUDE, file]), &suite)?;
        let module = file.trim_end_matches(".lua");
        let wasmtime = outcome(
            Command::new("timeout")
                .args([FILE_TIMEOUT])
                .arg(&built.cu)
                .args(["--store", "memory", "--allow", "debug", "-t", "0", "-m", "2G", "--path", "?.lua"])
                .args(["-e", PRELUDE, "-e", PORT, "run"])
                .arg(&driver)
                .arg(module),
            &ported,
        )?;
        let node = outcome(
            Command::new("timeout").args([FILE_TIMEOUT]).arg(&built.node).arg(&script).args([module, PRELUDE, PORT]),
            &ported,
        )?;
        rows.push(Row { file, native, wasmtime, node });
    }
    Ok(rows)
}

/// A copy of `suite` in `dest` with the lines of [`SKIPS`] blanked.
fn port(suite: &Path, dest: &Path) -> Result<PathBuf> {
    fs::create_dir_all(dest)?;
    for entry in fs::read_dir(suite)? {
        let path = entry?.path();
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else { continue };
        if !path.is_file() {
            continue;
        }
        let text = fs::read(&path)?;
        let mut lines: Vec<&[u8]> = text.split(|b| *b == b'\n').collect();
        for (_, first, last, _) in SKIPS.iter().filter(|skip| skip.0 == name) {
            if *last > lines.len() {
                bail!("{name} has no line {last}: the suite is not the one the skips were written for");
            }
            for line in &mut lines[first - 1..*last] {
                *line = b"";
            }
        }
        fs::write(dest.join(name), lines.join(&b'\n'))?;
    }
    Ok(dest.to_path_buf())
}

/// Runs one file of the suite in `suite` (its own directory, as `lua file.lua` is run there).
fn outcome(command: &mut Command, suite: &Path) -> Result<Outcome> {
    let out = command.current_dir(suite).output().context("starting a test run")?;
    if out.status.success() {
        return Ok(Outcome::Passed);
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    let first = stderr.lines().find(|line| !line.trim().is_empty()).unwrap_or("");
    let why = if out.status.code() == Some(124) { "did not end within 600 s".to_string() } else { first.to_string() };
    Ok(Outcome::Failed(why.chars().take(160).collect()))
}

/// The suite's directory under `dir`, downloaded and checked on first use.
fn fetch_suite(dir: &Path) -> Result<PathBuf> {
    let suite = dir.join(SUITE_DIR);
    if suite.join("all.lua").is_file() {
        return Ok(suite);
    }
    let archive = dir.join("lupa-2.8.tar.gz");
    if !archive.is_file() {
        cmd::run(
            Command::new("curl")
                .args(["--fail", "--location", "--silent", "--show-error", "-o"])
                .arg(&archive)
                .arg(SUITE_URL),
        )?;
    }
    let sum = tasks::sha256(&archive)?;
    if sum != SUITE_SHA256 {
        fs::remove_file(&archive)?;
        bail!("{SUITE_URL} has sha256 {sum}, not {SUITE_SHA256}: removed it");
    }
    cmd::run(Command::new("tar").arg("-xzf").arg(&archive).arg("-C").arg(dir).args([SUITE_DIR, FRONT_END]))?;
    Ok(suite)
}

/// A native `lua` built from the Lua sources the guest is built from (and the suite's `lua.c`),
/// as Lua's makefile builds it for Linux.
fn native_lua(dir: &Path) -> Result<PathBuf> {
    let lua = dir.join("lua");
    let sources = tasks::lua_src_dir()?.join("lua-5.4.9");
    let files: Vec<PathBuf> = fs::read_dir(&sources)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .filter(|path| path.extension().is_some_and(|ext| ext == "c") && !path.ends_with("luac.c"))
        .collect();
    cmd::run(
        Command::new("clang-22")
            .args(["-std=gnu99", "-O2", "-DLUA_COMPAT_5_3", "-DLUA_USE_LINUX", "-o"])
            .arg(&lua)
            .arg(format!("-I{}", sources.display()))
            .args(&files)
            .arg(dir.join(FRONT_END))
            .args(["-lm", "-Wl,-E", "-ldl"]),
    )?;
    Ok(lua)
}
