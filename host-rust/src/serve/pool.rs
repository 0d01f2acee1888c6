//! The warm instances of the handler component (cu-http composed with cu) and the running of one
//! request in one of them.
//!
//! An instance serves request after request: cu-http keeps the app loaded in its unit between
//! them, so a request pays neither instantiation nor loading the app. An instance that trapped
//! (the host's time backstop, the memory cap, a bug) is dropped and the next request gets a new
//! one; errors that cu reports (a Lua error, a limit) leave the instance sound, and cu-http
//! loads the app into a fresh unit for the next request.

use std::sync::{Mutex, PoisonError};

use hyper::body::Incoming;
use wasmtime::Store;
use wasmtime::component::{HasSelf, Linker};
use wasmtime_wasi::{FsPerms, WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};
use wasmtime_wasi_http::p2::bindings::http::types::{ErrorCode, Scheme};
use wasmtime_wasi_http::p2::bindings::sync::{Proxy, ProxyPre};
use wasmtime_wasi_http::p2::body::HyperOutgoingBody;
use wasmtime_wasi_http::{
    Error as HttpError, RequestOptions, WasiBody, WasiHttpCtx, WasiHttpCtxView, WasiHttpHooks, WasiHttpView,
};

use super::ServeOptions;
use crate::error::{Error, Result};
use crate::modules::Modules;
use crate::state::State;
use crate::{Engine, Print, cache};

/// The response the guest sets, or the error it gives instead.
pub(super) type Answer = Result<hyper::Response<HyperOutgoingBody>, ErrorCode>;

/// What a store of the handler holds: a unit's state (WASI, `kv`, `modules`, the memory cap)
/// and the HTTP context.
struct ServeState {
    unit: State,
    http: WasiHttpCtx,
    hooks: NoOutgoing,
}

impl WasiView for ServeState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        self.unit.ctx()
    }
}

impl WasiHttpView for ServeState {
    fn http(&mut self) -> WasiHttpCtxView<'_> {
        WasiHttpCtxView { ctx: &mut self.http, table: &mut self.unit.table, hooks: &mut self.hooks }
    }
}

/// The handler's outgoing requests: refused, since the sandbox gives Lua no network (cu-http
/// never makes one), and refusing here keeps it so whatever the component.
struct NoOutgoing;

type Sent = Box<dyn Future<Output = Result<(), HttpError>> + Send>;

impl WasiHttpHooks for NoOutgoing {
    fn send_request(
        &mut self,
        _request: hyper::Request<WasiBody>,
        _options: Option<RequestOptions>,
        _sent: Sent,
    ) -> Box<dyn Future<Output = Result<(hyper::Response<WasiBody>, Sent), HttpError>> + Send> {
        Box::new(async { Err(HttpError::HttpRequestDenied) })
    }
}

/// One instance of the handler and its store.
struct Instance {
    store: Store<ServeState>,
    proxy: Proxy,
}

/// Why a request got no response from the app.
#[derive(Debug)]
pub(super) enum Failure {
    /// The host stopped the handler at its time backstop.
    Time,
    /// The handler reached its memory cap.
    Memory,
    /// The request cannot be given to a `wasi:http` handler (it has no Host header).
    Request(String),
    /// A new instance could not be made, or the handler trapped.
    Engine(String),
}

/// The handler, linked once, and its idle instances.
pub(super) struct Pool {
    engine: Engine,
    pre: ProxyPre<ServeState>,
    options: ServeOptions,
    modules: Modules,
    idle: Mutex<Vec<Instance>>,
}

impl Pool {
    /// Compiles (or loads from the cache) and links the handler: WASI with the app's directory
    /// (read only) and settings, `wasi:http`, and cu's `kv` and `modules` from this host.
    pub(super) fn new(engine: Engine, options: ServeOptions) -> Result<Self> {
        let wasmtime = engine.wasmtime();
        let component = cache::load_or_compile(wasmtime, super::HTTP_COMPONENT, engine.cache_dir())?;
        let mut linker = Linker::<ServeState>::new(wasmtime);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(Error::Engine)?;
        wasmtime_wasi_http::p2::add_only_http_to_linker_sync(&mut linker).map_err(Error::Engine)?;
        crate::bindings::cu::unit::kv::add_to_linker::<ServeState, HasSelf<State>>(&mut linker, |s| &mut s.unit)
            .map_err(Error::Engine)?;
        crate::bindings::cu::unit::modules::add_to_linker::<ServeState, HasSelf<State>>(&mut linker, |s| &mut s.unit)
            .map_err(Error::Engine)?;
        let pre = linker.instantiate_pre(&component).and_then(ProxyPre::new).map_err(Error::Engine)?;
        let modules = Modules::new(&options.unit.module_path, options.unit.memory_limit)?;
        Ok(Self { engine, pre, options, modules, idle: Mutex::default() })
    }

