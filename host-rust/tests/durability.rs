//! `_home` under real `cu` processes: killed with SIGKILL in the middle of a loop of committing
//! calls, and several processes writing one store at once (docs/HOME.md, "Transactions").

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::OnceLock;
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use common::redis_server::RedisServer;
use cu::{Store, UnitOptions, Value};

/// A compiled-component cache shared by every `cu` these tests start, warmed once.
fn cache_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = std::env::temp_dir().join("cu-durability-test-cache");
        let warm = cu(&dir, "memory").arg("eval").arg("return 1").output().expect("cu runs");
        assert!(warm.status.success(), "warming the cache failed: {}", String::from_utf8_lossy(&warm.stderr));
        dir
    })
}

fn cu(cache: &Path, store: &str) -> Command {
    let mut command = common::cu_command(cache);
    command.args(["--store", store]);
    command
}

/// A `cu repl` on `store` fed `lines` through a pipe, one call (so one commit) per line.
struct Repl {
    child: Child,
    feeder: JoinHandle<()>,
}

impl Repl {
    fn start(
        store: &str,
        flags: &[&str],
        lines: impl Iterator<Item = String> + Send + 'static,
    ) -> (Self, BufReader<ChildStdout>) {
        let mut child = cu(cache_dir(), store)
            .args(flags)
            .arg("repl")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cu starts");
        let mut stdin = child.stdin.take().expect("stdin");
        // Writing fails once the process is killed: that is how the feeder learns to stop.
        let feeder = thread::spawn(move || {
            for line in lines {
                if writeln!(stdin, "{line}").is_err() {
                    break;
                }
            }
        });
        let stdout = BufReader::new(child.stdout.take().expect("stdout"));
        (Repl { child, feeder }, stdout)
    }

    /// Waits for the process to end and returns its standard error.
    fn finish(mut self) -> String {
        let mut stderr = String::new();
        std::io::Read::read_to_string(&mut self.child.stderr.take().expect("stderr"), &mut stderr)
            .expect("reads stderr");
        self.child.wait().expect("cu ends");
        self.feeder.join().expect("the feeder finishes");
        stderr
    }
}

/// One call of the kill test: it changes three records (the root, the log, a new entry) and two
/// indexes on the log, which must all be stored or none.
const STEP: &str = "local n = (_home.a or 0) + 1 _home.log = _home.log or {} \
    _home.log[n] = {n = n, pad = string.rep('x', 2000), meta = {parity = n % 2}} _home.a = n _home.b = n return n";

/// Indexes on the log the kill test writes, made before it starts.
const INDEXES: &str = "local home = require('home') home.createIndex('log', 'n') home.createIndex('log', 'meta.parity') \
    return #home.indexes()";

/// What a store holds after the kill test's calls: `a`, `b`, the number of log entries, checking
/// that every entry is whole, how many entries the index on `n` finds, and how many things the
/// index check finds wrong.
const CHECK: &str = "local count = 0 for i, entry in ipairs(_home.log or {}) do \
    assert(entry.n == i and #entry.pad == 2000, 'entry ' .. i .. ' is not whole') count = i end \
    local home = require('home') \
    local indexed = #home.query{table = 'log', field = 'n', operator = '>=', value = 1, limit = 1000000} \
    return _home.a or 0, _home.b or 0, count, indexed, #home.checkIndexes()";

fn integers(values: Vec<Value>) -> Vec<i64> {
    values.into_iter().map(|value| if let Value::Integer(i) = value { i } else { panic!("{value:?}") }).collect()
}

/// What `code` returns in a unit that opens `spec` afresh, as a new process would.
fn run_afresh(spec: &str, code: &str) -> Vec<i64> {
    let store = Store::open(spec).expect("the store opens");
    // Reading back every entry is one store round trip each: on a loaded machine that can take
    // longer than the default limit, and the check is about what is stored, not how fast.
    let mut unit = common::unit_with(UnitOptions::default().store(store).time_limit(Some(Duration::from_secs(120))));
    integers(common::values(&mut unit, code))
}

