//! cu without a cu host: target/cu-run.wasm (cu-run composed with cu and kv-sqlite by wac) run by
//! the stock wasmtime CLI and, transpiled by jco, by Node (host-js/scripts/cu-run.js). `cargo xtask
//! test` builds both and names the wasmtime CLI and Node in CU_WASMTIME and CU_NODE.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::thread;
use std::time::{Duration, Instant};

use common::cases::{Case, check_error, load_cases};
use cu::{Error, Json, LimitKind, Value};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn tool(variable: &str) -> PathBuf {
    std::env::var_os(variable)
        .unwrap_or_else(|| panic!("{variable} is not set: run these tests through `cargo xtask test`"))
        .into()
}

/// The composed command component.
fn cu_run() -> PathBuf {
    let path = root().join("target/cu-run.wasm");
    assert!(path.is_file(), "{} is missing: `cargo xtask build` makes it", path.display());
    path
}

/// The two ways to run the composed component, each with `dir` as its one preopened directory.
#[derive(Clone, Copy, Debug)]
enum Runtime {
    Wasmtime,
    Jco,
}

impl Runtime {
    fn command(self, dir: &Path) -> Command {
        let mut command = match self {
            Runtime::Wasmtime => {
                let mut command = Command::new(tool("CU_WASMTIME"));
                command.args(["run", "--dir", "."]).arg(cu_run());
                command
            }
            Runtime::Jco => {
                let mut command = Command::new(tool("CU_NODE"));
                command.arg(root().join("host-js/scripts/cu-run.js"));
                command
            }
        };
        command.current_dir(dir);
        command
    }

    fn run(self, dir: &Path, args: &[&str]) -> Output {
        self.command(dir).args(args).output().unwrap_or_else(|e| panic!("{self:?} does not start: {e}"))
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Runs one case the way `cu run --json` would (its code in a file named `(compute)`, the chunk
/// name the cases expect), and checks the report against the case and against what the Rust API
/// returns for it. Returns what went wrong, if anything.
fn check(runtime: Runtime, dir: &Path, case: &Case) -> Result<(), String> {
    std::fs::write(dir.join("(compute)"), &case.code).map_err(|e| e.to_string())?;
    for (name, source) in &case.modules {
        let file = dir.join(format!("{}.lua", name.replace('.', "/")));
        std::fs::create_dir_all(file.parent().expect("a directory")).map_err(|e| e.to_string())?;
        std::fs::write(file, source).map_err(|e| e.to_string())?;
    }
    let memory = case.memory_limit.unwrap_or(64 << 20).to_string();
    let time = format!("{}ms", case.time_limit_ms.unwrap_or(2000));
    let mut args = vec!["--json".to_string(), "-m".into(), memory, "-t".into(), time];
    args.extend(case.instruction_limit.map(|limit| format!("--instructions={limit}")));
    args.extend(case.allow.iter().map(|allow| format!("--allow={allow}")));
    args.push("(compute)".into());
    let out = runtime.run(dir, &args.iter().map(String::as_str).collect::<Vec<_>>());
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).map_err(|e| format!("stdout is not JSON ({e}): {}", text(&out.stdout)))?;
    match &case.error {
        None => {
            if !out.status.success() {
                return Err(format!("failed ({}): {}", out.status, text(&out.stderr)));
            }
            let printed = report["printed"].as_str().unwrap_or_default();
            if let Some(expected) = case.printed.as_ref().filter(|expected| *expected != printed) {
                return Err(format!("printed {printed:?}, expected {expected:?}"));
            }
            let ran = report["instructions"].as_u64();
            if let Some(expected) = case.instructions.filter(|expected| Some(*expected) != ran) {
                return Err(format!("ran {ran:?} instructions, expected {expected}"));
            }
            // The case checks the Rust API's values (acceptance.rs); here they must be the same.
            let mut unit = common::unit_with(case.options());
            for (name, source) in &case.modules {
                unit.add_module(name, source).map_err(|e| e.to_string())?;
            }
            let values = unit.compute(&case.code).map_err(|e| format!("{e:?}"))?.values;
            let expected =
                serde_json::to_value(values.iter().map(Json).collect::<Vec<_>>()).map_err(|e| e.to_string())?;
            (report["returns"] == expected)
                .then_some(())
                .ok_or(format!("returned {}, the Rust API {expected}", report["returns"]))
        }
        Some(kind) => {
            if out.status.code() != Some(1) {
                return Err(format!("exit status {}, expected 1 for an error", out.status));
            }
            let error = error_of(&report["error"]).ok_or(format!("not an error report: {report}"))?;
            check_error(case, kind, &error)
        }
    }
}

/// The error a `--json` report describes.
fn error_of(report: &serde_json::Value) -> Option<Error> {
    let string = |key: &str| report[key].as_str().map(str::to_owned);
    Some(match report["kind"].as_str()? {
        "syntax" => Error::Syntax {
            message: string("message")?,
            line: report["line"].as_u64().and_then(|line| u32::try_from(line).ok()),
            incomplete: report["incomplete"].as_bool()?,
        },
        "runtime" => Error::Runtime {
            message: string("message")?,
            traceback: string("traceback")?,
            value: match &report["value"] {
                serde_json::Value::Null => None,
                value => Some(serde_json::from_value::<Value>(value.clone()).ok()?),
            },
        },
        "limit" => Error::Limit {
            kind: match report["limit"].as_str()? {
                "time" => LimitKind::Time,
                "memory" => LimitKind::Memory,
                _ => LimitKind::Instructions,
            },
            message: string("message")?,
            reset: report["reset"].as_bool()?,
        },
        "conversion" => Error::Conversion { path: string("path")?, reason: string("reason")? },
        _ => return None,
    })
}

fn acceptance_cases(runtime: Runtime) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let cases = load_cases();
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(file, case)| {
            check(runtime, dir.path(), case).err().map(|why| format!("{file}: {}: {why}", case.name))
        })
        .collect();
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}

