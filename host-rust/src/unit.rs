//! [`Unit`]: one sandboxed Lua state inside its own instance of the component.

use std::time::Duration;

use wasmtime::Store;
use wasmtime::component::ResourceAny;

use crate::bindings::Cu;
use crate::bindings::cu::unit::types::{Error as WitError, Value as WitValue};
use crate::bindings::exports::cu::unit::compute::{self as wit, PrintMode};
use crate::engine::EPOCH_TICK;
use crate::error::{self, Error, LimitKind, Result};
use crate::modules::Modules;
use crate::state::State;
use crate::{Engine, Value};

/// Room above the Lua heap limit for the guest's own memory (the Rust heap, small buffers).
const LINEAR_MEMORY_HEADROOM: u64 = 64 * 1024 * 1024;

/// Where Lua's `print` goes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum Print {
    /// Collected and returned in [`Outcome::printed`].
    #[default]
    Capture,
    /// Written to this process's standard output as it is printed.
    Stdout,
}

/// What the sandbox leaves out unless the host allows it, for code it trusts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Allow {
    /// The whole `debug` library (but `debug.debug`), for test frameworks and profilers. Code can
    /// then reach the unit's internals through upvalues, the registry and metatables, and break
    /// its own `_home` proxies, `require`'s cache or the exactness of retried calls; limits and the
    /// refusal of bytecode still hold (docs/MODULES.md, "The debug library").
    Debug,
}

/// Limits and settings of a [`Unit`].
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct UnitOptions {
    /// Bytes the Lua heap may hold (0 = no limit of its own; linear memory still caps it at 4 GiB).
    pub memory_limit: u64,
    /// How long one call may run (`None` = no limit).
    pub time_limit: Option<Duration>,
    /// Where `print` goes.
    pub print: Print,
    /// The store that holds `_home` (default: a fresh in-memory store).
    pub store: crate::Store,
    /// The bucket of `store` that holds this unit's `_home` (default `"home"`). Units given the
    /// same bucket of the same store share one `_home`.
    pub home: String,
    /// The label of this unit's entries in the audit log (e.g. the user it acts for), if any.
    pub audit_label: Option<String>,
    /// Whether a call that fails on a commit conflict is run again when that is exact (default
    /// `true`; see docs/HOME.md, "Conflicts are run again").
    pub retry_conflicts: bool,
    /// Instructions one call may run (`None` = no limit), counted inside the component so that
    /// the same code on the same data stops at the same point on every host and machine (see
    /// [`Outcome::instructions`]).
    pub instruction_limit: Option<u64>,
    /// Where `require` looks for module files, after the modules added with
    /// [`Unit::add_module`]: entries like `lib/?.lua`, in order, each confined to its directory
    /// (docs/MODULES.md). Empty by default: a unit reads no files unless given a path.
    pub module_path: Vec<String>,
    /// What the sandbox adds for trusted code (nothing by default).
    pub allow: Vec<Allow>,
}

impl Default for UnitOptions {
    /// 256 MiB of Lua heap, 5 s per call, no instruction limit, `print` captured, `_home` in memory,
    /// conflicts retried.
    fn default() -> Self {
        Self {
            memory_limit: 256 * 1024 * 1024,
            time_limit: Some(Duration::from_secs(5)),
            print: Print::Capture,
            store: crate::Store::memory(),
            home: "home".to_string(),
            audit_label: None,
            retry_conflicts: true,
            instruction_limit: None,
            module_path: Vec::new(),
            allow: Vec::new(),
        }
    }
}

impl UnitOptions {
    /// Sets the Lua heap limit in bytes (0 = none).
    pub fn memory_limit(mut self, bytes: u64) -> Self {
        self.memory_limit = bytes;
        self
    }

    /// Sets the per-call time limit (`None` = none).
    pub fn time_limit(mut self, limit: Option<Duration>) -> Self {
        self.time_limit = limit;
        self
    }

    /// Sets where `print` goes.
    pub fn print(mut self, print: Print) -> Self {
        self.print = print;
        self
    }

    /// Keeps `_home` in `store`.
    pub fn store(mut self, store: crate::Store) -> Self {
        self.store = store;
        self
    }

    /// Keeps `_home` in the bucket `name` of the store.
    pub fn home(mut self, name: impl Into<String>) -> Self {
        self.home = name.into();
        self
    }

