//! target/cu-http.wasm served by the stock wasmtime CLI (`wasmtime serve`, CU_WASMTIME) on a free
//! loopback port, in a directory of its own holding the app, and a plain HTTP/1.1 client for it.
//! The benchmarks include this file too.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A running `wasmtime serve` of the composed handler.
pub struct Server {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

/// A response: status, headers (names in lower case) and body.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Server {
    /// Serves `app` (the text of app.lua) with `env` in the handler's environment, once the
    /// server answers (the first start compiles the component).
    pub fn start(app: &str, env: &[(&str, &str)]) -> Server {
        let wasmtime: PathBuf = std::env::var_os("CU_WASMTIME")
            .expect("CU_WASMTIME is not set: run this through `cargo xtask test` or `cargo xtask bench`")
            .into();
        let component = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/cu-http.wasm");
        assert!(component.is_file(), "{} is missing: `cargo xtask build` makes it", component.display());
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join("app.lua"), app).expect("writes the app");
        let port = TcpListener::bind(("127.0.0.1", 0)).and_then(|l| l.local_addr()).expect("a free port").port();
        let mut command = Command::new(wasmtime);
        // The lean wasmtime CLI xtask builds has no pooling allocator, which `serve` uses by default.
        command.args(["serve", "-O", "pooling-allocator=n", "-S", "cli", "--dir", ".", "--addr"]);
        command.arg(format!("127.0.0.1:{port}"));
        for (name, value) in env {
            command.args(["--env", &format!("{name}={value}")]);
        }
        let child = command
            .arg(component)
            .current_dir(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("wasmtime serve starts");
        let server = Server { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(120);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "wasmtime serve did not start listening");
            thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// The directory the server runs in: app.lua, and .cu/home.sqlite once `_home` is used.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    pub fn get(&self, path: &str) -> Response {
        self.request("GET", path, &[], b"")
    }

    /// Sends one request on a connection of its own.
    pub fn request(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Response {
        let mut stream = TcpStream::connect(("127.0.0.1", self.port)).expect("connects");
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-length: {}\r\n",
            body.len()
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes()).and_then(|()| stream.write_all(body)).expect("sends");
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).expect("reads the response");
        parse(&raw)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn parse(raw: &[u8]) -> Response {
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("a complete response head");
    let head = String::from_utf8_lossy(&raw[..split]);
    let mut lines = head.split("\r\n");
    let status = lines.next().and_then(|l| l.split(' ').nth(1)).and_then(|s| s.parse().ok()).expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut rest = &raw[split + 4..];
    let chunked = headers.iter().any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        let mut body = Vec::new();
        loop {
            let end = rest.windows(2).position(|w| w == b"\r\n").expect("a chunk size");
            let size = usize::from_str_radix(String::from_utf8_lossy(&rest[..end]).trim(), 16).expect("a hex size");
            if size == 0 {
                break body;
            }
            body.extend_from_slice(&rest[end + 2..end + 2 + size]);
            rest = &rest[end + 2 + size + 2..];
        }
    } else {
        rest.to_vec()
    };
    Response { status, headers, body }
}