#[test]
fn acceptance_cases_under_wasmtime_run() {
    acceptance_cases(Runtime::Wasmtime);
}

#[test]
fn acceptance_cases_under_jco() {
    acceptance_cases(Runtime::Jco);
}

#[test]
fn arguments_input_and_json_output_as_cu_run_gives_them() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(
        dir.path().join("script.lua"),
        "#!/usr/bin/env cu\nprint('args', arg[0], arg[1], #arg)\n_io.output = { sum = _io.input.a + _io.input.b }\nreturn arg[2]",
    )
    .expect("writes the script");
    std::fs::write(dir.path().join("in.json"), r#"{"a": 2, "b": 40}"#).expect("writes the input");
    let args = ["--input", "in.json", "script.lua", "one", "two"];
    let cu = Command::new(env!("CARGO_BIN_EXE_cu"))
        .args(["--store", "memory", "run"])
        .args(args)
        .current_dir(dir.path())
        .output()
        .expect("cu runs");
    assert_eq!(text(&cu.stdout), "args\tscript.lua\tone\t2\n\"two\"\n_io.output = {sum = 42}\n");
    for runtime in [Runtime::Wasmtime, Runtime::Jco] {
        let out = runtime.run(dir.path(), &args);
        assert_eq!((text(&out.stdout), out.status.code()), (text(&cu.stdout), Some(0)), "{runtime:?}");
        let json = runtime.run(dir.path(), &[&["--json"], &args[..]].concat());
        let report: serde_json::Value = serde_json::from_slice(&json.stdout).expect("one JSON document");
        assert_eq!(report["returns"], serde_json::json!(["two"]), "{runtime:?}");
        assert_eq!(report["output"], serde_json::json!({"sum": 42}), "{runtime:?}");
        assert_eq!(report["printed"], "args\tscript.lua\tone\t2\n", "{runtime:?}");
    }
}

#[test]
fn usage_errors_are_reported_and_fail() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for runtime in [Runtime::Wasmtime, Runtime::Jco] {
        let missing = runtime.run(dir.path(), &["missing.lua"]);
        assert!(!missing.status.success(), "{runtime:?}");
        assert!(text(&missing.stderr).contains("cannot read missing.lua"), "{runtime:?}: {}", text(&missing.stderr));
        let both = runtime.run(dir.path(), &["-", "--input", "-"]);
        assert!(text(&both.stderr).contains("cannot both come from standard input"), "{runtime:?}");
    }
}

