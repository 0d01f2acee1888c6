//! The `cu` binary end to end: stdout, stderr and exit codes.

mod common;

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

struct Run {
    status: i32,
    stdout: String,
    stderr: String,
}

/// A cache directory shared by every test process, warmed once (compiling costs ~0.5 s).
fn cache_dir() -> &'static std::path::Path {
    static DIR: OnceLock<std::path::PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join("cu-cli-test-cache");
        let warm = cu(&["eval", "return 1"], None, &dir);
        assert_eq!(warm.status, 0, "warming the cache failed: {}", warm.stderr);
        dir
    })
}

fn cu(args: &[&str], stdin: Option<&str>, cache: &std::path::Path) -> Run {
    cu_in(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/..")), args, stdin, cache)
}

/// Runs cu with `dir` as the current directory.
fn cu_in(dir: &std::path::Path, args: &[&str], stdin: Option<&str>, cache: &std::path::Path) -> Run {
    let mut child = common::cu_command(cache)
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cu starts");
    let mut input = child.stdin.take().expect("stdin");
    if let Some(text) = stdin {
        // A usage error exits before reading its input; the run's result is what the test checks.
        if let Err(error) = input.write_all(text.as_bytes()) {
            assert_eq!(error.kind(), std::io::ErrorKind::BrokenPipe, "writes stdin: {error}");
        }
    }
    drop(input);
    let out = child.wait_with_output().expect("cu finishes");
    Run {
        status: out.status.code().expect("exited normally"),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn run(args: &[&str]) -> Run {
    cu(args, None, cache_dir())
}

/// Runs cu with `--store store` before `args`.
fn on_store(store: &str, args: &[&str]) -> Run {
    run(&[&["--store", store], args].concat())
}

fn run_with_stdin(args: &[&str], stdin: &str) -> Run {
    cu(args, Some(stdin), cache_dir())
}

fn script(name: &str, text: &str) -> String {
    let dir = std::env::temp_dir().join(format!("cu-cli-test-scripts-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("creates the script dir");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("writes the script");
    path.to_string_lossy().into_owned()
}

#[test]
fn eval_prints_each_value_on_its_own_line() {
    let out = run(&["eval", r#"return 2 + 2, "two", {a = 1}"#]);
    assert_eq!((out.status, out.stdout.as_str(), out.stderr.as_str()), (0, "4\n\"two\"\n{a = 1}\n", ""));
}

#[test]
fn print_streams_before_the_results() {
    let out = run(&["eval", "print('a', 1, nil) print('b') return 1.5, nil"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "a\t1\tnil\nb\n1.5\nnil\n");
}

#[test]
fn json_output() {
    let out = run(&["--json", "eval", r#"print("hi") return 1, 1.5, nil, {1, 2}, {x = "y"}"#]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let document: serde_json::Value = serde_json::from_str(&out.stdout).expect("stdout is JSON");
    assert_eq!(
        document,
        serde_json::json!({
            "returns": [1, 1.5, null, [1, 2], {"x": "y"}], "output": null, "printed": "hi\n", "instructions": 1
        })
    );
    assert!(document["returns"][0].is_i64(), "an integer stays an integer");
    assert!(document["returns"][1].is_f64());
}

#[test]
fn runtime_errors_go_to_stderr_with_a_traceback() {
    let out = run(&["eval", "local t = nil\nreturn t.x"]);
    assert_eq!(out.status, 1);
    assert_eq!(out.stdout, "");
    assert!(
        out.stderr.starts_with("cu: error: (eval):2: attempt to index a nil value (local 't')\n"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("stack traceback:\n\t(eval):2: in main chunk"), "{}", out.stderr);
}

#[test]
fn syntax_errors() {
    let out = run(&["eval", "return 1 +"]);
    assert_eq!(out.status, 1);
    assert_eq!(out.stderr, "cu: syntax error: (eval):1: unexpected symbol near <eof>\n");
}

#[test]
fn json_errors() {
    let out = run(&["--json", "eval", "error({code = 7})"]);
    assert_eq!(out.status, 1);
    let document: serde_json::Value = serde_json::from_str(&out.stdout).expect("stdout is JSON");
    assert_eq!(document["error"]["kind"], "runtime");
    assert_eq!(document["error"]["value"], serde_json::json!({"code": 7}));
    let out = run(&["--json", "-t", "100ms", "eval", "while true do end"]);
    let document: serde_json::Value = serde_json::from_str(&out.stdout).expect("stdout is JSON");
    assert_eq!(
        (document["error"]["kind"].as_str(), document["error"]["limit"].as_str()),
        (Some("limit"), Some("time"))
    );
}

#[test]
fn the_time_limit() {
    let started = Instant::now();
    let out = run(&["-t", "200ms", "eval", "while true do end"]);
    assert_eq!(out.status, 1);
    assert!(out.stderr.contains("time limit exceeded: the call ran longer than 200 ms"), "{}", out.stderr);
    assert!(started.elapsed() < Duration::from_secs(3), "took {:?}", started.elapsed());
}

#[test]
fn the_instruction_limit() {
    let out = run(&["--instructions", "1000", "eval", "n = 0 while true do n = n + 1 end"]);
    assert_eq!(out.status, 1);
    assert!(
        out.stderr.contains("instruction limit exceeded: the call ran more than 1000 instructions"),
        "{}",
        out.stderr
    );
    let out = run(&["--instructions", "1000", "--json", "eval", "for i = 1, 999 do end"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let document: serde_json::Value = serde_json::from_str(&out.stdout).expect("stdout is JSON");
    assert_eq!(document["instructions"], 1000);
    assert_eq!(run(&["--instructions", "0", "eval", "return 1"]).status, 2, "a limit of 0 is refused");
}

#[test]
fn the_memory_limit() {
    let out = run(&["-m", "16M", "eval", "return string.rep('x', 64 * 1024 * 1024)"]);
    assert_eq!(out.status, 1);
    assert!(out.stderr.contains("memory limit exceeded"), "{}", out.stderr);
    assert!(out.stderr.contains("16777216 bytes"), "{}", out.stderr);
}

#[test]
fn usage_errors_exit_2() {
    for args in [
        &["bogus"][..],
        &["eval"],
        &["--timeout", "5parsecs", "eval", "return 1"],
        &["--memory-limit", "lots", "eval", "return 1"],
        &["-m", "12X", "eval", "return 1"],
    ] {
        let out = run(args);
        assert_eq!(out.status, 2, "{args:?}: {}", out.stderr);
        assert!(out.stderr.contains("error"), "{args:?}: {}", out.stderr);
    }
    let out = run(&["run", "/no/such/script.lua"]);
    assert_eq!(out.status, 2);
    assert!(out.stderr.contains("cannot read /no/such/script.lua"), "{}", out.stderr);
}

#[test]
fn run_passes_arguments_in_arg() {
    let path = script("args.lua", "return arg[0], arg[1], arg[2], #arg");
    let out = run(&["run", &path, "a", "-b"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout, format!("{path:?}\n\"a\"\n\"-b\"\n2\n"));
}

#[test]
fn run_names_the_script_in_errors_and_skips_a_shebang() {
    let path = script("fails.lua", "#!/usr/bin/env cu run\nlocal x = 1\nerror('broken')\n");
    let out = run(&["run", &path]);
    assert_eq!(out.status, 1);
    assert!(out.stderr.starts_with(&format!("cu: error: {path}:3: broken")), "{}", out.stderr);
}

#[test]
fn run_reads_standard_input() {
    let out = run_with_stdin(&["run", "-"], "print('from stdin') return 42");
    assert_eq!((out.status, out.stdout.as_str()), (0, "from stdin\n42\n"), "{}", out.stderr);
}

#[test]
fn the_example_script() {
    let out = run(&["run", "examples/hello.lua", "world"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "Hello, world! This is Lua 5.4 in a WebAssembly sandbox.\n{1, 4, 9, 16, 25}\n5\n");
}

#[test]
fn repl_from_a_pipe() {
    let input = "x = 20\n=x + 1\n1 + 1\nfor i = 1, 2 do\n  print('line', i)\nend\nerror('oops')\nreturn x * 2\nlocal t = {\n1, 2}\n";
    let out = run_with_stdin(&["repl"], input);
    assert_eq!(out.status, 0, "{}", out.stderr);
    assert_eq!(out.stdout, "21\n2\nline\t1\nline\t2\n40\n");
    assert!(out.stderr.starts_with("cu: error: stdin:1: oops"), "{}", out.stderr);
}

#[test]
fn repl_reports_input_that_ends_unfinished() {
    let out = run_with_stdin(&["repl"], "print('ok')\nfor i = 1, 2 do\n");
    assert_eq!(out.stdout, "ok\n");
    assert!(out.stderr.contains("syntax error") && out.stderr.contains("'end' expected"), "{}", out.stderr);
}

#[test]
fn the_sandbox_through_the_cli() {
    assert_eq!(run(&["eval", "return io"]).stdout, "nil\n");
    let out = run(&["eval", "os.execute('ls')"]);
    assert_eq!(out.status, 1);
    assert!(out.stderr.contains("field 'execute'"), "{}", out.stderr);
    let out = run(&["eval", "return require('io')"]);
    assert_eq!(out.status, 1);
    assert!(out.stderr.contains("module 'io' not found"), "{}", out.stderr);
}

#[test]
fn values_print_through_tostring_as_the_lua_repl_prints_them() {
    let code =
        "return setmetatable({}, {__tostring = function() return 'T!' end}), setmetatable({}, {__name = 'Point'})";
    let out = run(&["eval", code]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines[0], "T!");
    assert!(lines[1].starts_with("Point: 0x"), "{}", out.stdout);
    // JSON shows the data, not the text.
    assert!(run(&["--json", "eval", code]).stdout.starts_with(r#"{"returns":[{},{}]"#));
    let out = run_with_stdin(&["repl"], "setmetatable({}, {__tostring = function() return 'from the repl' end})\n");
    assert_eq!(out.stdout, "from the repl\n", "{}", out.stderr);
    // Stored tables print as their contents, not as their proxy's name.
    let out = on_store("memory", &["eval", "_home.t = {1, 2} return _home.t"]);
    assert_eq!(out.stdout, "{1, 2}\n", "{}", out.stderr);
}

#[test]
fn execute_runs_before_the_script_and_allow_gives_the_debug_library() {
    let out = run(&["-e", "GREETING = 'hi'", "-e", "GREETING = GREETING .. '!'", "eval", "return GREETING"]);
    assert_eq!(out.stdout, "\"hi!\"\n", "{}", out.stderr);
    let out = run(&["-e", "error('early')", "eval", "return 1"]);
    assert_eq!(out.status, 1);
    assert!(out.stderr.starts_with("cu: error: (command line):1: early"), "{}", out.stderr);
    assert_eq!(run(&["eval", "return debug.getinfo"]).stdout, "nil\n");
    let out = run(&["--allow", "debug", "eval", "return debug.getinfo(1, 'S').source"]);
    assert_eq!(out.stdout, "\"@(eval)\"\n", "{}", out.stderr);
    let out = run(&["--allow", "io", "eval", "return 1"]);
    assert_eq!(out.status, 2);
    assert!(out.stderr.contains("invalid value 'io' for '--allow <WHAT>'"), "{}", out.stderr);
}

#[test]
fn help_is_complete() {
    let out = run(&["--help"]);
    assert_eq!(out.status, 0);
    for word in [
        "eval",
        "run",
        "repl",
        "--json",
        "--timeout",
        "--memory-limit",
        "--cache-dir",
        "--no-cache",
        "--lib-dir",
        "--path",
        "require",
        "Exit status",
    ] {
        assert!(out.stdout.contains(word), "--help lacks {word}:\n{}", out.stdout);
    }
    for (command, words) in [
        ("eval", &["<CODE>", "--json", "--timeout"][..]),
        ("run", &["<FILE>", "[ARGS]...", "standard input", "arg[0]"]),
        ("repl", &["=expr", "Ctrl-D", "--memory-limit"]),
    ] {
        for help in [run(&[command, "--help"]), run(&["help", command])] {
            assert_eq!(help.status, 0);
            for word in words {
                assert!(help.stdout.contains(word), "`cu {command} --help` lacks {word}:\n{}", help.stdout);
            }
        }
    }
    let version = run(&["--version"]);
    assert_eq!(version.stdout, format!("cu {}\n", env!("CARGO_PKG_VERSION")));
}

#[test]
fn no_cache_works() {
    let out = run(&["--no-cache", "eval", "return 'fresh'"]);
    assert_eq!((out.status, out.stdout.as_str()), (0, "\"fresh\"\n"), "{}", out.stderr);
}

/// The interactive REPL on a real terminal: `script` (util-linux) gives it a pseudo-terminal, and
/// lines are typed with pauses, as a person would.
#[test]
fn repl_on_a_terminal() {
    let data = std::env::temp_dir().join(format!("cu-cli-test-data-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    let command = format!("{} repl", env!("CARGO_BIN_EXE_cu"));
    let mut child = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("CU_CACHE_DIR", cache_dir())
        // Whatever the session does to `_home` must not leave a store in the source tree.
        .env("CU_STORE", "memory")
        .env("XDG_DATA_HOME", &data)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("script (util-linux) starts");
    let mut input = child.stdin.take().expect("stdin");
    std::thread::sleep(Duration::from_millis(500));
    for line in ["x = 5", "=x * 2", "for i = 1, 2 do", "print('i', i)", "end", "error('oops')", "x + 1"] {
        input.write_all(format!("{line}\r").as_bytes()).expect("types");
        std::thread::sleep(Duration::from_millis(300));
    }
    input.write_all(b"\x04").expect("Ctrl-D");
    drop(input);
    let out = child.wait_with_output().expect("finishes");
    let screen = String::from_utf8_lossy(&out.stdout).replace('\r', "");
    for expected in ["Ctrl-D to quit", "\n10\n", ">> ", "i\t1\ni\t2\n", "cu: error: stdin:1: oops", "\n6\n"] {
        assert!(screen.contains(expected), "the terminal lacks {expected:?}:\n{screen}");
    }
    let history = std::fs::read_to_string(data.join("cu/history")).expect("history is saved");
    assert!(history.contains("=x * 2") && history.contains("for i = 1, 2 do"), "{history}");
    std::fs::remove_dir_all(&data).expect("cleans up");
}

/// Every `$ cu ...` line in the README's console blocks, run as written: what it prints (stdout,
/// then stderr) must be exactly the lines that follow it.
#[test]
fn readme_console_examples_run_as_written() {
    let text = common::readme();
    let mut examples: Vec<(String, String)> = Vec::new();
    let mut in_block = false;
    for line in text.lines() {
        match line {
            "```console" => in_block = true,
            "```" => in_block = false,
            _ if in_block => match line.strip_prefix("$ ") {
                Some(command) => examples.push((command.to_string(), String::new())),
                None => {
                    let (_, expected) = examples.last_mut().expect("output follows a command");
                    expected.push_str(line);
                    expected.push('\n');
                }
            },
            _ => {}
        }
    }
    assert!(examples.len() >= 7, "the README's examples were not found");
    for (command, expected) in examples {
        let words = common::shell_words(&command);
        assert_eq!(words[0], "cu", "{command}");
        let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
        let out = run(&args);
        assert_eq!(out.stdout + &out.stderr, expected, "`{command}` does not print what the README says");
    }
}

/// The README's REPL session, typed into `cu repl` (its prompts are not printed from a pipe).
#[test]
fn readme_repl_example_runs_as_written() {
    let text = common::readme();
    let start = text.find("```text\n> ").expect("the README has a REPL example") + "```text\n".len();
    let session = &text[start..start + text[start..].find("```").expect("the block ends")];
    let (mut input, mut expected) = (String::new(), String::new());
    for line in session.lines() {
        match line.strip_prefix("> ").or_else(|| line.strip_prefix(">> ")) {
            Some(typed) => input.push_str(&format!("{typed}\n")),
            None => expected.push_str(&format!("{line}\n")),
        }
    }
    let out = run_with_stdin(&["repl"], &input);
    assert_eq!(out.stdout + &out.stderr, expected);
}

#[test]
fn input_file_into_io_and_output_as_json() {
    // The README's example files (tests run from the repository's root).
    let (code, input) = ("examples/high_scorers.lua", "examples/users.json");
    let out = run(&["run", code, "--input", input, "--json"]);
    assert_eq!(out.status, 0, "{}", out.stderr);
    let document: serde_json::Value = serde_json::from_str(&out.stdout).expect("one JSON document");
    assert_eq!(
        document,
        serde_json::json!({
            "returns": [],
            "output": {"count": 2, "highScorers": [{"name": "Alice", "score": 95}, {"name": "Charlie", "score": 92}]},
            "printed": "",
            "instructions": 4,
        })
    );
    // Text mode labels the output after the returned values.
    let out = run(&["run", code, "--input", input]);
    assert_eq!(
        out.stdout,
        "_io.output = {count = 2, highScorers = {{name = \"Alice\", score = 95}, {name = \"Charlie\", score = 92}}}\n"
    );
}

#[test]
fn input_from_stdin_and_meta_from_the_command_line() {
    let out = run_with_stdin(
        &[
            "eval",
            "return #_io.input.list, _io.input.list[2] == null, _io.meta.request",
            "--input",
            "-",
            "--meta",
            r#"{"request": "r-1"}"#,
        ],
        r#"{"list": [1, null, 3]}"#,
    );
    assert_eq!((out.status, out.stdout.as_str(), out.stderr.as_str()), (0, "3\ntrue\n\"r-1\"\n", ""));
}

#[test]
fn bad_input_is_a_usage_error_that_names_the_problem() {
    let broken = script("broken.json", "{\"a\": [1, 2,\n}");
    let out = run(&["eval", "return 1", "--input", &broken]);
    assert_eq!(out.status, 2);
    assert!(out.stderr.contains("broken.json is not valid JSON") && out.stderr.contains("line 2"), "{}", out.stderr);
    let out = run(&["eval", "return 1", "--input", "/no/such.json"]);
    assert!(out.status == 2 && out.stderr.contains("cannot read /no/such.json"), "{}", out.stderr);
    let out = run(&["eval", "return 1", "--meta", "{nope"]);
    assert!(out.status == 2 && out.stderr.contains("--meta: not valid JSON"), "{}", out.stderr);
    let out = run_with_stdin(&["run", "-", "--input", "-"], "return 1");
    assert!(out.status == 2 && out.stderr.contains("cannot both come from standard input"), "{}", out.stderr);
    let not_a_list = script("object.json", "{\"a\": 1}");
    let out = run(&["stream", &script("noop.lua", ""), "--input", &not_a_list]);
    assert!(out.status == 2 && out.stderr.contains("must hold a JSON array of items, not a object"), "{}", out.stderr);
    let out = run(&["stream", &script("noop.lua", "")]);
    assert!(out.status == 2 && out.stderr.contains("`cu stream` needs --input"), "{}", out.stderr);
}

const DOUBLE: &str = "local out = {} for i, v in ipairs(_io.input.batch) do out[i] = v * 2 end _io.output = out";

fn numbers_file(n: usize) -> String {
    let items: Vec<usize> = (1..=n).collect();
    script(&format!("numbers-{n}.json"), &serde_json::to_string(&items).expect("serializes"))
}

#[test]
fn stream_prints_each_batch_and_no_progress_when_piped() {
    let (code, items) = (script("double.lua", DOUBLE), numbers_file(5));
    let out = run(&["stream", &code, "--input", &items, "--batch", "2"]);
    assert_eq!((out.status, out.stdout.as_str(), out.stderr.as_str()), (0, "{2, 4}\n{6, 8}\n{10}\n", ""));
    let out = run(&["stream", &code, "--input", &items, "--batch", "2", "--json"]);
    assert_eq!(out.stdout, "[2,4]\n[6,8]\n[10]\n");
    let failing = script("fails-on-3.lua", "for _, v in ipairs(_io.input.batch) do assert(v ~= 3, 'three') end");
    let out = run(&["stream", &failing, "--input", &items, "--batch", "2"]);
    assert_eq!(out.status, 1);
    assert!(
        out.stderr.contains("cu: batch 2 (items 3 to 4): error:") && out.stderr.contains("three"),
        "{}",
        out.stderr
    );
}

#[test]
fn stream_shows_progress_on_a_terminal() {
    let (code, items) = (script("slow-double.lua", DOUBLE), numbers_file(20_000));
    let command = format!("{} stream {code} --input {items} --batch 10", env!("CARGO_BIN_EXE_cu"));
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .env("CU_CACHE_DIR", cache_dir())
        // Whatever the session does to `_home` must not leave a store in the source tree.
        .env("CU_STORE", "memory")
        .stdin(Stdio::null())
        .output()
        .expect("script (util-linux) runs");
    let screen = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{screen}");
    assert!(
        screen.contains("/20000 items"),
        "no progress bar on the terminal:\n{}",
        &screen[screen.len().saturating_sub(2000)..]
    );
    assert!(screen.contains("39998, 40000}"), "the last batch is missing");
}

/// The seeds' `_home` examples, each line a separate `cu` process on the default store.
#[test]
fn home_persists_across_processes_in_the_current_directory() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let cu = |args: &[&str]| {
        let run = cu_in(dir.path(), args, None, cache_dir());
        assert_eq!(run.status, 0, "{args:?}: {}", run.stderr);
        run.stdout
    };
    cu(&["eval", "return 1"]);
    assert!(!dir.path().join(".cu").exists(), "a run that does not touch _home makes no store");
    cu(&[
        "eval",
        "function _home.fibonacci(n) if n <= 1 then return n end \
                   return _home.fibonacci(n - 1) + _home.fibonacci(n - 2) end",
    ]);
    cu(&["eval", "local count = 0 function _home.counterFactory() count = count + 1 return count end"]);
    cu(&["eval", "_home.users = _home.users or {} _home.users.user1 = { name = 'Alice', age = 30 }"]);
    assert_eq!(cu(&["eval", "return _home.fibonacci(10)"]), "55\n");
    assert_eq!(cu(&["eval", "return _home.counterFactory()"]), "1\n");
    assert_eq!(cu(&["eval", "return _home.counterFactory()"]), "2\n");
    assert_eq!(cu(&["eval", "return _home.users.user1.name"]), "\"Alice\"\n");
    assert!(dir.path().join(".cu/home.sqlite").is_file(), "the default store is .cu/home.sqlite");
}

#[test]
fn home_and_snapshot_commands() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = format!("sqlite:{}", dir.path().join("s.sqlite").display());
    let cu = |args: &[&str]| on_store(&store, args);
    assert_eq!(cu(&["home", "set", "users.alice", r#"{"name": "Alice", "tags": ["a"]}"#]).status, 0);
    assert_eq!(cu(&["--json", "home", "get", "users"]).stdout, "{\"alice\":{\"name\":\"Alice\",\"tags\":[\"a\"]}}\n");
    assert_eq!(cu(&["eval", "function _home.f() return 1 end"]).status, 0);
    assert_eq!(cu(&["home", "keys"]).stdout, "\"f\"\tfunction\n\"users\"\ttable\n");
    assert!(cu(&["snapshot", "save", "one"]).stdout.starts_with("saved one: "));
    assert_eq!(cu(&["home", "delete", "users"]).status, 0);
    assert_eq!(cu(&["home", "get", "users"]).stdout, "nil\n");
    assert!(cu(&["snapshot", "restore", "one"]).stdout.starts_with("restored one: "));
    assert_eq!(cu(&["home", "get", "users.alice.tags[1]"]).stdout, "\"a\"\n");
    assert!(cu(&["snapshot", "list"]).stdout.starts_with("one: "));
    let batch = |ops: &str| run_with_stdin(&["--store", store.as_str(), "home", "batch", "-"], ops);
    let done = batch(r#"[{"type": "set", "path": "n", "value": 5}, {"type": "get", "path": "n"}]"#);
    assert_eq!((done.status, done.stdout.as_str()), (0, "nil\n5\n"), "{}", done.stderr);
    let bad = batch(r#"[{"type": "frob", "path": "n"}]"#);
    assert_eq!(bad.status, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("the batch in -") && bad.stderr.contains("unknown variant `frob`"), "{}", bad.stderr);
    let missing = cu(&["snapshot", "restore", "two"]);
    assert_eq!((missing.status, missing.stderr.trim()), (1, "cu: error: there is no snapshot named 'two'"));
    let bad = run(&["--store", "nowhere", "eval", "return 1"]);
    assert_eq!(bad.status, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("unknown store `nowhere`"), "{}", bad.stderr);
    let bad = run(&["--store", "redis://127.0.0.1:6379/x", "eval", "return 1"]);
    assert_eq!(bad.status, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("is not a Redis URL"), "{}", bad.stderr);
}

/// The storage API on the command line, each line a separate process on one store.
#[test]
fn index_query_schema_and_audit_commands() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = format!("sqlite:{}", dir.path().join("s.sqlite").display());
    let cu = |args: &[&str]| on_store(&store, args);
    let ok = |args: &[&str]| {
        let out = cu(args);
        assert_eq!(out.status, 0, "cu {args:?}: {}", out.stderr);
        out.stdout
    };
    ok(&[
        "eval",
        "_home.users = { ann = { age = 31, city = 'Oslo' }, bob = { age = 17, city = 'Oslo' }, cy = { age = 45, city = 'Rome' } }",
    ]);
    assert_eq!(ok(&["home", "index", "create", "users", "age"]), "users\tage\tbtree\n");
    assert_eq!(
        ok(&["--json", "home", "index", "list"]),
        "{\"table\":\"users\",\"field\":\"age\",\"kind\":\"btree\"}\n"
    );
    assert_eq!(
        ok(&["home", "query", "users", "--where", "age >= 18", "--desc"]),
        "\"cy\"\t{age = 45, city = \"Rome\"}\n\"ann\"\t{age = 31, city = \"Oslo\"}\n"
    );
    assert_eq!(
        ok(&["--json", "home", "query", "users", "-w", "city = Oslo", "-w", "age between 10 20"]),
        "{\"key\":\"bob\",\"value\":{\"age\":17,\"city\":\"Oslo\"}}\n"
    );
    assert_eq!(
        ok(&["home", "query", "users", "--where", "city startsWith \"Ro\"", "--limit", "1"]),
        "\"cy\"\t{age = 45, city = \"Rome\"}\n"
    );
    assert_eq!(ok(&["home", "index", "check"]), "");
    let bad = cu(&["home", "query", "users", "--where", "age"]);
    assert_eq!(bad.status, 2, "{}", bad.stderr);
    assert!(bad.stderr.contains("--where 'age': no operator"), "{}", bad.stderr);
    let bad = cu(&["home", "query", "nobody", "--where", "age > 1"]);
    assert_eq!((bad.status, bad.stderr.trim()), (1, "cu: error: _home.nobody does not exist"));

    ok(&["home", "audit", "enable", "compute", "set"]);
    ok(&["home", "schema", "set", "users", r#"{"age": {"type": "integer", "min": 0}}"#]);
    assert_eq!(ok(&["home", "schema", "get", "users"]), "{age = {min = 0, type = \"integer\"}}\n");
    let broken = cu(&["--json", "eval", "_home.users.dan = { age = -1 }"]);
    assert_eq!(broken.status, 1);
    assert!(
        broken.stdout.contains(r#""kind":"schema","path":"_home.users.dan.age","rule":"min""#),
        "{}",
        broken.stdout
    );
    ok(&["--audit-label", "ci", "home", "set", "users.dan", r#"{"age": 3}"#]);
    let log = ok(&["home", "audit", "show", "--since", "1h"]);
    let lines: Vec<&str> = log.lines().collect();
    assert_eq!(lines.len(), 2, "{log}");
    assert!(
        lines[0].ends_with(" enableAuditLog compute set") && lines[1].ends_with(" set [ci] _home.users.dan"),
        "{log}"
    );
    ok(&["home", "schema", "remove", "users"]);
    assert_eq!(ok(&["home", "schema", "get", "users"]), "nil\n");

    let code = script("fib.lua", "function(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end");
    ok(&["home", "persist", "lib", "fib", &code]);
    assert_eq!(ok(&["eval", "return _home.lib.fib(20)"]), "6765\n");
    let invalid = cu(&["home", "validate", &script("bad.lua", "function(x) return x +")]);
    assert_eq!((invalid.status, invalid.stdout.as_str()), (1, "invalid: code:1: unexpected symbol near <eof>\n"));
    assert_eq!(ok(&["home", "validate", &code]), "valid\n");
    assert_eq!(ok(&["home", "index", "drop", "users", "age"]), "");
    assert_eq!(cu(&["home", "index", "drop", "users", "age"]).status, 1);
}

/// The README's storage API commands, run as written (comments aside) in a directory whose
/// `_home` holds the tables they name.
#[test]
fn readme_storage_commands_run_as_written() {
    let text = common::readme();
    let block = text
        .split("## Indexes, queries, schemas and an audit log on `_home`")
        .nth(1)
        .and_then(|rest| rest.split("```sh\n").nth(1))
        .and_then(|rest| rest.split("```").next())
        .expect("the README's storage commands");
    let dir = tempfile::tempdir().expect("a temporary directory");
    std::fs::write(
        dir.path().join("fib.lua"),
        "function(n) if n < 2 then return n end return fib(n - 1) + fib(n - 2) end",
    )
    .expect("writes fib.lua");
    let setup = "_home.appUsers = { u1 = { score = 900, created = '2024-01-02' }, u2 = { score = 500, created = '2024-01-03' } } \
        _home.users = { ann = { age = 30 } }";
    let seeded = cu_in(dir.path(), &["eval", setup], None, cache_dir());
    assert_eq!(seeded.status, 0, "{}", seeded.stderr);
    let mut ran = 0;
    for line in block.lines() {
        let command = line.split(" # ").next().unwrap_or(line).trim();
        let words = common::shell_words(command);
        assert_eq!(words[0], "cu", "{line}");
        let args: Vec<&str> = words[1..].iter().map(String::as_str).collect();
        let out = cu_in(dir.path(), &args, None, cache_dir());
        assert_eq!(out.status, 0, "`{command}` failed: {}", out.stderr);
        ran += 1;
    }
    assert!(ran >= 5, "the README's storage commands were not found");
    let shown = cu_in(dir.path(), &["home", "audit", "show", "--since", "1h"], None, cache_dir());
    assert!(shown.stdout.contains("persistFunction _home.lib"), "{}", shown.stdout);
    let fib = cu_in(dir.path(), &["eval", "return _home.lib.fib(10)"], None, cache_dir());
    assert_eq!(fib.stdout, "55\n");
}

/// Two `cu` processes share `_home` through a Redis server.
#[test]
fn home_on_a_redis_server() {
    let server = common::redis_server::RedisServer::start();
    let url = server.url(0);
    let cu = |args: &[&str]| {
        let run = run(&[&["--store", url.as_str()], args].concat());
        assert_eq!(run.status, 0, "{args:?}: {}", run.stderr);
        run.stdout
    };
    assert_eq!(cu(&["eval", "_home.n = (_home.n or 0) + 1 return _home.n"]), "1\n");
    assert_eq!(cu(&["eval", "_home.n = (_home.n or 0) + 1 return _home.n"]), "2\n");
    assert_eq!(cu(&["home", "get", "n"]), "2\n");
}

/// Bigints print in Lua form, and cross JSON as `{"$bigint": "…"}` both ways.
#[test]
fn bigints_in_text_and_json() {
    let out = run(&["--store", "memory", "eval", "local b = require('bigint') return b.new(2) ^ 70"]);
    assert_eq!((out.status, out.stdout.as_str()), (0, "bigint.new(\"1180591620717411303424\")\n"), "{}", out.stderr);
    let input = script("amount.json", r#"{"wei": {"$bigint": "1000000000000000000000"}}"#);
    let out = run(&["--store", "memory", "--json", "eval", "--input", &input, "_io.output = _io.input.wei * 3"]);
    assert_eq!(
        out.stdout,
        "{\"returns\":[],\"output\":{\"$bigint\":\"3000000000000000000000\"},\"printed\":\"\",\"instructions\":1}\n",
        "{}",
        out.stderr
    );
}

#[test]
fn json_integers_past_64_bits_arrive_as_bigints() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let input = dir.path().join("in.json");
    std::fs::write(
        &input,
        r#"{"b": 18446744073709551615, "c": -9223372036854775809, "m": 9223372036854775807, "f": 1e3}"#,
    )
    .expect("writes the input");
    let input = input.to_str().expect("a UTF-8 path");
    let code = "local i = _io.input return i.b + 1, i.c, i.m, math.type(i.m), i.f";
    let out = on_store("memory", &["eval", code, "--input", input]);
    assert_eq!(
        out.stdout,
        "bigint.new(\"18446744073709551616\")\nbigint.new(\"-9223372036854775809\")\n9223372036854775807\n\"integer\"\n1000.0\n",
        "{}",
        out.stderr
    );
    let store = format!("sqlite:{}", dir.path().join("home.sqlite").display());
    assert_eq!(on_store(&store, &["home", "set", "wei", "100000000000000000000000000000"]).status, 0);
    let out = on_store(&store, &["--json", "home", "get", "wei"]);
    assert_eq!(out.stdout, "{\"$bigint\":\"100000000000000000000000000000\"}\n", "{}", out.stderr);
}
