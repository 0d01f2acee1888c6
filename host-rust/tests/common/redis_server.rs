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
    /// More of redis-server's settings (passwords, users); for TLS, its port and certificates.
    settings: Vec<String>,
    tls: bool,
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
        Self::configured(persistent, &[], false)
    }

    /// A server with more `settings` (e.g. `["--requirepass", "secret"]`) that, with `tls`, takes
    /// only TLS connections, with a certificate for 127.0.0.1 signed by a CA of its own
    /// ([`ca_file`](Self::ca_file)).
    pub fn configured(persistent: bool, settings: &[&str], tls: bool) -> Self {
        // Another process may take the free port before the server binds it: then try another.
        for _ in 0..5 {
            let dir = tempfile::tempdir().expect("a temporary directory");
            if tls {
                certificates(dir.path());
            }
            let port = free_port();
            let settings: Vec<String> = settings.iter().map(|s| s.to_string()).collect();
            if let Some(child) = spawn(port, persistent, &settings, tls, dir.path()) {
                return RedisServer { child, port, persistent, settings, tls, dir };
            }
        }
        panic!("redis-server did not start on any of 5 free ports");
    }

    /// Kills the server with SIGKILL and starts it again on the same port and data.
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.child = spawn(self.port, self.persistent, &self.settings, self.tls, self.dir.path())
            .unwrap_or_else(|| panic!("redis-server did not start again on port {}", self.port));
    }

    /// The certificate of the CA that signed a TLS server's certificate.
    pub fn ca_file(&self) -> std::path::PathBuf {
        self.dir.path().join("ca.pem")
    }

    pub fn port(&self) -> u16 {
        self.port
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
        let scheme = if self.tls { "rediss" } else { "redis" };
        format!("{scheme}://127.0.0.1:{}/{db}", self.port)
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
fn spawn(port: u16, persistent: bool, settings: &[String], tls: bool, dir: &Path) -> Option<Child> {
    let log = dir.join("redis.log");
    // Its own log says when it listens: a connection could reach another server on the port.
    let _ = std::fs::remove_file(&log);
    let persistence: &[&str] =
        if persistent { &["--appendonly", "yes", "--appendfsync", "always"] } else { &["--appendonly", "no"] };
    let port = port.to_string();
    let listen: &[&str] = if tls {
        &[
            "--port",
            "0",
            "--tls-port",
            &port,
            "--tls-cert-file",
            "server.pem",
            "--tls-key-file",
            "server.key",
            "--tls-ca-cert-file",
            "ca.pem",
            "--tls-auth-clients",
            "no",
        ]
    } else {
        &["--port", &port]
    };
    let mut child = Command::new("redis-server")
        .args(listen)
        .args(["--bind", "127.0.0.1", "--save", ""])
        .args(persistence)
        .args(settings)
        .arg("--dir")
        .arg(dir)
        .arg("--logfile")
        .arg(&log)
        .current_dir(dir)
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

/// A CA (ca.pem) and a certificate for 127.0.0.1 it signed (server.pem, server.key) in `dir`, made
/// by openssl (Debian's package `openssl`, which `cargo xtask test` installs).
fn certificates(dir: &Path) {
    let openssl = |args: &[&str]| {
        let output = Command::new("openssl").args(args).current_dir(dir).output().expect("openssl runs");
        assert!(output.status.success(), "openssl {args:?}: {}", String::from_utf8_lossy(&output.stderr));
    };
    let key = ["-newkey", "rsa:2048", "-nodes", "-keyout"];
    openssl(
        &[&["req", "-x509"], &key[..], &["ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=cu test CA"]].concat(),
    );
    openssl(&[&["req"], &key[..], &["server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"]].concat());
    std::fs::write(dir.join("names"), "subjectAltName=IP:127.0.0.1,DNS:localhost").expect("writes");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "names",
    ]);
}

/// A loopback port nothing listens on (for the moment).
pub fn free_port() -> u16 {
    let listener = TcpListener::bind(("127.0.0.1", 0)).expect("binds a loopback port");
    listener.local_addr().expect("the port it bound").port()
}
