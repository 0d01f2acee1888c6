//! The chaos run (`cargo xtask chaos`; a short run in `cargo xtask test`): worker processes on one
//! SQLite file and on one Redis server make random `_home` transfers between accounts, each call
//! logging itself under its own id, while the harness kills workers with SIGKILL, restarts Redis
//! with SIGKILL, and fills the small tmpfs that holds the SQLite file.
//!
//! Afterwards every call a worker reported done is in the store, no call that failed left a trace
//! (unless its error said the connection was lost during its commit, which may have been
//! applied), the accounts still hold what they started with, every log entry is
//! whole, every index agrees with its table, every snapshot the harness saved restores to a state
//! that passes the same checks, and no worker ended other than by the harness's hand.
//!
//! `CU_CHAOS_SECONDS` sets the length of the run on each store (default 10). The binary is its
//! own worker: started with `CU_CHAOS_WORKER` set, it makes calls until its deadline instead.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::hooked;
use common::redis_server::RedisServer;
use cu::{Error, Store, StoreErrorKind, Unit, UnitOptions, Value};

const WORKER_ENV: &str = "CU_CHAOS_WORKER";
const WORKERS: usize = 4;
const ACCOUNTS: i64 = 8;
const BALANCE: i64 = 100;
/// One call in this many raises an error after its writes, which must then leave no trace.
const PLANNED_FAILURE: u64 = 10;
/// Bytes of padding in each log entry, so that the SQLite file grows into the full disk.
const PAD: usize = 200;
/// A worker's pause between calls: the run is about faults, not throughput, and a long run's
/// store (and its snapshots) must fit the tmpfs.
const PACE: Duration = Duration::from_millis(10);
/// Snapshots saved per store; each is restored and checked at the end.
const SNAPSHOTS: usize = 3;

fn main() {
    if let Ok(config) = std::env::var(WORKER_ENV) {
        worker(&config);
    }
    let seconds: u64 = std::env::var("CU_CHAOS_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let run = Duration::from_secs(seconds);
    let reports = [on_sqlite(run), on_redis(run)];
    println!("\nchaos run: {WORKERS} worker processes per store, {seconds} s per store\n");
    println!(
        "| store | calls | done | retried | failed: planned | conflict | store | other | ambiguous (stored) | \
         workers killed | faults |"
    );
    println!("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|");
    for report in &reports {
        report.print();
    }
    println!();
    for report in &reports {
        for (cause, message) in report.said.failed.values().map(|(c, m)| (c, m)).collect::<BTreeMap<_, _>>() {
            println!("{} {cause}: {message}", report.store);
        }
    }
}

/// A small xorshift generator: the harness needs no statistical quality, only a spread.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).expect("after 1970").as_millis() as u64
}

// The worker.

/// Makes calls on the store until the deadline, printing `done ID COMMITS` or `fail ID COMMITS
/// CAUSE: MESSAGE` for each, then exits 0. `config` is `SPEC|NAME|DEADLINE_MS`.
fn worker(config: &str) -> ! {
    let [spec, name, deadline] = config.splitn(3, '|').collect::<Vec<_>>()[..] else { panic!("bad {WORKER_ENV}") };
    let deadline: u64 = deadline.parse().expect("a deadline");
    let commits = Arc::new(AtomicUsize::new(0));
    let counted = commits.clone();
    let store = hooked::before_commit(Store::open(spec).expect("the store opens"), move || {
        counted.fetch_add(1, Ordering::SeqCst);
    });
    let options = UnitOptions::default().store(store).time_limit(Some(Duration::from_secs(20)));
    let mut unit = common::unit_with(options);
    let mut rng = Rng(name.bytes().fold(now_ms() | 1, |h, b| h.rotate_left(5) ^ u64::from(b)));
    let mut out = std::io::stdout().lock();
    for call in 0.. {
        if now_ms() >= deadline {
            break;
        }
        let id = format!("{name}-{call}");
        let code = transfer(&id, &mut rng);
        let before = commits.load(Ordering::SeqCst);
        let result = unit.compute(&code);
        let tried = commits.load(Ordering::SeqCst) - before;
        let line = match result {
            Ok(_) => format!("done {id} {tried}"),
            Err(error) => format!("fail {id} {tried} {}: {}", cause(&error), error.to_string().replace('\n', " ")),
        };
        writeln!(out, "{line}").and_then(|()| out.flush()).expect("the harness reads");
        thread::sleep(PACE);
    }
    std::process::exit(0);
}