    /// Labels this unit's entries in the audit log.
    pub fn audit_label(mut self, label: impl Into<String>) -> Self {
        self.audit_label = Some(label.into());
        self
    }

    /// Sets whether a call that fails on a commit conflict is run again when that is exact.
    pub fn retry_conflicts(mut self, retry: bool) -> Self {
        self.retry_conflicts = retry;
        self
    }

    /// Sets how many instructions one call may run (`None` = no limit; `Some(0)` is taken as none).
    pub fn instruction_limit(mut self, limit: Option<u64>) -> Self {
        self.instruction_limit = limit;
        self
    }

    /// Lets `require` find modules in `dir`, as `dir/NAME.lua` or `dir/NAME/init.lua` (a dotted
    /// name's dots are directories), read when first required and never outside `dir`: names
    /// with `..` and symlinks that lead out are refused. The directory must exist.
    pub fn module_path(mut self, dir: impl AsRef<std::path::Path>) -> Self {
        let dir = dir.as_ref().to_string_lossy();
        // `/` becomes the empty prefix of `/?.lua`; an empty path is the current directory.
        let dir = if dir.is_empty() { "." } else { dir.trim_end_matches('/') };
        self.module_path.push(format!("{dir}/?.lua"));
        self.module_path.push(format!("{dir}/?/init.lua"));
        self
    }

    /// Adds module path entries in `LUA_PATH`'s form: templates separated by `;`, each with a `?`
    /// for the module's name (`lib/?.lua;src/?/init.lua`), confined to the directory before the
    /// `?`. Empty entries are skipped.
    pub fn module_pattern(mut self, templates: &str) -> Self {
        self.module_path.extend(templates.split(';').filter(|t| !t.is_empty()).map(str::to_string));
        self
    }

    /// Gives the unit's code what `allow` names, which the sandbox otherwise leaves out.
    pub fn allow(mut self, allow: Allow) -> Self {
        self.allow.push(allow);
        self
    }

    fn time_limit_ms(&self) -> u64 {
        self.time_limit.map_or(0, |t| u64::try_from(t.as_millis()).unwrap_or(u64::MAX).max(1))
    }

    /// The Lua heap, plus a value on its way in (at most the heap limit, see [`Unit::encode`]) or
    /// out (its buffer held twice while it grows), plus headroom. Inside this a large input fails with Lua's own
    /// memory error instead of stopping the component.
    pub(crate) fn linear_memory_cap(&self) -> Option<usize> {
        (self.memory_limit > 0).then(|| {
            let cap = self.memory_limit.saturating_mul(3).saturating_add(LINEAR_MEMORY_HEADROOM);
            usize::try_from(cap).unwrap_or(usize::MAX)
        })
    }

    /// Epoch ticks before the host stops a call the guest failed to stop itself: half the limit
    /// again plus two ticks, since the guest's own check fires at the limit.
    pub(crate) fn backstop_ticks(&self) -> u64 {
        match self.time_limit {
            None => u64::MAX / 2,
            Some(limit) => {
                let backstop = limit + limit / 2;
                (backstop.as_millis() / EPOCH_TICK.as_millis()) as u64 + 2
            }
        }
    }
}

/// What a successful call produced.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct Outcome {
    /// Every returned value, in order, `nil`s included.
    pub values: Vec<Value>,
    /// The call's `print` output (empty with [`Print::Stdout`]).
    pub printed: Vec<u8>,
    /// The instructions the call ran, as [`UnitOptions::instruction_limit`] counts them: the same
    /// for the same code on the same data in every host (of the last attempt, when a conflict
    /// ran the call again).
    pub instructions: u64,
    /// For each of `values`: how Lua's `tostring` shows it when it is a table with a `__tostring`
    /// or `__name` metafield (`None` for every other value). The CLI and REPL print this, as the
    /// `lua` REPL does.
    pub shown: Vec<Option<String>>,
}

/// Memory use of a unit, in bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MemoryStats {
    /// The Lua heap now.
    pub used: u64,
    /// The Lua heap limit (0 = none).
    pub limit: u64,
    /// The component's linear memory.
    pub linear: u64,
}

/// One Lua state: globals persist from call to call. Create it with [`Engine::unit`].
pub struct Unit {
    engine: Engine,
    pub(crate) options: UnitOptions,
    modules: Modules,
    store: Store<State>,
    instance: Cu,
    handle: ResourceAny,
}

