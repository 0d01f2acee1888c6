//! [`Server`]: a Lua HTTP app served by this host, as `cu serve` does. The handler is cu-http
//! composed with cu (compose/cu-http-open.wac), the very component `wasmtime serve` runs in
//! target/cu-http.wasm but with cu's `kv` and `modules` imports left open: this host fills them
//! with its stores (SQLite, Redis, memory) and the app's module path. docs/SERVE.md describes it.

mod http;
mod pool;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::error::{Error, Result};
use crate::{Engine, UnitOptions};

/// cu-http composed with the cu component this crate was built with, `kv` and `modules` open.
pub const HTTP_COMPONENT: &[u8] = include_bytes!(env!("CU_HTTP_COMPONENT_PATH"));

/// How to serve an app.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct ServeOptions {
    /// The app's directory, which the handler reads the app from (and `require` its modules).
    dir: PathBuf,
    /// The app's file name in `dir`.
    file: String,
    /// Where to listen (default `0.0.0.0:8080`; port 0 takes a free port).
    pub addr: SocketAddr,
    /// Requests served at once, each in its own instance (default: the machine's cores).
    pub workers: usize,
    /// Each unit's limits, `_home` store and module path; the time limit holds for loading the
    /// app and for each request.
    pub unit: UnitOptions,
    /// The largest request body in bytes (0: no limit); a larger one is refused with 413.
    pub max_body: u64,
    /// The path the server answers itself, without running Lua: 200 while serving, 503 once
    /// stopping.
    pub health_path: String,
    /// One line per request on standard error: method, path, status, time.
    pub log: bool,
}

impl ServeOptions {
    /// Serves the app in the file `app`, whose directory is also the module path.
    pub fn new(app: impl AsRef<Path>) -> Result<Self> {
        let app = app.as_ref();
        let not_found = |why: &str| Error::Serve { message: format!("the app {}: {why}", app.display()) };
        if !app.is_file() {
            return Err(not_found("no such file"));
        }
        let file = app.file_name().and_then(|f| f.to_str()).ok_or_else(|| not_found("not a UTF-8 file name"))?;
        let dir = match app.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let workers = std::thread::available_parallelism().map_or(2, |n| n.get());
        Ok(Self {
            unit: UnitOptions::default().memory_limit(64 << 20).module_path(&dir),
            dir,
            file: file.to_string(),
            addr: SocketAddr::from(([0, 0, 0, 0], 8080)),
            workers,
            max_body: 1 << 20,
            health_path: "/healthz".into(),
            log: true,
        })
    }
}

/// A server bound to its address, with its handler compiled and one instance warm.
#[derive(Debug)]
pub struct Server {
    listener: std::net::TcpListener,
    service: Arc<http::Service>,
}

impl Server {
    /// Compiles the handler (or loads it from `engine`'s cache), makes an instance, and binds
    /// `options.addr`.
    pub fn bind(engine: &Engine, options: ServeOptions) -> Result<Self> {
        let addr = options.addr;
        let service = http::Service {
            permits: Arc::new(Semaphore::new(options.workers.max(1))),
            health_path: options.health_path.clone(),
            max_body: options.max_body,
            log: options.log,
            stopping: AtomicBool::new(false),
            pool: Arc::new(pool::Pool::new(engine.clone(), options)?),
        };
        service.pool.warm()?;
        let listener = std::net::TcpListener::bind(addr)
            .map_err(|e| Error::Serve { message: format!("cannot listen on {addr}: {e}") })?;
        Ok(Self { listener, service: Arc::new(service) })
    }

    /// The address it listens on (the port chosen, for port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().unwrap_or_else(|_| SocketAddr::from(([0, 0, 0, 0], 0)))
    }

    /// Serves until `stop` resolves, then finishes the requests in flight and returns.
    pub fn run(self, stop: impl Future<Output = ()> + Send) -> Result<()> {
        let failed = |e: std::io::Error| Error::Serve { message: format!("cannot start the server: {e}") };
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().map_err(failed)?;
        runtime.block_on(async move {
            self.listener.set_nonblocking(true).map_err(failed)?;
            let listener = TcpListener::from_std(self.listener).map_err(failed)?;
            http::serve(listener, self.service, stop).await;
            Ok(())
        })
    }
}

/// Resolves at the first SIGTERM or SIGINT (Ctrl-C): what `cu serve` stops on.
pub async fn terminated() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = term.recv() => {},
                _ = tokio::signal::ctrl_c() => {},
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
