//! cu-http: a `wasi:http` handler that serves a Lua app with the cu unit it imports. Composed with
//! cu and a kv provider (compose/cu-http.wac), stock `wasmtime serve` serves it:
//!
//! ```text
//! wasmtime serve -S cli --dir . target/cu-http.wasm
//! ```
//!
//! The app is `app.lua` in the preopened directory (`CU_APP` in the environment names another).
//! It defines `function handle(request)`; the request is a table (`method`, `path`, `query`,
//! `headers`, `body`) and the function returns `{ status = …, headers = {…}, body = … }`, the body
//! a string, or a table sent as JSON. A Lua error is a 500 with its message, a time or memory limit
//! a 503. docs/COMPOSITION.md has the contract in full.

#[path = "../../host-rust/src/bin/cu/limits.rs"]
mod limits;
mod request;
mod response;

use bindings::cu::unit::compute::{Allowances, Options, PrintMode, Unit};
use bindings::cu::unit::types::{Error, Value as Packed};
use value::Value;
use wasip2::http::types::{IncomingRequest, ResponseOutparam};

use limits::{Size, Timeout};
use response::Response;

/// The bindings of world `http` (wit/http.wit): the cu unit, against cu's WIT in wit/deps.
#[allow(missing_docs, missing_debug_implementations, unsafe_op_in_unsafe_fn, clippy::all)]
mod bindings {
    wit_bindgen::generate!({ world: "http", path: "wit", generate_all });
}

/// The app's file in the preopened directory, unless `CU_APP` names another.
const APP: &str = "app.lua";
/// Lua heap per request, unless `CU_MEMORY_LIMIT` says otherwise (e.g. `128M`).
const MEMORY_LIMIT: &str = "64M";
/// Time per request (loading the app, then its `handle`), unless `CU_TIMEOUT` says otherwise
/// (e.g. `500ms`).
const TIMEOUT: &str = "5s";

/// A setting from the environment, or its default; a setting that does not parse is an error.
fn setting<T: std::str::FromStr<Err = String>>(name: &str, default: &str) -> Result<T, Response> {
    let text = std::env::var(name).unwrap_or_else(|_| default.to_string());
    text.parse().map_err(|e| Response::text(500, &format!("{name}={text}: {e}")))
}

struct Handler;

impl wasip2::exports::http::incoming_handler::Guest for Handler {
    fn handle(request: IncomingRequest, out: ResponseOutparam) {
        serve(request).send(out);
    }
}

wasip2::http::proxy::export!(Handler);

/// The response to one request: the app's, or the error that kept it from answering.
fn serve(request: IncomingRequest) -> Response {
    let request = match request::read(&request) {
        Ok(request) => request,
        Err(response) => return response,
    };
    let path = std::env::var("CU_APP").unwrap_or_else(|_| APP.to_string());
    let code = match std::fs::read(&path) {
        Ok(code) => code,
        Err(e) => return Response::text(500, &format!("cannot read the app {path}: {e}")),
    };
    let limits = setting::<Size>("CU_MEMORY_LIMIT", MEMORY_LIMIT)
        .and_then(|m| Ok((m, setting::<Timeout>("CU_TIMEOUT", TIMEOUT)?)));
    let (memory, time) = match limits {
        Ok(limits) => limits,
        Err(response) => return response,
    };
    let unit = Unit::new(&Options {
        memory_limit: memory.0,
        time_limit_ms: time.0.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        print_mode: PrintMode::Stdout,
        home: "home".into(),
        retry_conflicts: true,
        instruction_limit: 0,
        allow: Allowances::empty(),
    });
    let request = match value::to_packed(&request, "request") {
        Ok(nodes) => Packed { nodes },
        Err(e) => return Response::text(500, &e.to_string()),
    };
    let answer = unit.compute(&code, Some(&path)).and_then(|_| unit.call("handle", &[request]));
    match answer {
        Ok(outcome) => match outcome.values.first().map(|v| Value::from_packed(&v.nodes)) {
            Some(Ok(value)) => response::from_lua(&value),
            _ => Response::text(500, "handle(request) returned no response table"),
        },
        Err(error) => failure(&error),
    }
}

/// The response for an error of the app: its message (never a traceback), 503 for a limit.
fn failure(error: &Error) -> Response {
    match error {
        Error::Limit(e) => Response::text(503, &e.message),
        Error::Syntax(e) => Response::text(500, &format!("syntax error: {}", e.message)),
        Error::Runtime(e) => Response::text(500, &e.message),
        Error::Conversion(e) => Response::text(500, &format!("cannot convert {}: it {}", e.path, e.reason)),
        Error::Store(e) => Response::text(503, &e.message),
        Error::Schema(e) => Response::text(500, &e.message),
    }
}