impl std::fmt::Debug for Unit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Unit").field("options", &self.options).finish_non_exhaustive()
    }
}

impl Unit {
    pub(crate) fn new(engine: Engine, options: UnitOptions) -> Result<Self> {
        let modules = Modules::new(&options.module_path, options.memory_limit)?;
        let (store, instance, handle) = instantiate(&engine, &options, &modules)?;
        Ok(Self { engine, options, modules, store, instance, handle })
    }

    /// The options the unit was created with.
    pub fn options(&self) -> &UnitOptions {
        &self.options
    }

    /// Runs a chunk of Lua code and returns all its return values. `code` is text or any bytes
    /// (`&str`, `&[u8]`, `Vec<u8>`): Lua source may hold bytes that are not UTF-8, such as
    /// Latin-1 in a string literal. Bytecode is refused.
    pub fn compute(&mut self, code: impl AsRef<[u8]>) -> Result<Outcome> {
        self.compute_chunk(code.as_ref(), None)
    }

    /// Like [`compute`](Self::compute), naming the chunk in messages (`script.lua:3: ...`).
    pub fn compute_named(&mut self, name: &str, code: impl AsRef<[u8]>) -> Result<Outcome> {
        self.compute_chunk(code.as_ref(), Some(name))
    }

    /// Makes the module `name` available to `require` in this unit, before the module path, for
    /// as long as the unit lives (a reset keeps it). `source` is Lua source, text or bytes. A Lua
    /// state that required `name` already keeps what it loaded (`package.loaded`).
    pub fn add_module(&mut self, name: &str, source: impl AsRef<[u8]>) -> Result<()> {
        self.modules.add(name, source.as_ref())
    }

    fn compute_chunk(&mut self, code: &[u8], name: Option<&str>) -> Result<Outcome> {
        let outcome =
            self.call_guest(|store, cu, handle| cu.cu_unit_compute().unit().call_compute(store, handle, code, name))?;
        to_outcome(outcome)
    }

    /// Calls the global function `name` (or a dotted path such as `util.sum`) with `args`.
    pub fn call(&mut self, name: &str, args: &[Value]) -> Result<Outcome> {
        let args = args
            .iter()
            .enumerate()
            .map(|(i, arg)| self.encode(arg, &format!("args[{}]", i + 1)))
            .collect::<Result<Vec<_>>>()?;
        to_outcome(self.call_encoded(name, &args)?)
    }

    /// [`call`](Self::call) with arguments already in the component's form, returning its form.
    pub(crate) fn call_encoded(&mut self, name: &str, args: &[WitValue]) -> Result<wit::Outcome> {
        self.call_guest(|store, cu, handle| cu.cu_unit_compute().unit().call_call(store, handle, name, args))
    }

    /// Sets the global `name` to `value`.
    pub fn set_global(&mut self, name: &str, value: &Value) -> Result<()> {
        let value = self.encode(value, name)?;
        self.call_guest(|store, cu, handle| cu.cu_unit_compute().unit().call_set_global(store, handle, name, &value))
    }

    /// Reports memory use.
    pub fn memory_stats(&mut self) -> Result<MemoryStats> {
        let stats =
            self.call_guest(|store, cu, handle| cu.cu_unit_compute().unit().call_memory_stats(store, handle).map(Ok))?;
        Ok(to_stats(stats))
    }

    /// Runs a full garbage collection and reports memory use afterwards.
    pub fn collect_garbage(&mut self) -> Result<MemoryStats> {
        let stats = self
            .call_guest(|store, cu, handle| cu.cu_unit_compute().unit().call_collect_garbage(store, handle).map(Ok))?;
        Ok(to_stats(stats))
    }

    /// Drops all globals: the unit starts again from a fresh Lua state.
    pub fn reset(&mut self) -> Result<()> {
        self.call_guest(|store, cu, handle| cu.cu_unit_compute().unit().call_reset(store, handle).map(Ok))
    }

    /// The component's form of a value on its way in. A value whose form alone exceeds the memory
    /// limit cannot fit once built in Lua, so it is refused here, before the component sees it.
    pub(crate) fn encode<T: serde::Serialize + ?Sized>(&self, value: &T, path: &str) -> Result<WitValue> {
        let wit = crate::value::to_wit(value, path)?;
        let size = wit.nodes.len() as u64;
        let limit = self.options.memory_limit;
        if limit > 0 && size > limit {
            return Err(Error::Limit {
                kind: LimitKind::Memory,
                message: format!(
                    "memory limit exceeded: {path} takes {size} bytes on its way into the unit, more than its \
                     memory limit of {limit} bytes"
                ),
                reset: false,
            });
        }
        Ok(wit)
    }

