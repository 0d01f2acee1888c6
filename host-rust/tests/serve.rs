//! `cu serve`: the real `cu` binary serving the tests' app over HTTP. The same app gives the same
//! responses as under `wasmtime serve`; failures leave the next request served; the health
//! endpoint runs no Lua; SIGTERM finishes the requests in flight; and replicas sharing a SQLite
//! file or a Redis server count every answered request exactly once.

mod common;

use std::path::Path;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

use common::http::{APP, GREET, Response, Server};
use common::redis_server::RedisServer;

fn cu() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_cu"))
}

/// What a client sees of a response: status, the headers the app sets, and the body.
fn seen(response: &Response) -> (u16, Option<String>, Option<String>, String) {
    let header = |name| response.header(name).map(str::to_string);
    (response.status, header("content-type"), header("x-seen"), response.text())
}

/// Every kind of request of the tests' app, in order.
fn exchange(server: &Server) -> Vec<(u16, Option<String>, Option<String>, String)> {
    let mut seen_all = vec![seen(&server.request("POST", "/echo?x=1&y=2", &[("x-test", "yes")], b"{\"a\": 1}"))];
    seen_all.push(seen(&server.request("PUT", "/json", &[], b"12345")));
    for path in ["/count", "/count", "/greet?you", "/elsewhere", "/boom", "/nothing", "/bad-header", "/bad-status"] {
        seen_all.push(seen(&server.get(path)));
    }
    seen_all.push(seen(&server.get("/loop")));
    seen_all.push(seen(&server.get("/count")));
    seen_all.push(seen(&server.request("POST", "/echo", &[], &vec![b'x'; (1 << 20) + 1])));
    seen_all
}

#[test]
fn the_same_app_answers_the_same_under_cu_serve_and_wasmtime_serve() {
    let stock = Server::wasmtime(APP, &[GREET], &[("CU_TIMEOUT", "500ms")]);
    let ours = Server::cu(cu(), APP, &[GREET], &["--timeout", "500ms"]);
    let (expected, got) = (exchange(&stock), exchange(&ours));
    for (stock, ours) in expected.iter().zip(&got) {
        assert_eq!(stock, ours);
    }
    assert_eq!(expected.len(), got.len());
    assert_eq!(got[2].3, "{\"count\":1}");
    assert_eq!(got[4].3, "hello you");
    assert_eq!((got[10].0, got[10].3.contains("time limit")), (503, true), "{:?}", got[10]);
    assert_eq!(got[11].3, "{\"count\":3}", "the request after the time limit is served");
    assert_eq!(got[12].0, 413);
}

#[test]
fn an_instance_keeps_the_app_loaded_between_requests_until_one_fails() {
    // The app's top level runs once per instance; `handle` once per request.
    let app = "loads = (loads or 0) + 1\nfunction handle(r) calls = (calls or 0) + 1\n\
               if r.path == '/boom' then error('boom') end\n\
               return { body = loads .. ' ' .. calls } end";
    let server = Server::cu(cu(), app, &[], &["--workers", "1"]);
    let bodies: Vec<String> = (0..3).map(|_| server.get("/").text()).collect();
    assert_eq!(bodies, ["1 1", "1 2", "1 3"], "one load, then warm");
    assert_eq!(server.get("/boom").status, 500);
    assert_eq!(server.get("/").text(), "1 1", "after a failure the app is loaded into a fresh state");
}

