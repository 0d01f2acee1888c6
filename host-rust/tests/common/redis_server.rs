//! A real `redis-server` (Debian's package `redis-server`, which `cargo xtask test` installs) for a
//! test: on a free loopback port, in a temporary directory, persisting nothing (or, for the
//! chaos run, everything), and killed when the guard is dropped.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running server; dropping it stops it.
pub struct RedisServer {
    child: Child,
    port: u16,
    persistent: bool,
    dir: tempfile::TempDir,
}

impl RedisServer {
    /// Starts a server on a free port and waits until it accepts connections.
    pub fn start() -> Self {
        Self::start_with(false)
    }

    /// A server that appends every write to its log and syncs it to disk before it answers, so
    /// that [`restart`](Self::restart) keeps every commit it acknowledged.
    pub fn start_persistent() -> Self {
        Self::start_with(true)
    }

    fn start_with(persistent: bool) -> Self {
        // Another process may take the free port before the server binds it: then try another.
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("a temporary directory");
            let port = free_port();
            if let Some(child) = spawn(port, persistent, dir.path()) {
                return RedisServer { child, port, persistent, dir };
            }
        }
        panic!("redis-server did not start on any of 5 free ports");
    }

    /// Kills the server with SIGKILL and starts it again on the same port and data.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(self.port, self.persistent, self.dir.path())
            .unwrap_or_else(|| panic!("redis-server did not start again on port {}", self.port));
    }

    /// Closes every client's connection, as a server restart or a network failure would.
    pub fn drop_clients(&self) {
        let client = ::redis::Client::open(self.url(0)).expect("a Redis URL");
        let mut connection = client.get_connection().expect("connects to redis-server");
        // The connection sending it is spared (CLIENT KILL's SKIPME defaults to yes).
        let killed: i64 =
            ::redis::cmd("CLIENT").arg(&["KILL", "TYPE", "normal"]).query(&mut connection).expect("CLIENT KILL");
        assert!(killed > 0, "no client was connected");
    }

    /// The URL of its database `db`.
    pub fn url(&self, db: u32) -> String {
        format!("redis://127.0.0.1:{}/{db}", self.port)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        // Already gone is fine: all that matters is that no server outlives the test.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a server on `port` with its data in `dir` and waits until it accepts connections;
/// `None` if it exited (another process had the port).
fn spawn(port: u16, persistent: bool, dir: &Path) -> Option<Child> {
    let log = dir.join("redis.log");
    // Its own log says when it listens: a connection could reach another server on the port.
    let _ = std::fs::remove_file(&log);
    let persistence: &[&str] =
        if persistent { &["--appendonly", "yes", "--appendfsync", "always"] } else { &["--appendonly", "no"] };
    let mut child = Command::new("redis-server")
        .args(["--port", &port.to_string(), "--bind", "127.0.0.1", "--save", ""])
        .args(persistence)
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(&log)
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server starts: install Debian's redis-server (cargo xtask test does)");
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if child.try_wait().expect("redis-server's status").is_some() {
            let _ = child.wait();
            return None;
        }
        if std::fs::read_to_string(&log).is_ok_and(|text| text.contains("Ready to accept connections")) {
            return Some(child);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    let _ = child.kill();
    let _ = child.wait();
    panic!("redis-server on port {port} did not accept connections within 10 s");
}

/// A loopback port nothing listens on (for the moment).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("binds a loopback port");
    listener.local_addr().expect("the port it bound").port()
}
