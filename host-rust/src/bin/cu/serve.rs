//! `cu serve`: the app's options into a [`cu::serve::Server`], run until SIGTERM or Ctrl-C.

use std::net::SocketAddr;
use std::path::Path;
use std::process::ExitCode;

use cu::serve::{ServeOptions, Server};
use cu::{Engine, UnitOptions};

use crate::args::Size;
use crate::common::{EXIT_ENGINE, EXIT_USAGE};

/// What `cu serve` was asked, besides the unit's options that every command takes.
pub struct Serve<'a> {
    pub file: &'a Path,
    pub addr: SocketAddr,
    pub workers: Option<u32>,
    pub max_body: Size,
    pub health_path: &'a str,
    pub quiet: bool,
}

pub fn run(engine: &Engine, unit: UnitOptions, serve: &Serve<'_>) -> ExitCode {
    let mut options = match ServeOptions::new(serve.file) {
        Ok(options) => options,
        Err(error) => return failed(&error, EXIT_USAGE),
    };
    // The app's directory leads the module path already (main.rs), as a script's does for `cu run`.
    options.unit = unit;
    options.addr = serve.addr;
    options.workers = serve.workers.map_or(options.workers, |n| n as usize);
    options.max_body = serve.max_body.0;
    options.health_path = serve.health_path.to_string();
    options.log = !serve.quiet;
    let workers = options.workers;
    let server = match Server::bind(engine, options) {
        Ok(server) => server,
        Err(error @ cu::Error::Serve { .. }) => return failed(&error, EXIT_USAGE),
        Err(error) => return failed(&error, EXIT_ENGINE),
    };
    eprintln!(
        "cu serve: {} on http://{} ({workers} workers; health check {})",
        serve.file.display(),
        server.local_addr(),
        serve.health_path
    );
    match server.run(cu::serve::terminated()) {
        Ok(()) => {
            eprintln!("cu serve: stopped");
            ExitCode::SUCCESS
        }
        Err(error) => failed(&error, EXIT_ENGINE),
    }
}

fn failed(error: &cu::Error, status: u8) -> ExitCode {
    eprintln!("cu serve: {error}");
    ExitCode::from(status)
}