#[test]
fn after_an_error_or_a_limit_the_next_request_is_served() {
    let server = Server::cu(cu(), APP, &[GREET], &["--timeout", "300ms", "--memory-limit", "16M", "--workers", "1"]);
    for round in 1..=3 {
        assert_eq!(server.get("/boom").status, 500);
        let memory = server.get("/memory");
        assert_eq!(memory.status, 503, "{}", memory.text());
        assert!(memory.text().contains("memory"), "{}", memory.text());
        let endless = server.get("/loop");
        assert_eq!(endless.status, 503, "{}", endless.text());
        assert_eq!(server.get("/greet?again").text(), "hello again");
        assert_eq!(server.get("/count").text(), format!("{{\"count\":{round}}}"));
    }
    // A request without a Host header, which `wasi:http` cannot take, is a 400; the next is served.
    let mut raw = std::net::TcpStream::connect(("127.0.0.1", server.port())).expect("connects");
    std::io::Write::write_all(&mut raw, b"GET / HTTP/1.1\r\nconnection: close\r\n\r\n").expect("sends");
    let mut answer = String::new();
    std::io::Read::read_to_string(&mut raw, &mut answer).expect("reads");
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert_eq!(server.get("/greet?still").text(), "hello still");
    // A body far over the limit is refused before any Lua runs, and the client reads the 413
    // rather than a reset connection.
    let large = server.request("POST", "/echo", &[], &vec![b'x'; 8 << 20]);
    assert_eq!((large.status, large.header("connection")), (413, Some("close")), "{}", large.text());
    // One line per request: method, path, status and time.
    let log = server.log();
    assert!(log.lines().any(|l| l.starts_with("GET /memory 503 ") && l.ends_with("ms")), "{log}");
    assert_eq!(log.lines().filter(|l| l.starts_with("GET /count 200 ")).count(), 3, "{log}");
}

#[test]
fn the_health_endpoint_runs_no_lua_and_sigterm_finishes_requests_in_flight() {
    // An app whose every request fails still has a healthy server.
    let server = Server::cu(cu(), "function handle() error('down') end", &[], &["--workers", "2"]);
    assert_eq!(server.get("/").status, 500);
    let health = server.get("/healthz");
    assert_eq!((health.status, health.text()), (200, "ok\n".to_string()));
    drop(server);

    let mut server = Server::cu(cu(), APP, &[], &["--health-path", "/up"]);
    assert_eq!(server.get("/up").status, 200);
    let port = server.port();
    let slow = thread::spawn(move || common::http::request(port, "GET", "/slow?1500", &[], b""));
    thread::sleep(Duration::from_millis(500));
    let pid = server.child().id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().expect("kill runs").success());
    let in_flight = slow.join().expect("the client thread").expect("the request in flight is answered");
    assert_eq!((in_flight.status, in_flight.text()), (200, "slept 1500".to_string()));
    let started = Instant::now();
    let status = loop {
        if let Some(status) = server.child().try_wait().expect("waits") {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(10), "cu serve did not stop");
        thread::sleep(Duration::from_millis(20));
    };
    assert!(status.success(), "{status:?}");
    assert!(common::http::request(port, "GET", "/up", &[], b"").is_err(), "no new connections after stopping");
    let log = server.log();
    assert!(log.contains("GET /slow 200 ") && log.contains("cu serve: stopped"), "{log}");
}

/// Sends `total` POSTs to /count from 4 threads, spread over `ports`; returns how many got 2xx.
fn count_concurrently(ports: &[u16], total: usize) -> usize {
    let threads: Vec<_> = (0..4)
        .map(|t| {
            let ports = ports.to_vec();
            thread::spawn(move || {
                (0..total / 4)
                    .filter(|i| {
                        let port = ports[(t + i) % ports.len()];
                        common::http::request(port, "POST", "/count", &[], b"").is_ok_and(|r| r.status / 100 == 2)
                    })
                    .count()
            })
        })
        .collect();
    threads.into_iter().map(|t| t.join().expect("a client thread")).sum()
}