#[test]
fn a_script_from_standard_input() {
    use std::io::Write;
    let dir = tempfile::tempdir().expect("a temporary directory");
    for runtime in [Runtime::Wasmtime, Runtime::Jco] {
        let mut child = runtime
            .command(dir.path())
            .args(["-", "x"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("starts");
        child.stdin.take().expect("stdin").write_all(b"return arg[0], arg[1], 6 * 7").expect("writes the script");
        let out = child.wait_with_output().expect("ends");
        assert_eq!(text(&out.stdout), "\"stdin\"\n\"x\"\n42\n", "{runtime:?}");
    }
}

/// `cu` in `dir`, on its default store: .cu/home.sqlite there.
fn cu(dir: &Path, code: &str) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_cu")).args(["eval", code]).current_dir(dir).output().expect("cu runs");
    assert!(out.status.success(), "cu eval {code}: {}", text(&out.stderr));
    text(&out.stdout)
}

fn wasmtime(dir: &Path, script: &str) -> Output {
    std::fs::write(dir.join("script.lua"), script).expect("writes the script");
    Runtime::Wasmtime.run(dir, &["script.lua"])
}

#[test]
fn home_is_kept_across_runs_and_shared_with_cu_both_ways() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let count = "_home.n = (_home.n or 0) + 1 return _home.n";
    for expected in ["1\n", "2\n"] {
        assert_eq!(text(&wasmtime(dir.path(), count).stdout), expected);
    }
    assert_eq!(cu(dir.path(), count), "3\n", "cu reads what wasmtime runs wrote");
    cu(dir.path(), "local k = 10 function _home.scaled(x) return k * x end");
    let out = wasmtime(dir.path(), &format!("{count}, _home.scaled(4)"));
    assert_eq!(text(&out.stdout), "4\n40\n", "wasmtime reads cu's data and its closure: {}", text(&out.stderr));
    let out = Runtime::Jco.run(dir.path(), &["script.lua"]);
    assert_eq!(text(&out.stdout), "5\n40\n", "so does the component under jco: {}", text(&out.stderr));
    assert_eq!(cu(dir.path(), "return _home.n"), "5\n");
    assert!(!dir.path().join(".cu/home.sqlite.lock").exists(), "a run that ended leaves the file unlocked");
}

#[test]
fn on_the_memory_provider_home_lives_as_long_as_the_run() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let memory = root().join("target/cu-run-memory.wasm");
    std::fs::write(
        dir.path().join("script.lua"),
        "_home.n = (_home.n or 0) + 1 _home.t = { 1, 2 } return _home.n, #_home.t",
    )
    .expect("writes the script");
    for _ in 0..2 {
        let out = Command::new(tool("CU_WASMTIME"))
            .args(["run", "--dir", "."])
            .arg(&memory)
            .arg("script.lua")
            .current_dir(dir.path())
            .output()
            .expect("wasmtime runs");
        assert_eq!(text(&out.stdout), "1\n2\n", "{}", text(&out.stderr));
    }
    assert!(!dir.path().join(".cu").exists(), "nothing written to the directory");
}

#[test]
fn cu_run_exits_with_cus_exact_statuses_under_wasmtime_and_jco() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(dir.path().join("ok.lua"), "return 1").expect("writes");
    std::fs::write(dir.path().join("fails.lua"), "error('no')").expect("writes");
    for runtime in [Runtime::Wasmtime, Runtime::Jco] {
        let status = |args: &[&str]| {
            let out = runtime.run(dir.path(), args);
            (out.status.code(), text(&out.stderr))
        };
        assert_eq!(status(&["ok.lua"]).0, Some(0), "{runtime:?}");
        assert_eq!(status(&["fails.lua"]).0, Some(1), "{runtime:?}: a Lua error is 1, as with cu");
        let (code, stderr) = status(&["missing.lua"]);
        assert_eq!(code, Some(2), "{runtime:?}: an unreadable script is 2, as with cu: {stderr}");
        assert!(stderr.contains("cannot read missing.lua"), "{stderr}");
        assert_eq!(status(&["--timeout", "soon", "ok.lua"]).0, Some(2), "{runtime:?}: a bad option is 2");
    }
}

/// Starts a run that opens `_home` and then holds it for a while, and waits until `mark` shows
/// it has the file open.
fn holding(start: impl FnOnce() -> std::process::Child, mark: &Path) -> std::process::Child {
    let child = start();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !mark.exists() {
        assert!(Instant::now() < deadline, "{} never appeared", mark.display());
        thread::sleep(Duration::from_millis(20));
    }
    child
}

const HOLD: &str =
    "local n = _home.n local t = os.clock() while os.clock() - t < 4 do end _home.n = n + 10 return _home.n";