/// One call: moves a random amount between two accounts when the first has it, logs itself under
/// `id`, and now and then raises an error after all of that.
fn transfer(id: &str, rng: &mut Rng) -> String {
    let (from, to, amount) = (1 + rng.below(ACCOUNTS as u64), 1 + rng.below(ACCOUNTS as u64), 1 + rng.below(20));
    let fail = if rng.below(PLANNED_FAILURE) == 0 { "error('planned failure')" } else { "" };
    format!(
        "local accounts = _home.accounts \
         if accounts[{from}] >= {amount} then \
             accounts[{from}] = accounts[{from}] - {amount} accounts[{to}] = accounts[{to}] + {amount} \
         end \
         _home.log['{id}'] = {{amount = {amount}, parity = {amount} % 2, pad = string.rep('x', {PAD})}} \
         {fail} return '{id}'"
    )
}

fn cause(error: &Error) -> &'static str {
    match error {
        Error::Runtime { message, .. } if message.contains("planned failure") => "planned",
        // A read of `_home` that the store failed reaches the script as a Lua error.
        Error::Runtime { message, .. }
            if message.contains("cannot read _home") && message.contains("the store failed") =>
        {
            "store"
        }
        Error::Store { kind: StoreErrorKind::Conflict, .. } => "conflict",
        Error::Store { kind: StoreErrorKind::Unavailable, .. } => "store",
        _ => "other",
    }
}

// The harness.

/// What the workers said, by call id.
#[derive(Default)]
struct Said {
    done: BTreeSet<String>,
    failed: BTreeMap<String, (String, String)>,
    retried: usize,
}

/// A worker process and the thread reading what it says.
struct Worker {
    child: Child,
    reader: JoinHandle<()>,
}

fn start_worker(spec: &str, name: &str, deadline: u64, said: &Arc<Mutex<Said>>) -> Worker {
    let mut child = Command::new(std::env::current_exe().expect("this binary"))
        .env(WORKER_ENV, format!("{spec}|{name}|{deadline}"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("a worker starts");
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let said = said.clone();
    let reader = thread::spawn(move || {
        for line in stdout.lines().map_while(Result::ok) {
            let mut parts = line.splitn(4, ' ');
            let (kind, id, tried) = (parts.next(), parts.next(), parts.next());
            let (Some(kind), Some(id), Some(tried)) = (kind, id, tried.and_then(|t| t.parse::<usize>().ok())) else {
                panic!("a worker said {line:?}");
            };
            let mut said = said.lock().expect("not poisoned");
            said.retried += tried.saturating_sub(1);
            match kind {
                "done" => drop(said.done.insert(id.to_string())),
                _ => {
                    let rest = parts.next().unwrap_or_default();
                    let (cause, message) = rest.split_once(": ").unwrap_or((rest, ""));
                    said.failed.insert(id.to_string(), (cause.to_string(), message.to_string()));
                }
            }
        }
    });
    Worker { child, reader }
}

impl Worker {
    fn kill(mut self) {
        let _ = self.child.kill();
        self.child.wait().expect("the worker is reaped");
        self.reader.join().expect("the reader finishes");
    }

    fn finish(mut self) -> ExitStatus {
        let status = self.child.wait().expect("the worker ends");
        self.reader.join().expect("the reader finishes");
        status
    }
}

/// A fault the harness injects besides killing workers.
trait Fault {
    fn name(&self) -> &'static str;
    fn inject(&mut self);
}

/// What one store went through, for the table.
struct Report {
    store: &'static str,
    said: Said,
    ambiguous: (usize, usize),
    killed: usize,
    faults: String,
}

impl Report {
    fn print(&self) {
        let by = |cause: &str| self.said.failed.values().filter(|(c, _)| c == cause).count();
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} ({}) | {} | {} |",
            self.store,
            self.said.done.len() + self.said.failed.len(),
            self.said.done.len(),
            self.said.retried,
            by("planned"),
            by("conflict"),
            by("store"),
            by("other"),
            self.ambiguous.0,
            self.ambiguous.1,
            self.killed,
            self.faults
        );
    }
}