/// The count in `_home` that `cu` reads from `store`.
fn stored_count(store: &str) -> String {
    let output = common::cu_command(&std::env::temp_dir().join("cu-test-cache"))
        .args(["--store", store, "eval", "return _home.count"])
        .output()
        .expect("cu runs");
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

/// Two `cu serve` processes of two workers each on `store` count 200 concurrent POSTs: every
/// one answered with 2xx is counted, and no other.
fn two_replicas_count_every_answered_request_once(store: &str) {
    let args = ["--store", store, "--workers", "2", "--quiet"];
    let (a, b) = (Server::cu(cu(), APP, &[], &args), Server::cu(cu(), APP, &[], &args));
    let answered = count_concurrently(&[a.port(), b.port()], 200);
    assert!(answered >= 190, "{answered} of 200 answered");
    assert_eq!(stored_count(store), answered.to_string());
}

#[test]
fn two_replicas_on_one_sqlite_file() {
    let store_dir = tempfile::tempdir().expect("a directory");
    two_replicas_count_every_answered_request_once(&format!(
        "sqlite:{}",
        store_dir.path().join("home.sqlite").display()
    ));
}

#[test]
fn two_replicas_on_one_redis_server() {
    let redis = RedisServer::start();
    two_replicas_count_every_answered_request_once(&redis.url(3));
}

#[test]
fn replicas_reconnect_after_redis_restarts_under_load_and_lose_no_answered_request() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    let mut redis = RedisServer::start_persistent();
    let store = redis.url(4);
    let args = ["--store", store.as_str(), "--workers", "2", "--quiet", "--timeout", "2s"];
    let (a, b) = (Server::cu(cu(), APP, &[], &args), Server::cu(cu(), APP, &[], &args));
    let ports = [a.port(), b.port()];
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|t| {
            let stop = stop.clone();
            thread::spawn(move || {
                let (mut answered, mut failed) = (0, 0);
                for i in 0.. {
                    if stop.load(Ordering::SeqCst) {
                        break;
                    }
                    match common::http::request(ports[(t + i) % 2], "POST", "/count", &[], b"") {
                        Ok(response) if response.status / 100 == 2 => answered += 1,
                        _ => failed += 1,
                    }
                }
                (answered, failed)
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(700));
    redis.restart();
    thread::sleep(Duration::from_millis(700));
    stop.store(true, Ordering::SeqCst);
    let (answered, failed) =
        clients.into_iter().map(|c| c.join().expect("a client")).fold((0, 0), |(a, f), (x, y)| (a + x, f + y));
    // After the restart both replicas serve again, on new connections.
    for port in ports {
        let response = common::http::request(port, "POST", "/count", &[], b"").expect("answers");
        assert_eq!(response.status, 200, "{}", response.text());
    }
    let counted: usize = stored_count(&store).parse().expect("a count");
    // Every answered request is counted; a request that failed while Redis was down may or may
    // not have committed before its connection dropped (its 503 says so), never more than once.
    assert!(answered > 20, "{answered} answered, {failed} failed");
    assert!(
        (answered + 2..=answered + 2 + failed).contains(&counted),
        "{counted} counted, {answered} answered, {failed} failed"
    );
}

#[test]
fn a_missing_app_or_a_taken_port_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("a directory");
    let output = Command::new(cu()).args(["serve", "nowhere.lua"]).current_dir(dir.path()).output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("the app nowhere.lua: no such file"), "{output:?}");

    let server = Server::cu(cu(), APP, &[], &[]);
    std::fs::write(dir.path().join("app.lua"), APP).expect("writes");
    let port = server.port().to_string();
    let output = Command::new(cu())
        .args(["serve", "app.lua", "--host", "127.0.0.1", "--port", &port])
        .env("CU_CACHE_DIR", std::env::temp_dir().join("cu-test-cache"))
        .current_dir(dir.path())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("cannot listen on 127.0.0.1:"), "{output:?}");
}

