//! [`Engine`]: the compiled, pre-instantiated component that every [`Unit`] starts from.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use wasmtime::component::{Component, Linker};

use crate::bindings::CuPre;
use crate::error::{Error, Result};
use crate::state::State;
use crate::{Unit, UnitOptions, cache};

/// The cu component this crate was built with.
pub const COMPONENT: &[u8] = include_bytes!(env!("CU_COMPONENT_PATH"));

/// How often the epoch advances: the granularity of the time-limit backstop.
pub(crate) const EPOCH_TICK: Duration = Duration::from_millis(10);

/// A compiled and pre-instantiated cu component. Cheap to clone; create [`Unit`]s from it.
#[derive(Clone)]
pub struct Engine {
    inner: Arc<Inner>,
}

struct Inner {
    wasmtime: wasmtime::Engine,
    pre: CuPre<State>,
    cache_dir: Option<PathBuf>,
    cache_file: Option<PathBuf>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine").field("cache_file", &self.inner.cache_file).finish_non_exhaustive()
    }
}

/// Options for building an [`Engine`].
#[derive(Debug, Clone)]
pub struct EngineBuilder {
    component: Vec<u8>,
    cache_dir: Option<PathBuf>,
    backstop: bool,
}

impl Default for EngineBuilder {
    fn default() -> Self {
        Self { component: COMPONENT.to_vec(), cache_dir: default_cache_dir(), backstop: true }
    }
}

/// `<user cache dir>/cu`, e.g. `~/.cache/cu` on Linux.
pub fn default_cache_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|dir| dir.join("cu"))
}

impl EngineBuilder {
    /// Uses another build of the cu component instead of the embedded one.
    pub fn component(mut self, bytes: Vec<u8>) -> Self {
        self.component = bytes;
        self
    }

    /// Keeps compiled components in `dir` (default: [`default_cache_dir`]).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// Compiles the component on every start instead of caching it on disk.
    pub fn no_cache(mut self) -> Self {
        self.cache_dir = None;
        self
    }

    /// Whether wasmtime's epoch interruption backs up the guest's own time limit (default: on).
    ///
    /// The guest stops runaway Lua itself, the same in every host, with a catchable-once,
    /// then-repeated time limit error. The backstop also stops code the guest's checks would miss,
    /// by trapping the call (the unit is then reset). It costs speed: wasmtime checks the epoch at
    /// every loop of the compiled code, which in Lua's interpreter is every instruction
    /// (`cargo xtask bench` prints the interpreter-bound programs both ways). Turn it off only
    /// for code you trust not to find a gap in the guest's checks.
    pub fn epoch_backstop(mut self, on: bool) -> Self {
        self.backstop = on;
        self
    }

    /// Compiles (or loads from the cache) and pre-instantiates the component.
    pub fn build(self) -> Result<Engine> {
        let mut config = wasmtime::Config::new();
        config.epoch_interruption(self.backstop);
        config.wasm_exceptions(true);
        // Lua calls its allocator and every C function through function pointers; a lazily
        // initialized table puts a check on each of those calls (about 8% on an allocation-heavy
        // benchmark) to save initializing a table of a few hundred entries per unit.
        config.table_lazy_init(false);
        let wasmtime = wasmtime::Engine::new(&config).map_err(Error::Engine)?;

        let component = cache::load_or_compile(&wasmtime, &self.component, self.cache_dir.as_deref())?;
        let cache_file = self.cache_dir.as_deref().map(|dir| cache::file_for(&wasmtime, &self.component, dir));
        let pre = pre_instantiate(&wasmtime, &component)?;
        if self.backstop {
            start_epoch_ticker(&wasmtime);
        }
        let cache_dir = self.cache_dir;
        Ok(Engine { inner: Arc::new(Inner { wasmtime, pre, cache_dir, cache_file }) })
    }
}

/// Links WASI — with nothing granted: no files, network, environment or arguments — the `kv`
/// store and the module finder, and checks every import once, so that creating a unit is only instantiation.
fn pre_instantiate(engine: &wasmtime::Engine, component: &Component) -> Result<CuPre<State>> {
    let mut linker = Linker::<State>::new(engine);
    wasmtime_wasi::p2::add_to_linker_sync(&mut linker).map_err(Error::Engine)?;
    crate::bindings::cu::unit::kv::add_to_linker::<State, wasmtime::component::HasSelf<State>>(&mut linker, |s| s)
        .map_err(Error::Engine)?;
    crate::bindings::cu::unit::modules::add_to_linker::<State, wasmtime::component::HasSelf<State>>(&mut linker, |s| s)
        .map_err(Error::Engine)?;
    let instance_pre = linker.instantiate_pre(component).map_err(Error::Engine)?;
    CuPre::new(instance_pre).map_err(Error::Engine)
}

/// Advances the epoch every [`EPOCH_TICK`] for as long as the engine lives.
fn start_epoch_ticker(engine: &wasmtime::Engine) {
    let weak = engine.weak();
    let spawned = thread::Builder::new().name("cu-epoch".into()).spawn(move || {
        loop {
            thread::sleep(EPOCH_TICK);
            match weak.upgrade() {
                Some(engine) => engine.increment_epoch(),
                None => break,
            }
        }
    });
    // Without the ticker only the guest's own deadline stops runaway code; that is still a limit.
    drop(spawned);
}

impl Engine {
    /// The embedded component with the default on-disk cache.
    pub fn new() -> Result<Self> {
        EngineBuilder::default().build()
    }

    /// Options for a non-default engine.
    pub fn builder() -> EngineBuilder {
        EngineBuilder::default()
    }

    /// A fresh unit: a new Lua state with the sandbox's libraries and `options`' limits.
    pub fn unit(&self, options: UnitOptions) -> Result<Unit> {
        Unit::new(self.clone(), options)
    }

    /// The file the compiled component is cached in, if caching is on.
    pub fn cache_file(&self) -> Option<&Path> {
        self.inner.cache_file.as_deref()
    }

    /// Where compiled components are kept, if caching is on.
    pub(crate) fn cache_dir(&self) -> Option<&Path> {
        self.inner.cache_dir.as_deref()
    }

    pub(crate) fn wasmtime(&self) -> &wasmtime::Engine {
        &self.inner.wasmtime
    }

    pub(crate) fn pre(&self) -> &CuPre<State> {
        &self.inner.pre
    }
}