/// Runs the workers on `spec` for `run`, killing one now and then and injecting `fault`, then
/// checks the store.
fn chaos(store: &'static str, spec: &str, run: Duration, fault: &mut dyn Fault) -> Report {
    let mut setup = unit_on(spec);
    let made = setup.compute(
        "_home.accounts = {} for i = 1, 8 do _home.accounts[i] = 100 end _home.log = {} \
         local home = require('home') home.createIndex('log', 'amount') home.createIndex('log', 'parity')",
    );
    made.expect("the store is set up");
    let said = Arc::new(Mutex::new(Said::default()));
    let started = Instant::now();
    let deadline = now_ms() + run.as_millis() as u64;
    let mut generation = 0;
    let mut workers: Vec<Worker> = (0..WORKERS)
        .map(|w| {
            generation += 1;
            start_worker(spec, &format!("w{w}g{generation}"), deadline, &said)
        })
        .collect();
    let (mut killed, mut injected, mut snapshots, mut unsaved) = (0, 0, Vec::new(), 0);
    let mut rng = Rng(now_ms() | 1);
    while started.elapsed() < run.saturating_sub(Duration::from_millis(500)) {
        thread::sleep(Duration::from_millis(200 + rng.below(400)));
        match rng.below(4) {
            0 | 1 => {
                let w = rng.below(WORKERS as u64) as usize;
                generation += 1;
                let replacement = start_worker(spec, &format!("w{w}g{generation}"), deadline, &said);
                std::mem::replace(&mut workers[w], replacement).kill();
                killed += 1;
            }
            2 => {
                fault.inject();
                injected += 1;
            }
            _ if snapshots.len() < SNAPSHOTS => {
                // A snapshot reads the whole store, which under four busy writers conflicts on
                // every attempt: the workers are stopped (SIGSTOP) while it is saved, as a quiet
                // moment would be. A worker stopped inside a commit may hold the store, and a
                // save may meet the last fault: only snapshots that saved are checked.
                let name = format!("s{}", snapshots.len());
                signal(&workers, "-STOP");
                let saved = setup.save_snapshot(&name);
                signal(&workers, "-CONT");
                match saved {
                    Ok(_) => snapshots.push(name),
                    Err(_) => unsaved += 1,
                }
            }
            _ => {}
        }
    }
    for worker in workers {
        let status = worker.finish();
        assert!(status.success(), "a worker ended other than by the harness's hand: {status}");
    }
    let said = Arc::try_unwrap(said).ok().expect("the readers are done").into_inner().expect("not poisoned");

    let mut check = unit_on(spec);
    let stored = check_state(&mut check, "the store");
    let missing: Vec<&String> = said.done.iter().filter(|id| !stored.contains(*id)).collect();
    assert!(missing.is_empty(), "{store}: calls reported done are not stored: {missing:?}");
    let mut ambiguous = (0, 0);
    for (id, (cause, message)) in &said.failed {
        let left = stored.contains(id);
        // The server can die after it applied a commit and before it answered: the error says so.
        if message.contains("the connection was lost during the commit, which may have been applied") {
            ambiguous.0 += 1;
            ambiguous.1 += usize::from(left);
        } else {
            assert!(!left, "{store}: call {id} failed ({cause}: {message}) but left a trace");
        }
        assert!(cause != "other", "{store}: call {id} failed for an unexpected reason: {message}");
    }
    for name in &snapshots {
        check.restore_snapshot(name).expect("a snapshot restores");
        check_state(&mut check, &format!("snapshot {name}"));
    }
    let faults = format!("{injected} × {}, {} snapshots checked ({unsaved} not saved)", fault.name(), snapshots.len());
    Report { store, said, ambiguous, killed, faults }
}