/// Kills a `cu` that commits one call after another, 20 times, each at a different moment: every
/// call it reported done is stored whole, and any other call is stored whole or not at all.
fn survives_kill_9(spec: &str) {
    assert_eq!(run_afresh(spec, INDEXES), [2]);
    let mut stored = 0;
    for round in 0..20 {
        let (repl, mut stdout) = Repl::start(spec, &[], std::iter::repeat_n(STEP.to_string(), 1_000_000));
        // Kill it after its first commit, so that it dies among commits and not while starting.
        let mut reported = String::new();
        stdout.read_line(&mut reported).expect("reads the first result");
        assert!(!reported.is_empty(), "round {round}: cu ended before its first call");
        thread::sleep(Duration::from_millis(20 + round * 37 % 300));
        let mut child = repl.child;
        child.kill().expect("sends SIGKILL");
        let rest: Vec<String> = stdout.lines().map(|line| line.expect("reads a result")).collect();
        child.wait().expect("cu ends");
        repl.feeder.join().expect("the feeder finishes");
        let last_reported: i64 = rest.last().unwrap_or(&reported).trim().parse().expect("a count");

        let [a, b, entries, indexed, wrong] = run_afresh(spec, CHECK)[..] else { panic!("five counts") };
        assert_eq!((a, b), (entries, entries), "round {round}: a call was stored in part");
        assert_eq!((indexed, wrong), (entries, 0), "round {round}: an index disagrees with its table");
        assert!(a >= last_reported, "round {round}: call {last_reported} was reported done, but the store has {a}");
        assert!(a > stored, "round {round}: no call was stored");
        stored = a;
    }
}

/// Runs `test` on a new SQLite file.
fn on_sqlite(test: fn(&str)) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    test(&format!("sqlite:{}", dir.path().join("home.sqlite").display()));
}

/// Runs `test` on a new Redis server.
fn on_redis(test: fn(&str)) {
    let server = RedisServer::start();
    test(&server.url(0));
}

#[test]
fn sqlite_survives_kill_9_between_and_during_commits() {
    on_sqlite(survives_kill_9);
}

#[test]
fn redis_survives_kill_9_between_and_during_commits() {
    on_redis(survives_kill_9);
}

/// Two `cu` processes increment one counter 300 times each, at once. A call that loses to the
/// other process is run again, so every call succeeds and none is counted twice; with `--no-retry`
/// such calls fail with the conflict instead, and still every call reported done is counted.
fn two_processes_lose_no_update(spec: &str, retry: bool) {
    const CALLS: usize = 300;
    // Time between the read and the write, so that the processes overlap and collide.
    let line = "local n = _home.n or 0 for _ = 1, 20000 do end _home.n = n + 1 return 'done'";
    let flags: &[&str] = if retry { &[] } else { &["--no-retry"] };
    let started = Instant::now();
    let processes: Vec<_> =
        (0..2).map(|_| Repl::start(spec, flags, std::iter::repeat_n(line.to_string(), CALLS))).collect();
    let mut done = 0;
    let mut conflicts = 0;
    for (repl, stdout) in processes {
        let results: Vec<String> = stdout.lines().map(|line| line.expect("reads a result")).collect();
        let stderr = repl.finish();
        assert!(results.iter().all(|result| result == "\"done\""), "{results:?}");
        let failures: Vec<&str> = stderr.lines().filter(|line| line.starts_with("cu: ")).collect();
        assert!(
            failures.iter().all(|failure| !retry && failure.contains("another writer changed _home data")),
            "a call failed: {stderr}"
        );
        assert_eq!(results.len() + failures.len(), CALLS, "every call succeeds or conflicts: {stderr}");
        done += results.len();
        conflicts += failures.len();
    }
    assert_eq!(run_afresh(spec, "return _home.n"), [done as i64], "{done} calls were reported done");
    assert!(retry || conflicts > 0, "with --no-retry, 600 calls on one counter met no conflict");
    eprintln!("{spec}: {done} increments, {conflicts} conflicts reported, {:?}", started.elapsed());
}

#[test]
fn two_processes_on_one_sqlite_file_lose_no_update() {
    on_sqlite(|spec| two_processes_lose_no_update(spec, true));
}

#[test]
fn two_hosts_on_one_redis_server_lose_no_update() {
    on_redis(|spec| two_processes_lose_no_update(spec, true));
}

#[test]
fn with_no_retry_conflicts_are_reported_and_lose_no_update() {
    on_sqlite(|spec| two_processes_lose_no_update(spec, false));
}
