//! What each unit's wasmtime store holds: the WASI context it grants, its `_home` store and its
//! memory cap, and where its modules come from.

use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxBuilder, WasiCtxView, WasiView};

use crate::modules::Modules;
use crate::unit::Print;
use kv_store::Store;

/// How much of the guest's stderr (only ever a Rust panic message) is kept for error reports.
const STDERR_CAPACITY: usize = 16 * 1024;

pub(crate) struct State {
    wasi: WasiCtx,
    pub(crate) table: ResourceTable,
    /// Where the unit's `_home` lives (kv.rs).
    pub(crate) store: Store,
    /// Where `require` finds modules through the host (modules.rs).
    pub(crate) modules: Modules,
    pub(crate) limiter: MemoryCap,
    pub(crate) stderr: MemoryOutputPipe,
}

impl State {
    pub(crate) fn new(print: Print, linear_memory_cap: Option<usize>, store: Store, modules: Modules) -> Self {
        Self::with_wasi(WasiCtx::builder(), print, linear_memory_cap, store, modules)
    }

    /// A state whose WASI context grants what `wasi` does (`cu serve` gives its handler the app's
    /// directory and settings) besides stdout and stderr.
    pub(crate) fn with_wasi(
        mut wasi: WasiCtxBuilder,
        print: Print,
        linear_memory_cap: Option<usize>,
        store: Store,
        modules: Modules,
    ) -> Self {
        let stderr = MemoryOutputPipe::new(STDERR_CAPACITY);
        wasi.stderr(stderr.clone());
        if print == Print::Stdout {
            wasi.stdout(std::io::stdout());
        }
        Self {
            wasi: wasi.build(),
            table: ResourceTable::new(),
            store,
            modules,
            limiter: MemoryCap { cap: linear_memory_cap, denied: false },
            stderr,
        }
    }
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Caps the guest's linear memory and remembers whether the cap was reached, so that a trap
/// that follows can be reported as a memory limit.
pub(crate) struct MemoryCap {
    cap: Option<usize>,
    pub(crate) denied: bool,
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let allowed = self.cap.is_none_or(|cap| desired <= cap);
        self.denied |= !allowed;
        Ok(allowed)
    }

    fn table_growing(&mut self, _current: usize, _desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(true)
    }
}
