//! An HTTP app served on a free loopback port, in a directory of its own holding the app: by the
//! stock wasmtime CLI (`wasmtime serve` of target/cu-http.wasm, CU_WASMTIME) or by `cu serve`;
//! and a plain HTTP/1.1 client for it. The benchmarks include this file too.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A running server of an app.
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

/// The app of the HTTP tests: a counter in `_home`, an echo, an error, an endless loop, a
/// memory bomb, a module, and a request that takes a while.
pub const APP: &str = r#"
function handle(request)
  if request.path == "/count" then
    _home.count = (_home.count or 0) + 1
    return { body = { count = _home.count } }
  elseif request.path == "/echo" then
    return {
      status = 201,
      headers = { ["x-seen"] = request.headers["x-test"], ["content-type"] = "text/plain" },
      body = request.method .. " " .. request.query .. " " .. request.body,
    }
  elseif request.path == "/json" then
    return { body = { method = request.method, length = #request.body, tags = { "a", "b" } } }
  elseif request.path == "/boom" then
    error("boom")
  elseif request.path == "/loop" then
    while true do end
  elseif request.path == "/nothing" then
    return nil
  elseif request.path == "/bad-header" then
    return { headers = { ["not a name"] = "x" }, body = "?" }
  elseif request.path == "/bad-status" then
    return { status = 42 }
  elseif request.path == "/greet" then
    return { body = require("greet")(request.query) }
  elseif request.path == "/memory" then
    local t = {} for i = 1, 1e9 do t[i] = string.rep("x", 1000) .. i end
  elseif request.path == "/slow" then
    local until_ = os.clock() + tonumber(request.query) / 1000
    while os.clock() < until_ do end
    return { body = "slept " .. request.query }
  end
  return { status = 404, body = "no " .. request.path }
end
"#;

/// The module `/greet` requires, beside the app.
pub const GREET: (&str, &str) = ("greet.lua", "return function(who) return 'hello ' .. who end");

/// A directory holding app.lua and `files` (name, text).
fn app_dir(app: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("a temporary directory");
    for (name, text) in [("app.lua", app)].iter().chain(files) {
        std::fs::write(dir.path().join(name), text).expect("writes the app's files");
    }
    dir
}

fn free_port() -> u16 {
    TcpListener::bind(("127.0.0.1", 0)).and_then(|l| l.local_addr()).expect("a free port").port()
}

impl Server {
    /// `wasmtime serve` of `app` (the text of app.lua) with `env` in the handler's environment.
    pub fn start(app: &str, env: &[(&str, &str)]) -> Server {
        Self::wasmtime(app, &[], env)
    }

    /// `wasmtime serve` of `app` and `files` beside it, with `env` in the handler's environment,
    /// once the server answers (the first start compiles the component).
    pub fn wasmtime(app: &str, files: &[(&str, &str)], env: &[(&str, &str)]) -> Server {
        let wasmtime: PathBuf = std::env::var_os("CU_WASMTIME")
            .expect("CU_WASMTIME is not set: run this through `cargo xtask test` or `cargo xtask bench`")
            .into();
        let component = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/cu-http.wasm");
        assert!(component.is_file(), "{} is missing: `cargo xtask build` makes it", component.display());
        let dir = app_dir(app, files);
        let port = free_port();
        let mut command = Command::new(wasmtime);
        // The lean wasmtime CLI xtask builds has no pooling allocator, which `serve` uses by default.
        command.args(["serve", "-O", "pooling-allocator=n", "-S", "cli", "--dir", ".", "--addr"]);
        command.arg(format!("127.0.0.1:{port}"));
        for (name, value) in env {
            command.args(["--env", &format!("{name}={value}")]);
        }
        command.arg(component).current_dir(dir.path()).stdout(Stdio::null()).stderr(Stdio::null());
        Self::started(command, port, dir)
    }

    /// `cu serve app.lua` (`cu`, the binary built with the tests) with `args`, on a free port, in
    /// a directory holding the app and `files`; its standard error goes to `stderr` there.
    pub fn cu(cu: &Path, app: &str, files: &[(&str, &str)], args: &[&str]) -> Server {
        let dir = app_dir(app, files);
        Self::cu_in(cu, dir, &[&["app.lua"], args].concat())
    }

    /// `cu serve ARGS` in `dir`, which holds the app already, on a free port.
    pub fn cu_in(cu: &Path, dir: tempfile::TempDir, args: &[&str]) -> Server {
        let port = free_port();
        let stderr = std::fs::File::create(dir.path().join("stderr")).expect("a log file");
        let mut command = Command::new(cu);
        command.env("CU_CACHE_DIR", std::env::temp_dir().join("cu-test-cache")).env_remove("CU_STORE");
        command.arg("serve").args(args).args(["--host", "127.0.0.1", "--port", &port.to_string()]);
        command.current_dir(dir.path()).stdout(Stdio::null()).stderr(stderr);
        Self::started(command, port, dir)
    }

    fn started(mut command: Command, port: u16, dir: tempfile::TempDir) -> Server {
        let child = command.spawn().expect("the server starts");
        let mut server = Server { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(120);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            let exited = server.child.try_wait().expect("the server's status");
            assert!(exited.is_none(), "the server exited ({exited:?}): {}", server.log());
            assert!(Instant::now() < deadline, "the server did not start listening: {}", server.log());
            thread::sleep(Duration::from_millis(50));
        }
        server
    }

    /// The server's process.
    pub fn child(&mut self) -> &mut Child {
        &mut self.child
    }

    /// What `cu serve` wrote to its standard error so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir().join("stderr")).unwrap_or_default()
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
        request(self.port, method, path, headers, body).expect("the server answers")
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

/// Sends one request to `port` on a connection of its own; an error when the connection fails.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port))?;
    let mut head = format!(
        "{method} {path} HTTP/1.1\r\nhost: localhost\r\nconnection: close\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes())?;
    // A server may answer (413) and close before the body is all sent: its answer still counts.
    let sent = stream.write_all(body);
    let mut raw = Vec::new();
    match (stream.read_to_end(&mut raw), sent) {
        (Ok(_), _) | (Err(_), Ok(())) if raw.windows(4).any(|w| w == b"\r\n\r\n") => Ok(parse(&raw)),
        (Err(error), _) | (Ok(_), Err(error)) => Err(error),
        (Ok(_), Ok(())) => Ok(parse(&raw)),
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
