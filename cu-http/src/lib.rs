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

use std::cell::RefCell;

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
/// Lua heap per unit, unless `CU_MEMORY_LIMIT` says otherwise (e.g. `128M`).
const MEMORY_LIMIT: &str = "64M";
/// Time per call (loading the app; each `handle`), unless `CU_TIMEOUT` says otherwise (e.g.
/// `500ms`).
const TIMEOUT: &str = "5s";
/// The largest request body, unless `CU_MAX_BODY` says otherwise; a larger one is refused with 413.
const MAX_BODY: &str = "1M";

/// A setting from the environment, or its default; a setting that does not parse is an error.
fn setting<T: std::str::FromStr<Err = String>>(name: &str, default: &str) -> Result<T, Response> {
    let text = std::env::var(name).unwrap_or_else(|_| default.to_string());
    text.parse().map_err(|e| Response::text(500, &format!("{name}={text}: {e}")))
}

thread_local! {
    /// With `CU_WARM=1`, the unit with the app loaded, kept for the next request this instance
    /// serves, which then skips loading the app: for hosts that reuse instances (`cu serve` sets
    /// it). Off by default, since a kept unit keeps its `kv` bucket open, and kv-sqlite holds the
    /// SQLite file while a bucket is open: under `wasmtime serve`, which makes an instance per
    /// request, the next request's instance would wait for the file until this one is dropped.
    /// A request that fails leaves nothing here, so the next one loads the app into a fresh unit.
    static LOADED: RefCell<Option<Unit>> = const { RefCell::new(None) };
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
    let request = setting::<Size>("CU_MAX_BODY", MAX_BODY).and_then(|max| request::read(&request, max.0));
    let request = match request {
        Ok(request) => value::to_packed(&request, "request").map(|nodes| Packed { nodes }),
        Err(response) => return response,
    };
    let request = match request {
        Ok(request) => request,
        Err(e) => return Response::text(500, &e.to_string()),
    };
    let unit = match LOADED.take().map_or_else(load, Ok) {
        Ok(unit) => unit,
        Err(response) => return response,
    };
    match unit.call("handle", &[request]) {
        Ok(outcome) => match outcome.values.first().map(|v| Value::from_packed(&v.nodes)) {
            Some(Ok(value)) => {
                if std::env::var("CU_WARM").is_ok_and(|warm| warm == "1") {
                    LOADED.set(Some(unit));
                }
                response::from_lua(&value)
            }
            _ => Response::text(500, "handle(request) returned no response table"),
        },
        Err(error) => failure(&error),
    }
}

/// A new unit with the app loaded into it.
fn load() -> Result<Unit, Response> {
    let path = std::env::var("CU_APP").unwrap_or_else(|_| APP.to_string());
    let code = std::fs::read(&path).map_err(|e| Response::text(500, &format!("cannot read the app {path}: {e}")))?;
    let memory = setting::<Size>("CU_MEMORY_LIMIT", MEMORY_LIMIT)?;
    let time = setting::<Timeout>("CU_TIMEOUT", TIMEOUT)?;
    let unit = Unit::new(&Options {
        memory_limit: memory.0,
        time_limit_ms: time.0.map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX)),
        print_mode: PrintMode::Stdout,
        home: "home".into(),
        retry_conflicts: true,
        instruction_limit: 0,
        allow: Allowances::empty(),
    });
    unit.compute(&code, Some(&path)).map_err(|error| failure(&error))?;
    Ok(unit)
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