#[test]
fn cu_and_a_wasmtime_run_never_share_the_file_at_once() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    cu(dir.path(), "_home.n = 1");
    let db = dir.path().join(".cu/home.sqlite");

    // A component holds it: cu refuses, saying what holds it, and writes nothing.
    std::fs::write(dir.path().join("hold.lua"), HOLD).expect("writes the script");
    let run = || Runtime::Wasmtime.command(dir.path()).arg("hold.lua").stdout(std::process::Stdio::piped()).spawn();
    let child = holding(|| run().expect("wasmtime starts"), &dir.path().join(".cu/home.sqlite.lock"));
    let refused = Command::new(env!("CARGO_BIN_EXE_cu"))
        .args(["eval", "_home.n = _home.n + 1"])
        .current_dir(dir.path())
        .output()
        .expect("cu runs");
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("home.sqlite.lock"), "{}", text(&refused.stderr));
    let held = child.wait_with_output().expect("wasmtime ends");
    assert_eq!(text(&held.stdout), "11\n", "the component's call is whole");

    // cu holds it: the component refuses, saying what holds it, and writes nothing.
    let child = holding(
        || {
            Command::new(env!("CARGO_BIN_EXE_cu"))
                .args(["eval", HOLD])
                .current_dir(dir.path())
                .stdout(std::process::Stdio::piped())
                .spawn()
                .expect("cu starts")
        },
        &db.with_extension("sqlite-shm"),
    );
    let refused = wasmtime(dir.path(), "_home.n = _home.n + 1");
    assert!(!refused.status.success());
    assert!(text(&refused.stderr).contains("home.sqlite-shm"), "{}", text(&refused.stderr));
    let held = child.wait_with_output().expect("cu ends");
    assert_eq!(text(&held.stdout), "21\n");
    assert_eq!(cu(dir.path(), "return _home.n"), "21\n", "neither refused call wrote anything");
}

#[test]
fn an_http_app_under_wasmtime_serve() {
    let server = common::http::Server::start(common::http::APP, &[("CU_TIMEOUT", "500ms")]);
    let echo = server.request("POST", "/echo?x=1&y=2", &[("x-test", "yes")], b"{\"a\": 1}");
    assert_eq!((echo.status, echo.text().as_str()), (201, "POST x=1&y=2 {\"a\": 1}"));
    assert_eq!((echo.header("x-seen"), echo.header("content-type")), (Some("yes"), Some("text/plain")));
    let json = server.request("PUT", "/json", &[], b"12345");
    assert_eq!(json.status, 200);
    assert_eq!(json.header("content-type"), Some("application/json"));
    let body: serde_json::Value = serde_json::from_slice(&json.body).expect("a JSON body");
    assert_eq!(body, serde_json::json!({"method": "PUT", "length": 5, "tags": ["a", "b"]}));
    assert_eq!((server.get("/elsewhere").status, server.get("/elsewhere").text()), (404, "no /elsewhere".into()));

    let boom = server.get("/boom");
    assert_eq!(boom.status, 500);
    assert!(boom.text().contains("app.lua:15: boom") && !boom.text().contains("traceback"), "{}", boom.text());
    assert_eq!(server.get("/nothing").status, 500, "a handle that returns no table");
    let bad = server.get("/bad-header");
    assert_eq!((bad.status, bad.text().contains("not valid HTTP headers")), (500, true), "{}", bad.text());
    let bad = server.get("/bad-status");
    assert_eq!((bad.status, bad.text().contains("42 is not an HTTP status")), (500, true), "{}", bad.text());
    let started = Instant::now();
    let endless = server.get("/loop");
    assert_eq!(endless.status, 503, "{}", endless.text());
    assert!(endless.text().contains("time limit"), "{}", endless.text());
    assert!(started.elapsed() < Duration::from_secs(5), "stopped at its 500 ms limit: {:?}", started.elapsed());
    let large = server.request("POST", "/echo", &[], &vec![b'x'; (1 << 20) + 1]);
    assert_eq!(large.status, 413);

    // After each failure the next request is served, and every request counts in `_home`.
    for expected in 1..=5 {
        let count = server.get("/count");
        assert_eq!((count.status, count.text()), (200, format!("{{\"count\":{expected}}}")));
        assert_eq!(server.get("/boom").status, 500);
    }
    // Between requests no instance holds the file: `cu` reads the count.
    assert_eq!(cu(server.dir(), "return _home.count"), "5\n");
}
