//! `cargo xtask bench`, serving: requests per second and latency of HTTP apps in Lua under load,
//! for an app that says hello and one that counts in `_home`: `cu serve` with one and with two
//! replicas on one SQLite file and on one Redis server, beside `wasmtime serve` of
//! target/cu-http.wasm (CU_WASMTIME) and a Node `http` server running the same Lua in wasmoon
//! (host-js/bench/serve-wasmoon.js, CU_NODE). The load is this file's own client: 16 keep-alive
//! connections sending one request after another for 2 s; the servers take turns in each run.
//! Every counter is checked against the requests answered with 2xx.
//!
//! Options: `--runs N` (default 7); medians are printed.

mod common;
#[allow(dead_code)]
#[path = "../tests/common/http.rs"]
mod http;
#[allow(dead_code)]
#[path = "../tests/common/redis_server.rs"]
mod redis_server;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{Result, median, ms, verdict};

const HELLO: &str = "function handle() return { body = 'hello' } end";
const COUNTER: &str = "function handle() _home.n = (_home.n or 0) + 1 return { body = tostring(_home.n) } end";

/// Keep-alive connections sending at once, and how long each measurement lasts.
const CONNECTIONS: usize = 16;
const WINDOW: Duration = Duration::from_secs(2);

/// The targets on this 2-core machine, for `cu serve` with one replica.
const HELLO_RPS: f64 = 5000.0;
const HELLO_P99_MS: f64 = 5.0;
const COUNTER_RPS: f64 = 1000.0;

fn main() -> std::process::ExitCode {
    common::report(run())
}

/// A server under test: the ports its replicas listen on and what keeps them running.
struct Target {
    name: String,
    ports: Vec<u16>,
    _servers: Vec<http::Server>,
    _node: Option<NodeServer>,
    /// Requests answered with 2xx and others, warm-up included, and each run's figures.
    answered: usize,
    rps: Vec<f64>,
    p50: Vec<Duration>,
    p99: Vec<Duration>,
    failed: usize,
}

impl Target {
    fn new(name: &str, ports: Vec<u16>, servers: Vec<http::Server>, node: Option<NodeServer>) -> Self {
        let (rps, p50, p99) = (Vec::new(), Vec::new(), Vec::new());
        Self { name: name.into(), ports, _servers: servers, _node: node, answered: 0, rps, p50, p99, failed: 0 }
    }
}

/// host-js/bench/serve-wasmoon.js, killed when dropped.
struct NodeServer(Child);

impl Drop for NodeServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn run() -> Result<()> {
    let (runs, _) = common::args()?;
    let cu = Path::new(env!("CARGO_BIN_EXE_cu"));
    let redis = redis_server::RedisServer::start();
    let files = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR"))?;
    let sqlite = |name: &str| format!("sqlite:{}", files.path().join(name).display());
    let serve = |app: &str, store: &str| http::Server::cu(cu, app, &[], &["--store", store, "--quiet"]);
    let replicas = |name: &str, app: &str, store: &str, n: usize| {
        let servers: Vec<_> = (0..n).map(|_| serve(app, store)).collect();
        Target::new(name, servers.iter().map(http::Server::port).collect(), servers, None)
    };
    let stock = |name: &str, app: &str| {
        let server = http::Server::wasmtime(app, &[], &[]);
        Target::new(name, vec![server.port()], vec![server], None)
    };
    let peer = |name: &str, app: &str, sqlite: Option<&Path>| -> Result<Target> {
        let (node, port) = wasmoon(app, sqlite, files.path())?;
        Ok(Target::new(name, vec![port], Vec::new(), Some(node)))
    };

    let hello = vec![
        replicas("`cu serve`", HELLO, "memory", 1),
        replicas("`cu serve`, 2 replicas", HELLO, "memory", 2),
        stock("`wasmtime serve` (an instance per request)", HELLO),
        peer("Node `http` + wasmoon (one Lua state)", HELLO, None)?,
    ];
    let counter = vec![
        replicas("`cu serve`, SQLite", COUNTER, &sqlite("one.sqlite"), 1),
        replicas("`cu serve`, 2 replicas on one SQLite file", COUNTER, &sqlite("two.sqlite"), 2),
        replicas("`cu serve`, Redis", COUNTER, &redis.url(1), 1),
        replicas("`cu serve`, 2 replicas on one Redis server", COUNTER, &redis.url(2), 2),
        stock("`wasmtime serve`, kv-sqlite", COUNTER),
        peer("Node `http` + wasmoon, node:sqlite", COUNTER, Some(&files.path().join("peer.sqlite")))?,
    ];
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "HTTP apps under load: {CONNECTIONS} keep-alive connections sending one request after another for {} s, \
         the servers taking turns, {runs} runs, medians; `cu serve` with its default workers (one per core: \
         {cores}), the client on the same machine.\n",
        WINDOW.as_secs()
    );
    for (title, mut targets, counts) in
        [("an app that says hello", hello, false), ("a counter in `_home`", counter, true)]
    {
        for target in &mut targets {
            load(target, Duration::from_millis(300))?; // warm: compiled code, instances, connections
        }
        for _ in 0..runs {
            for target in &mut targets {
                let (latencies, elapsed) = load(target, WINDOW)?;
                target.rps.push(latencies.len() as f64 / elapsed.as_secs_f64());
                target.p50.push(percentile(&latencies, 0.5));
                target.p99.push(percentile(&latencies, 0.99));
            }
        }
        println!("{title}:\n");
        println!("| server | requests/s | p50 (ms) | p99 (ms) | not 2xx | |\n|---|---:|---:|---:|---:|---|");
        let first_rps = median_f64(targets[0].rps.clone());
        for (i, target) in targets.iter().enumerate() {
            if counts {
                let last = http::request(target.ports[0], "POST", "/", &[], b"")?.text();
                if last != (target.answered + 1).to_string() {
                    return Err(format!("{}: counted {last}, answered {}", target.name, target.answered + 1).into());
                }
            }
            let (rps, p50, p99) =
                (median_f64(target.rps.clone()), median(target.p50.clone()), median(target.p99.clone()));
            let note = match (i, counts) {
                (0, false) => format!(
                    "target ≥ {HELLO_RPS:.0}/s, p99 ≤ {HELLO_P99_MS:.0} ms: {}",
                    verdict(rps >= HELLO_RPS && ms(p99) <= HELLO_P99_MS)
                ),
                (0, true) => format!("target ≥ {COUNTER_RPS:.0}/s: {}", verdict(rps >= COUNTER_RPS)),
                _ => format!("{:.2}× the first", rps / first_rps),
            };
            println!("| {} | {rps:.0} | {:.2} | {:.2} | {} | {note} |", target.name, ms(p50), ms(p99), target.failed);
        }
        println!();
    }
    Ok(())
}