    /// Calls into the guest under the backstop deadline. A trap leaves the instance unusable, so
    /// the unit is rebuilt and the error says it was reset.
    pub(crate) fn call_guest<R>(
        &mut self,
        call: impl FnOnce(&mut Store<State>, &Cu, ResourceAny) -> wasmtime::Result<Result<R, WitError>>,
    ) -> Result<R> {
        self.store.set_epoch_deadline(self.options.backstop_ticks());
        self.store.data_mut().limiter.denied = false;
        let result = call(&mut self.store, &self.instance, self.handle);
        match result {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(error)) => Err(error::from_guest(error)),
            Err(trap) => Err(self.recover(trap)),
        }
    }

    fn recover(&mut self, trap: wasmtime::Error) -> Error {
        let interrupted = trap.downcast_ref::<wasmtime::Trap>() == Some(&wasmtime::Trap::Interrupt);
        let out_of_memory = self.store.data().limiter.denied;
        let stderr = String::from_utf8_lossy(&self.store.data().stderr.contents()).trim().to_string();
        let error = if interrupted {
            Error::Limit {
                kind: LimitKind::Time,
                message: format!(
                    "time limit exceeded: the call ran longer than {} ms and was stopped by the host; \
                     the unit was reset",
                    self.options.time_limit_ms()
                ),
                reset: true,
            }
        } else if out_of_memory {
            Error::Limit {
                kind: LimitKind::Memory,
                message: format!(
                    "out of memory: the unit's linear memory would grow past {} bytes; the unit was reset",
                    self.options.linear_memory_cap().unwrap_or(usize::MAX)
                ),
                reset: true,
            }
        } else {
            let mut message = format!("{trap:#}");
            if !stderr.is_empty() {
                message = format!("{message} ({stderr})");
            }
            Error::Trap { message }
        };
        match instantiate(&self.engine, &self.options, &self.modules) {
            Ok((store, instance, handle)) => {
                self.store = store;
                self.instance = instance;
                self.handle = handle;
                error
            }
            Err(again) => again,
        }
    }
}

fn instantiate(engine: &Engine, options: &UnitOptions, modules: &Modules) -> Result<(Store<State>, Cu, ResourceAny)> {
    let state = State::new(options.print, options.linear_memory_cap(), options.store.clone(), modules.clone());
    let mut store = Store::new(engine.wasmtime(), state);
    store.limiter(|state| &mut state.limiter);
    store.set_epoch_deadline(options.backstop_ticks());
    let instance = engine.pre().instantiate(&mut store).map_err(Error::Engine)?;
    let wit_options = wit::Options {
        memory_limit: options.memory_limit,
        time_limit_ms: options.time_limit_ms(),
        print_mode: match options.print {
            Print::Capture => PrintMode::Capture,
            Print::Stdout => PrintMode::Stdout,
        },
        home: options.home.clone(),
        retry_conflicts: options.retry_conflicts,
        instruction_limit: options.instruction_limit.unwrap_or(0),
        allow: options.allow.iter().fold(wit::Allowances::empty(), |flags, allow| {
            flags
                | match allow {
                    Allow::Debug => wit::Allowances::DEBUG,
                }
        }),
    };
    let handle = instance.cu_unit_compute().unit().call_constructor(&mut store, &wit_options).map_err(Error::Engine)?;
    if let Some(label) = &options.audit_label {
        let home = instance.cu_unit_home_store();
        home.call_set_audit_label(&mut store, handle, Some(label)).map_err(Error::Engine)?;
    }
    Ok((store, instance, handle))
}

pub(crate) fn to_outcome(outcome: wit::Outcome) -> Result<Outcome> {
    let values = outcome.values.into_iter().map(crate::value::value_of).collect::<Result<_>>()?;
    Ok(Outcome { values, printed: outcome.printed, instructions: outcome.instructions, shown: outcome.shown })
}

fn to_stats(stats: wit::MemoryStats) -> MemoryStats {
    MemoryStats { used: stats.used, limit: stats.limit, linear: stats.linear }
}
