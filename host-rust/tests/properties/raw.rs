//! The cu component under a bare wasmtime embedding, for sending it packed values exactly as
//! given. The `cu` crate checks every value it sends (it only writes values it packed itself), so
//! malformed bytes can reach the component only from another host (a JavaScript or a foreign
//! embedder, as host-js/test/node does); this is that host, with nothing else: WASI granting
//! nothing, a `kv` whose every call traps (the tests here do not touch `_home`), no modules, and
//! wasmtime's epoch interruption so that a hang ends in a trap the test reports.

use std::sync::OnceLock;
use std::time::Duration;

use wasmtime::component::{Component, HasSelf, Linker, Resource, ResourceAny, ResourceTable};
use wasmtime::{Config, Engine, Store};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

mod bindings {
    wasmtime::component::bindgen!({
        path: "../wit",
        world: "cu",
        imports: { default: trappable },
    });
}

use bindings::cu::unit::kv::{self, Bucket, Entry, Expectation, Keys, Page};
use bindings::cu::unit::modules;
pub use bindings::cu::unit::types::{Error as WitError, LimitKind as WitLimit, Value as WitValue};
use bindings::exports::cu::unit::compute::{Allowances, Options, PrintMode};
use bindings::{Cu, CuPre};

pub struct State {
    wasi: WasiCtx,
    table: ResourceTable,
}

impl WasiView for State {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

/// Epoch ticks (10 ms each) a call may take before it is interrupted: far more than any call here
/// needs, so an interruption is a hang.
const DEADLINE_TICKS: u64 = 1000;

fn pre() -> &'static CuPre<State> {
    static PRE: OnceLock<CuPre<State>> = OnceLock::new();
    PRE.get_or_init(|| {
        let mut config = Config::new();
        config.wasm_exceptions(true);
        config.epoch_interruption(true);
        let engine = Engine::new(&config).expect("an engine");
        let component = Component::new(&engine, ::cu::COMPONENT).expect("the component compiles");
        let mut linker = Linker::<State>::new(&engine);
        wasmtime_wasi::p2::add_to_linker_sync(&mut linker).expect("links WASI");
        kv::add_to_linker::<State, HasSelf<State>>(&mut linker, |state| state).expect("links kv");
        modules::add_to_linker::<State, HasSelf<State>>(&mut linker, |state| state).expect("links modules");
        let weak = engine.weak();
        std::thread::spawn(move || {
            while let Some(engine) = weak.upgrade() {
                engine.increment_epoch();
                drop(engine);
                std::thread::sleep(Duration::from_millis(10));
            }
        });
        CuPre::new(linker.instantiate_pre(&component).expect("pre-instantiates")).expect("the cu world")
    })
}

/// One unit in a fresh instance.
pub struct RawUnit {
    store: Store<State>,
    cu: Cu,
    unit: ResourceAny,
}

/// A call's result: the guest's own answer, or the trap (as text) that ended it.
pub type Called<T> = Result<Result<T, WitError>, String>;

impl RawUnit {
    pub fn new() -> RawUnit {
        let pre = pre();
        let state = State { wasi: WasiCtx::builder().build(), table: ResourceTable::new() };
        let mut store = Store::new(pre.engine(), state);
        store.set_epoch_deadline(DEADLINE_TICKS);
        let cu = pre.instantiate(&mut store).expect("instantiates");
        let options = Options {
            memory_limit: 64 << 20,
            time_limit_ms: 2000,
            print_mode: PrintMode::Capture,
            home: "home".into(),
            retry_conflicts: true,
            instruction_limit: 0,
            allow: Allowances::empty(),
        };
        let unit = cu.cu_unit_compute().unit().call_constructor(&mut store, &options).expect("a unit");
        RawUnit { store, cu, unit }
    }

    fn guard<T>(
        &mut self,
        call: impl FnOnce(&mut Store<State>, &Cu, ResourceAny) -> wasmtime::Result<T>,
    ) -> Result<T, String> {
        self.store.set_epoch_deadline(DEADLINE_TICKS);
        call(&mut self.store, &self.cu, self.unit).map_err(|trap| format!("{trap:#}"))
    }

    pub fn set_input(&mut self, nodes: &[u8]) -> Called<()> {
        let value = WitValue { nodes: nodes.to_vec() };
        self.guard(|s, cu, u| cu.cu_unit_io_table().call_set_input(s, u, &value))
    }