/// Sends `signal` (`-STOP`, `-CONT`) to every worker.
fn signal(workers: &[Worker], signal: &str) {
    for worker in workers {
        let status = Command::new("kill").arg(signal).arg(worker.child.id().to_string()).status();
        assert!(status.is_ok_and(|s| s.success()), "kill {signal} failed");
    }
}

fn unit_on(spec: &str) -> Unit {
    let store = Store::open(spec).expect("the store opens");
    common::unit_with(UnitOptions::default().store(store).time_limit(Some(Duration::from_secs(120))))
}

/// Checks that the state is whole and returns the ids of the calls logged in it.
fn check_state(unit: &mut Unit, what: &str) -> BTreeSet<String> {
    let code = "local total = 0 for i = 1, 8 do total = total + _home.accounts[i] end \
        local ids = {} for id, entry in pairs(_home.log) do \
            assert(#entry.pad == 200 and entry.parity == entry.amount % 2, 'entry ' .. id .. ' is not whole') \
            ids[#ids + 1] = id end \
        local home = require('home') \
        local indexed = #home.query{table = 'log', field = 'amount', operator = '>=', value = 0, limit = 10000000} \
        return total, ids, indexed, #home.checkIndexes()";
    let values = unit.compute(code).unwrap_or_else(|e| panic!("{what}: checking failed: {e}")).values;
    let [Value::Integer(total), ids, Value::Integer(indexed), Value::Integer(wrong)] = &values[..] else {
        panic!("{what}: the check returned {values:?}");
    };
    assert_eq!(*total, ACCOUNTS * BALANCE, "{what}: the accounts do not add up");
    assert_eq!(*wrong, 0, "{what}: an index disagrees with its table");
    let ids: BTreeSet<String> = match ids {
        Value::Array(ids) => ids.iter().map(|id| id.as_str().expect("a string id").to_string()).collect(),
        Value::Map(empty) if empty.is_empty() => BTreeSet::new(),
        other => panic!("{what}: ids {other:?}"),
    };
    assert_eq!(*indexed as usize, ids.len(), "{what}: the index does not find every entry");
    ids
}

// The stores and their faults.

/// A tmpfs mounted for the run, unmounted when dropped.
struct Tmpfs(PathBuf);

impl Tmpfs {
    fn mount(size: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("cu-chaos-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a mount point");
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&dir)
            .status()
            .expect("mount runs");
        assert!(status.success(), "mounting a tmpfs at {} failed: the chaos run needs root", dir.display());
        Tmpfs(dir)
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// Fills the tmpfs to the last byte, holds it full while workers commit, then frees it.
struct FullDisk {
    dir: PathBuf,
}

impl Fault for FullDisk {
    fn name(&self) -> &'static str {
        "disk full"
    }

    fn inject(&mut self) {
        let path = self.dir.join("filler");
        let mut file = std::fs::File::create(&path).expect("the filler is made");
        let chunk = vec![0u8; 64 * 1024];
        while file.write_all(&chunk).is_ok() {}
        let small = [0u8; 512];
        while file.write_all(&small).is_ok() {}
        thread::sleep(Duration::from_millis(300));
        drop(file);
        std::fs::remove_file(&path).expect("the filler is removed");
    }
}

fn on_sqlite(run: Duration) -> Report {
    // The store, its snapshots and the copy a restore writes, with room to spare.
    let tmpfs = Tmpfs::mount(&format!("{}m", 32 + run.as_secs()));
    let spec = format!("sqlite:{}", tmpfs.0.join("home.sqlite").display());
    let mut fault = FullDisk { dir: tmpfs.0.clone() };
    chaos("SQLite", &spec, run, &mut fault)
}

/// Kills the Redis server with SIGKILL and starts it again on its data.
struct RedisRestart(RedisServer);

impl Fault for RedisRestart {
    fn name(&self) -> &'static str {
        "Redis restarts"
    }

    fn inject(&mut self) {
        self.0.restart();
    }
}

fn on_redis(run: Duration) -> Report {
    let server = RedisServer::start_persistent();
    let spec = server.url(0);
    let mut fault = RedisRestart(server);
    chaos("Redis", &spec, run, &mut fault)
}