/// The README's `cu serve` session, run as written from the repository's root (on a free port,
/// with `_home` in a directory of its own): every `curl` prints the lines that follow it.
#[test]
fn the_readme_session_runs_as_written() {
    let text = common::readme();
    let start = text.find("```shell-session\n$ cu serve").expect("the README has a `cu serve` session");
    let block = &text[start..][..text[start..].find("\n```\n").expect("the session ends")];
    let mut lines = block.lines().skip(1);
    let serve =
        lines.next().and_then(|l| l.strip_prefix("$ ")).and_then(|l| l.strip_suffix(" &")).expect("$ cu serve … &");
    let mut words = common::shell_words(serve);
    assert_eq!(&words[..2], ["cu", "serve"]);
    let port = words.iter().position(|w| w == "--port").expect("a --port");
    let readme_port = words.drain(port..=port + 1).nth(1).expect("the port");

    // The app's files, where the command names them, in a directory that also takes `_home`.
    let dir = tempfile::tempdir().expect("a directory");
    let app = Path::new(&words[2]);
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    std::fs::create_dir_all(dir.path().join(app.parent().expect("the app's directory"))).expect("makes it");
    for file in ["app.lua", "greet.lua"] {
        let path = app.with_file_name(file);
        std::fs::copy(root.join(&path), dir.path().join(&path)).expect("copies the example");
    }
    let args: Vec<&str> = words[2..].iter().map(String::as_str).collect();
    let server = Server::cu_in(cu(), dir, &args);
    let mut expected: Vec<(Vec<String>, String)> = Vec::new();
    for line in lines {
        match line.strip_prefix("$ ") {
            Some(command) => expected.push((common::shell_words(command), String::new())),
            None => expected.last_mut().expect("output follows a command").1.push_str(&format!("{line}\n")),
        }
    }
    assert!(expected.len() >= 3, "{expected:?}");
    for (curl, output) in expected {
        assert_eq!(curl[0], "curl");
        let address = format!("localhost:{readme_port}");
        let args: Vec<String> =
            curl[1..].iter().map(|a| a.replace(&address, &format!("127.0.0.1:{}", server.port()))).collect();
        let out = Command::new("curl").args(&args).output().expect("curl runs");
        // A JSON body ends without a newline, which a terminal shows as the prompt on its line.
        assert_eq!(String::from_utf8_lossy(&out.stdout).trim_end(), output.trim_end(), "`{}`", curl.join(" "));
    }
}

/// docs/deploy/compose.yaml's replicas, run by their command line as written there, on a real
/// redis-server with the password the file gives Redis: both serve the example app and count
/// into the one `_home`.
#[test]
fn the_deployment_examples_replicas_share_a_redis_with_a_password() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let compose = std::fs::read_to_string(root.join("docs/deploy/compose.yaml")).expect("the compose file");
    let line = compose.lines().find_map(|l| l.trim().strip_prefix("command: [\"cu\", \"serve\"")).expect("cu serve");
    let args: Vec<String> = serde_json::from_str(&format!("[\"cu\", \"serve\"{line}")).expect("a JSON array");
    let redis_line = compose.lines().find(|l| l.contains("\"redis-server\"")).expect("redis-server's command");
    assert!(redis_line.contains("\"--requirepass\", \"${REDIS_PASSWORD}\""), "{redis_line}");
    let redis = RedisServer::configured(false, &["--requirepass", "change-me"], false);
    let mounted = compose
        .lines()
        .filter_map(|l| l.trim().strip_prefix("volumes: [\""))
        .find(|v| v.contains("examples/http"))
        .expect("the app's volume");
    let (source, target) = mounted.split_once(':').expect("SOURCE:TARGET");
    let app_dir = root.join("docs/deploy").join(source);

    // What the container sees, here: the app's directory, the Redis server, a port of our own.
    let mut args: Vec<String> = args[2..]
        .iter()
        .map(|a| {
            a.replace(target.split(':').next().expect("the mount point"), &app_dir.display().to_string())
                .replace("${REDIS_PASSWORD}", "change-me")
                .replace("redis:6379", &format!("127.0.0.1:{}", redis.port()))
        })
        .collect();
    let port = args.iter().position(|a| a == "--port").expect("--port");
    args.drain(port..=port + 1);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let replicas = [0, 1].map(|_| Server::cu_in(cu(), tempfile::tempdir().expect("a directory"), &args));
    for (hits, replica) in (1..=6).zip(replicas.iter().cycle()) {
        let response = replica.request("POST", "/hits", &[], b"");
        assert_eq!((response.status, response.text()), (201, format!("{{\"hits\":{hits}}}")));
    }
    assert_eq!(replicas[1].get("/?compose").text(), "hello compose\n");
}