    pub fn set_input_field(&mut self, key: &str, nodes: &[u8]) -> Called<()> {
        let value = WitValue { nodes: nodes.to_vec() };
        self.guard(|s, cu, u| cu.cu_unit_io_table().call_set_input_field(s, u, key, &value))
    }

    pub fn input(&mut self) -> Called<Vec<u8>> {
        self.guard(|s, cu, u| cu.cu_unit_io_table().call_get_input(s, u)).map(|r| r.map(|v| v.nodes))
    }

    pub fn set_meta(&mut self, nodes: &[u8]) -> Called<()> {
        let value = WitValue { nodes: nodes.to_vec() };
        self.guard(|s, cu, u| cu.cu_unit_io_table().call_set_metadata(s, u, &value))
    }

    pub fn set_global(&mut self, name: &str, nodes: &[u8]) -> Called<()> {
        let value = WitValue { nodes: nodes.to_vec() };
        self.guard(|s, cu, u| cu.cu_unit_compute().unit().call_set_global(s, u, name, &value))
    }

    /// Calls global `name` with `args`, giving back each returned value's packed nodes.
    pub fn call(&mut self, name: &str, args: &[Vec<u8>]) -> Called<Vec<Vec<u8>>> {
        let args: Vec<WitValue> = args.iter().map(|nodes| WitValue { nodes: nodes.clone() }).collect();
        self.guard(|s, cu, u| cu.cu_unit_compute().unit().call_call(s, u, name, &args))
            .map(|r| r.map(|outcome| outcome.values.into_iter().map(|v| v.nodes).collect()))
    }

    pub fn compute(&mut self, code: &str) -> Called<Vec<Vec<u8>>> {
        self.guard(|s, cu, u| cu.cu_unit_compute().unit().call_compute(s, u, code.as_bytes(), None))
            .map(|r| r.map(|outcome| outcome.values.into_iter().map(|v| v.nodes).collect()))
    }
}

/// `kv`, every function of which traps: nothing here reaches `_home`.
type Trap<T> = wasmtime::Result<Result<T, kv::Error>>;

fn no_kv<T>() -> Trap<T> {
    Err(wasmtime::Error::msg("this embedding has no kv store"))
}

impl kv::Host for State {}

impl kv::HostBucket for State {
    fn open(&mut self, _: String) -> Trap<Resource<Bucket>> {
        no_kv()
    }
    fn get(&mut self, _: Resource<Bucket>, _: Vec<u8>) -> Trap<Option<Vec<u8>>> {
        no_kv()
    }
    fn get_many(&mut self, _: Resource<Bucket>, _: Vec<Vec<u8>>) -> Trap<Vec<Option<Vec<u8>>>> {
        no_kv()
    }
    fn exists(&mut self, _: Resource<Bucket>, _: Vec<u8>) -> Trap<bool> {
        no_kv()
    }
    fn set(&mut self, _: Resource<Bucket>, _: Vec<u8>, _: Vec<u8>) -> Trap<()> {
        no_kv()
    }
    fn set_many(&mut self, _: Resource<Bucket>, _: Vec<Entry>) -> Trap<()> {
        no_kv()
    }
    fn delete(&mut self, _: Resource<Bucket>, _: Vec<u8>) -> Trap<()> {
        no_kv()
    }
    fn scan(&mut self, _: Resource<Bucket>, _: Keys, _: Option<Vec<u8>>, _: u32) -> Trap<Page> {
        no_kv()
    }
    fn scan_reverse(&mut self, _: Resource<Bucket>, _: Keys, _: Option<Vec<u8>>, _: u32) -> Trap<Page> {
        no_kv()
    }
    fn commit(&mut self, _: Resource<Bucket>, _: Vec<kv::Write>, _: Vec<Expectation>) -> Trap<()> {
        no_kv()
    }
    fn drop(&mut self, _: Resource<Bucket>) -> wasmtime::Result<()> {
        Ok(())
    }
}

impl modules::Host for State {
    fn find(&mut self, _name: String) -> wasmtime::Result<Result<modules::Found, String>> {
        Ok(Ok(modules::Found::Missing(Vec::new())))
    }
}