    /// Makes an instance now, so that the first request does not wait for one.
    pub(super) fn warm(&self) -> Result<()> {
        self.give_back(self.instantiate().map_err(|message| Error::Serve { message })?);
        Ok(())
    }

    /// Runs one request in an idle instance (or a new one); the guest sends its answer through
    /// `answer`. Blocks until the handler returns, which may be after the response was sent.
    pub(super) fn handle(
        &self,
        request: hyper::Request<Incoming>,
        answer: tokio::sync::oneshot::Sender<Answer>,
    ) -> Result<(), Failure> {
        let idle = self.idle.lock().unwrap_or_else(PoisonError::into_inner).pop();
        let mut instance = match idle {
            Some(instance) => instance,
            None => self.instantiate().map_err(Failure::Engine)?,
        };
        let data = instance.store.data_mut();
        let resources = data
            .http()
            .new_incoming_request(Scheme::Http, request)
            .and_then(|request| Ok((request, data.http().new_response_outparam(answer)?)));
        let (request, out) = match resources {
            Ok(resources) => resources,
            // A request wasi:http cannot take (no Host header): the instance is as it was.
            Err(e) => {
                self.give_back(instance);
                return Err(Failure::Request(format!("{e:#}")));
            }
        };
        data.unit.limiter.denied = false;
        // A request may be two calls, each with the whole time limit: loading the app into a
        // fresh unit, then `handle`. The backstop only catches what the guest's checks miss.
        instance.store.set_epoch_deadline(2 * self.options.unit.backstop_ticks());
        match instance.proxy.wasi_http_incoming_handler().call_handle(&mut instance.store, request, out) {
            Ok(()) => {
                self.give_back(instance);
                Ok(())
            }
            Err(_) if instance.store.data().unit.limiter.denied => Err(Failure::Memory),
            Err(e) if e.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt) => Err(Failure::Time),
            Err(e) => {
                // A panic inside the component says why on its stderr.
                let stderr = instance.store.data().unit.stderr.contents();
                let stderr = String::from_utf8_lossy(&stderr);
                Err(Failure::Engine(format!("{:#} {}", e.root_cause(), stderr.trim()).trim().to_string()))
            }
        }
    }

    fn give_back(&self, instance: Instance) {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner).push(instance);
    }

    fn instantiate(&self) -> Result<Instance, String> {
        let unit = &self.options.unit;
        let state = State::with_wasi(
            self.wasi()?,
            Print::Stdout,
            unit.linear_memory_cap(),
            unit.store.clone(),
            self.modules.clone(),
        );
        let mut store =
            Store::new(self.engine.wasmtime(), ServeState { unit: state, http: WasiHttpCtx::new(), hooks: NoOutgoing });
        store.limiter(|state| &mut state.unit.limiter);
        // Instantiation may run the component's initializers, which check the epoch too.
        store.set_epoch_deadline(unit.backstop_ticks());
        let proxy = self.pre.instantiate(&mut store).map_err(|e| format!("{e:#}"))?;
        Ok(Instance { store, proxy })
    }

    /// What the handler is granted: the app's directory to read the app from, and cu-http's
    /// settings (docs/SERVE.md), the same ones `wasmtime serve --env` gives it.
    fn wasi(&self) -> Result<WasiCtxBuilder, String> {
        let options = &self.options;
        let mut wasi = WasiCtx::builder();
        wasi.preopened_dir(&options.dir, ".", FsPerms::ReadOnly)
            .map_err(|e| format!("cannot open the app's directory {}: {e:#}", options.dir.display()))?;
        let time = options.unit.time_limit.map_or(0, |t| t.as_millis());
        wasi.env("CU_APP", &options.file)
            .env("CU_WARM", "1")
            .env("CU_TIMEOUT", format!("{time}ms"))
            .env("CU_MEMORY_LIMIT", options.unit.memory_limit.to_string())
            .env("CU_MAX_BODY", options.max_body.to_string());
        Ok(wasi)
    }
}