/// Starts the wasmoon peer on `app` (and a SQLite file) and waits until it listens.
fn wasmoon(app: &str, sqlite: Option<&Path>, dir: &Path) -> Result<(NodeServer, u16)> {
    let node: PathBuf = std::env::var_os("CU_NODE").ok_or("CU_NODE is not set: run `cargo xtask bench`")?.into();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../host-js/bench/serve-wasmoon.js");
    let app_file = dir.join(format!("peer-{}.lua", app.len()));
    std::fs::write(&app_file, app)?;
    let port = redis_server::free_port();
    let mut command = Command::new(node);
    command.arg(script).arg(&app_file).arg(port.to_string()).args(sqlite).stdout(Stdio::null()).stderr(Stdio::null());
    let server = NodeServer(command.spawn()?);
    let deadline = Instant::now() + Duration::from_secs(30);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        if Instant::now() > deadline {
            return Err("the wasmoon server did not start listening".into());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    Ok((server, port))
}

/// Sends requests on [`CONNECTIONS`] connections for `window`, spread over the target's ports;
/// the latencies of those answered with 2xx, and the time it took.
fn load(target: &mut Target, window: Duration) -> Result<(Vec<Duration>, Duration)> {
    let started = Instant::now();
    let until = started + window;
    let results: Vec<std::result::Result<(Vec<Duration>, usize), String>> = std::thread::scope(|scope| {
        let ports = &target.ports;
        let clients: Vec<_> = (0..CONNECTIONS)
            .map(|c| scope.spawn(move || client(ports[c % ports.len()], until).map_err(|e| e.to_string())))
            .collect();
        clients.into_iter().map(|c| c.join().unwrap_or_else(|_| Err("a client panicked".into()))).collect()
    });
    let elapsed = started.elapsed();
    let mut latencies = Vec::new();
    for result in results {
        let (answered, failed) = result?;
        target.answered += answered.len();
        target.failed += failed;
        latencies.extend(answered);
    }
    latencies.sort();
    Ok((latencies, elapsed))
}

/// One keep-alive connection's requests until `until`: the latencies of 2xx answers, and how
/// many others there were.
fn client(port: u16, until: Instant) -> Result<(Vec<Duration>, usize)> {
    const REQUEST: &[u8] = b"POST / HTTP/1.1\r\nhost: localhost\r\ncontent-length: 0\r\n\r\n";
    let (mut latencies, mut failed) = (Vec::new(), 0);
    let mut connection: Option<(TcpStream, BufReader<TcpStream>)> = None;
    while Instant::now() < until {
        let (stream, reader) = match &mut connection {
            Some(open) => open,
            None => {
                let stream = TcpStream::connect(("127.0.0.1", port))?;
                stream.set_nodelay(true)?;
                let reader = BufReader::new(stream.try_clone()?);
                connection.insert((stream, reader))
            }
        };
        let start = Instant::now();
        stream.write_all(REQUEST)?;
        let (status, keep) = response(reader)?;
        if status / 100 == 2 {
            latencies.push(start.elapsed());
        } else {
            failed += 1;
        }
        if !keep {
            connection = None;
        }
    }
    Ok((latencies, failed))
}

/// Reads one response: its status, and whether the connection stays open.
fn response(reader: &mut BufReader<TcpStream>) -> Result<(u16, bool)> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status: u16 =
        line.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or_else(|| format!("no status line: {line:?}"))?;
    let (mut length, mut chunked, mut keep) = (0usize, false, true);
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let header = line.trim_end().to_ascii_lowercase();
        if header.is_empty() {
            break;
        }
        if let Some(value) = header.strip_prefix("content-length:") {
            length = value.trim().parse()?;
        } else if header.starts_with("transfer-encoding:") && header.contains("chunked") {
            chunked = true;
        } else if header.starts_with("connection:") && header.contains("close") {
            keep = false;
        }
    }
    if !chunked {
        reader.read_exact(&mut vec![0; length])?;
        return Ok((status, keep));
    }
    loop {
        line.clear();
        reader.read_line(&mut line)?;
        let size = usize::from_str_radix(line.trim(), 16)?;
        reader.read_exact(&mut vec![0; size + 2])?;
        if size == 0 {
            return Ok((status, keep));
        }
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted.get(((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1))).copied().unwrap_or_default()
}

fn median_f64(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    let mid = samples.len() / 2;
    if samples.len().is_multiple_of(2) { (samples[mid - 1] + samples[mid]) / 2.0 } else { samples[mid] }
}
