//! The `unit` resource: one sandboxed Lua state and the calls into it.

use std::cell::RefCell;
use std::mem::ManuallyDrop;

use mlua::{Lua, MultiValue, Table, Value as LuaValue};

use crate::bindings::cu::unit::types::{Error, LimitError, LimitKind, Value};
use crate::bindings::exports::cu::unit::compute::{Allowances, GuestUnit, MemoryStats, Options, Outcome};
use crate::chunks::Chunks;
use crate::convert::Failure;
use crate::home::Home;
use crate::output::Printed;
use crate::run::{Ended, Runner};
use crate::{convert, errors, io, limits, retry, sandbox};

/// The chunk name of code passed to `compute` without one.
const DEFAULT_CHUNK_NAME: &str = "(compute)";

pub struct Unit {
    options: Options,
    /// Dropped by [`Unit`]'s `Drop`, unless a trap left it in a call.
    state: ManuallyDrop<RefCell<State>>,
}

impl Drop for Unit {
    fn drop(&mut self) {
        // A call's borrow of the state outlives the call only when a trap unwound it. The
        // JavaScript package then goes on with the other units in the instance
        // (host-js/src/common/component.js); closing this Lua state would run its collector and
        // finalizers from wherever the trap stopped it, in the memory they share, so it is left
        // there, unreachable.
        if self.state.try_borrow_mut().is_ok() {
            // SAFETY: the state is dropped here once, and the unit is never used again.
            unsafe { ManuallyDrop::drop(&mut self.state) }
        }
    }
}

struct State {
    lua: Lua,
    runner: Runner,
    printed: Printed,
    home: Home,
    /// The names every call starts with, interned once.
    keys: io::Keys,
    chunks: RefCell<Chunks>,
}

impl State {
    fn new(options: &Options) -> Self {
        // Creating the sandbox runs only our own code; failing here is a bug, not bad input.
        Self::try_new(options).unwrap_or_else(|e| panic!("cannot create the Lua sandbox: {e}"))
    }

    fn try_new(options: &Options) -> mlua::Result<Self> {
        // The deadline is the instance's, not a unit's: one that tripped in the instance's last
        // call (of a unit since dropped) would stop this setup at its first check.
        limits::start_deadline(0);
        let heap_limit = limits::heap_limit(options.memory_limit);
        let printed = Printed::new(options.print_mode, heap_limit);
        let lua = sandbox::new_state(&printed, heap_limit, options.allow.contains(Allowances::DEBUG))?;
        let home = Home::install(&lua, options.home.clone(), sandbox::builtins)?;
        let runner = Runner::new(&lua)?;
        let keys = io::Keys::new(&lua)?;
        retry::internal_registry(&lua)?;
        // Last, so that setting up the sandbox never counts against a small limit.
        lua.set_memory_limit(limits::heap_limit(options.memory_limit))?;
        Ok(Self { lua, runner, printed, home, keys, chunks: RefCell::default() })
    }

    /// Converts a Lua value for the host, loading the stored tables it reaches when it has any.
    fn convert(&self, value: &LuaValue) -> Result<Value, Failure> {
        match convert::from_lua(&self.lua, value) {
            Err(Failure::Unloaded) => {
                self.home.load_reachable(value)?;
                convert::from_lua(&self.lua, value)
            }
            converted => converted,
        }
    }

    /// Every call attempt starts with no output and reads `_home` afresh.
    fn start_call(&self) -> mlua::Result<()> {
        let io = io::start_call(&self.lua, &self.keys)?;
        self.start_home()?;
        retry::start_attempt(Some(&io), &self.keys.output);
        Ok(())
    }

    /// `_home` afresh, and the global put back if a script replaced it.
    fn start_home(&self) -> mlua::Result<()> {
        self.home.start_call()?;
        self.lua.globals().raw_set(&self.keys.home, self.home.root()?)
    }
}

/// A host operation on `_home` in progress (see [`Unit::home_transaction`]).
pub struct Session<'a> {
    unit: &'a Unit,
    state: &'a State,
}

impl Session<'_> {
    pub fn lua(&self) -> &Lua {
        &self.state.lua
    }

    pub fn home(&self) -> &Home {
        &self.state.home
    }

    /// A Lua failure as the error the host gets.
    pub fn lua_error(&self, error: mlua::Error) -> Error {
        self.unit.memory_error(error)
    }

    pub fn home_error(&self, error: crate::home::HomeError) -> Error {
        errors::home(error, self.unit.options.memory_limit)
    }

    /// A value from the host as a Lua value; `root` names it in errors.
    pub fn to_lua(&self, value: &Value, root: &str) -> Result<LuaValue, Error> {
        convert::to_lua(&self.state.lua, value).map_err(|f| errors::conversion(f, root, self.unit.options.memory_limit))
    }

    /// A Lua value for the host; `root` names it in errors.
    pub fn to_host(&self, value: &LuaValue, root: &str) -> Result<Value, Error> {
        self.state.convert(value).map_err(|f| errors::conversion(f, root, self.unit.options.memory_limit))
    }
}

impl Unit {
    fn memory_error(&self, error: mlua::Error) -> Error {
        errors::from_lua(error, self.options.memory_limit)
    }

    /// Runs `f(args...)` under the call's deadline and converts what it returns.
    fn run(&self, state: &State, f: LuaValue, args: MultiValue) -> Result<Outcome, Error> {
        let ended = state.runner.run(f, args);
        let result = match ended {
            Ok(Ended::Returned(values)) => values
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    state
                        .convert(v)
                        .map(|value| (value, shown(&state.lua, v)))
                        .map_err(|f| errors::conversion(f, &format!("[{}]", i + 1), self.options.memory_limit))
                })
                .collect::<Result<(Vec<Value>, Vec<Option<String>>), Error>>(),
            Ok(Ended::Raised { error, traceback: Some(traceback) }) => Err(self.raised(state, error, traceback)),
            Ok(Ended::Raised { error, traceback: None }) => Err(errors::unhandled(&error, self.options.memory_limit)),
            Err(error) => Err(self.memory_error(error)),
        };
        let printed = state.printed.take();
        let instructions = limits::instructions_used();
        if limits::deadline_tripped() {
            return Err(errors::time_limit(self.options.time_limit_ms));
        }
        if limits::meter_tripped() {
            return Err(errors::instruction_limit(self.options.instruction_limit));
        }
        // A call's writes to `_home` are stored only when all of it succeeded.
        let result = result.and_then(|values| {
            state.home.commit("compute").map_err(|e| errors::home(e, self.options.memory_limit))?;
            Ok(values)
        });
        if result.is_err() {
            // What the failed call wrote is dropped now, so the host never reads it either.
            let _ = state.home.start_call();
        }
        result.map(|(values, shown)| Outcome { values, printed, instructions, shown })
    }

    /// The runtime error for an error object a script raised.
    fn raised(&self, state: &State, error: LuaValue, traceback: String) -> Error {
        let lua = &state.lua;
        if let LuaValue::Error(wrapped) = &error {
            return errors::from_wrapped(wrapped, traceback, self.options.memory_limit);
        }
        let message = match &error {
            LuaValue::String(s) => s.to_string_lossy(),
            other => describe(lua, other),
        };
        let value = match &error {
            LuaValue::String(_) => None,
            other => state.convert(other).ok(),
        };
        errors::runtime(message, traceback, value)
    }

    /// Converts `value` into Lua and hands it to `place`. `root` names the value in errors.
    pub fn put(
        &self,
        root: &str,
        value: &Value,
        place: impl FnOnce(&Lua, LuaValue) -> mlua::Result<()>,
    ) -> Result<(), Error> {
        let state = self.state.borrow();
        // Building tables can run a garbage-collection step, and with it a script's finalizers.
        limits::start_deadline(self.options.time_limit_ms);
        let value =
            convert::to_lua(&state.lua, value).map_err(|f| errors::conversion(f, root, self.options.memory_limit))?;
        place(&state.lua, value).map_err(|e| self.memory_error(e))
    }

    /// Converts the Lua value `read` returns. `root` names it in errors.
    pub fn take(&self, root: &str, read: impl FnOnce(&Lua) -> mlua::Result<LuaValue>) -> Result<Value, Error> {
        let state = self.state.borrow();
        let value = read(&state.lua).map_err(|e| self.memory_error(e))?;
        state.convert(&value).map_err(|f| errors::conversion(f, root, self.options.memory_limit))
    }

    /// Runs a host operation on `_home` as one transaction, under the call deadline: it starts from
    /// the store, and what it wrote is committed only when it succeeds.
    /// `operation` names it for the audit log.
    pub fn home_transaction<R>(&self, operation: &str, op: impl Fn(&Session) -> Result<R, Error>) -> Result<R, Error> {
        let state = self.state.borrow();
        limits::start_deadline(self.options.time_limit_ms);
        let session = Session { unit: self, state: &state };
        self.attempts(|| {
            state.start_home().map_err(|e| self.memory_error(e))?;
            retry::start_attempt(None, &state.keys.output);
            let result = op(&session);
            let result = if limits::deadline_tripped() {
                Err(errors::time_limit(self.options.time_limit_ms))
            } else {
                result.and_then(|r| {
                    state.home.commit(operation).map_err(|e| session.home_error(e))?;
                    Ok(r)
                })
            };
            if result.is_err() {
                let _ = state.home.start_call();
            }
            result
        })
    }

    /// Makes `attempt` until it does not fail on a commit conflict, as retry.rs describes, when
    /// the unit retries conflicts.
    fn attempts<R>(&self, mut attempt: impl FnMut() -> Result<R, Error>) -> Result<R, Error> {
        let mut made = 1;
        loop {
            let error = match attempt() {
                Err(error) if self.options.retry_conflicts && errors::is_conflict(&error) => error,
                done => return done,
            };
            if !retry::exact() {
                return Err(errors::with_note(error, "not run again: it changed state outside _home"));
            }
            if made == retry::ATTEMPTS || !retry::wait_before(made + 1) {
                return Err(errors::with_note(error, &format!("after {made} attempts")));
            }
            made += 1;
        }
    }

    /// Sets the label of the unit's entries in the audit log.
    pub fn home_label(&self, label: Option<String>) -> mlua::Result<()> {
        self.state.borrow().home.set_label(label)
    }

    fn stats(&self, lua: &Lua) -> MemoryStats {
        MemoryStats {
            used: lua.used_memory() as u64,
            limit: self.options.memory_limit,
            linear: (core::arch::wasm32::memory_size(0) as u64) * 65536,
        }
    }
}

/// A table with a `__tostring` or `__name` metafield as `tostring` shows it; `None` for any other
/// value, or when `__tostring` fails or gives no string.
fn shown(lua: &Lua, value: &LuaValue) -> Option<String> {
    let LuaValue::Table(table) = value else { return None };
    let meta = table.metatable()?;
    // A stored table's proxy names itself for Lua's messages, but is shown as the table it is.
    let proxies = crate::home::METATABLE.to_str().ok().and_then(|key| lua.named_registry_value::<Table>(key).ok());
    if proxies.is_some_and(|proxies| proxies == meta) {
        return None;
    }
    if meta.raw_get::<LuaValue>("__tostring").ok()?.is_nil() && meta.raw_get::<LuaValue>("__name").ok()?.is_nil() {
        return None;
    }
    let tostring: mlua::Function = lua.globals().raw_get("tostring").ok()?;
    tostring.call::<mlua::LuaString>(value.clone()).ok().map(|s| s.to_string_lossy())
}

/// A non-string error object as text: its `__tostring`, or what Lua's standalone interpreter says.
fn describe(lua: &Lua, error: &LuaValue) -> String {
    let has_tostring = match error {
        LuaValue::Table(t) => t.metatable().is_some_and(|m| m.contains_key("__tostring").unwrap_or(false)),
        LuaValue::UserData(_) => true,
        _ => false,
    };
    let fallback = || format!("(error object is a {} value)", error.type_name());
    if !has_tostring {
        return fallback();
    }
    let tostring: Option<mlua::Function> = lua.globals().raw_get("tostring").ok();
    tostring
        .and_then(|f| f.call::<mlua::LuaString>(error.clone()).ok())
        .map(|s| s.to_string_lossy())
        .unwrap_or_else(fallback)
}

impl GuestUnit for Unit {
    fn new(options: Options) -> Self {
        let state = ManuallyDrop::new(RefCell::new(State::new(&options)));
        Self { options, state }
    }

    fn compute(&self, code: Vec<u8>, chunk_name: Option<String>) -> Result<Outcome, Error> {
        let state = self.state.borrow();
        limits::start_deadline(self.options.time_limit_ms);
        let name = chunk_name.as_deref().unwrap_or(DEFAULT_CHUNK_NAME);
        let function = state.chunks.borrow_mut().function(&state.lua, code, name).map_err(|e| self.memory_error(e))?;
        let result = self.attempts(|| {
            state.start_call().map_err(|e| self.memory_error(e))?;
            limits::start_meter(self.options.instruction_limit);
            self.run(&state, LuaValue::Function(function.clone()), MultiValue::new())
        });
        if matches!(result, Err(Error::Limit(LimitError { kind: LimitKind::Memory, .. }))) {
            // The heap the kept chunks hold is the script's to have back.
            state.chunks.borrow_mut().clear();
        }
        result
    }

    fn call(&self, name: String, args: Vec<Value>) -> Result<Outcome, Error> {
        let state = self.state.borrow();
        limits::start_deadline(self.options.time_limit_ms);
        self.attempts(|| {
            state.start_call().map_err(|e| self.memory_error(e))?;
            let function = lookup(&state.lua, &name).map_err(|e| self.memory_error(e))?;
            if function.is_nil() {
                return Err(errors::runtime(format!("'{name}' is not defined"), String::new(), None));
            }
            // Made anew for each attempt, so that one that changed its arguments can be run again.
            let mut lua_args = MultiValue::with_capacity(args.len());
            for (i, arg) in args.iter().enumerate() {
                let value = convert::to_lua(&state.lua, arg)
                    .map_err(|f| errors::conversion(f, &format!("args[{}]", i + 1), self.options.memory_limit))?;
                lua_args.push_back(value);
            }
            limits::start_meter(self.options.instruction_limit);
            self.run(&state, function, lua_args)
        })
    }

    fn set_global(&self, name: String, value: Value) -> Result<(), Error> {
        self.put(&name, &value, |lua, value| lua.globals().raw_set(name.as_str(), value))
    }

    fn memory_stats(&self) -> MemoryStats {
        self.stats(&self.state.borrow().lua)
    }

    fn collect_garbage(&self) -> MemoryStats {
        let state = self.state.borrow();
        // Finalizers are Lua code: they run under the deadline, and their errors are only warnings.
        limits::start_deadline(self.options.time_limit_ms);
        let _ = state.lua.gc_collect();
        self.stats(&state.lua)
    }

    fn reset(&self) {
        // The audit label is the host's, not the Lua state's.
        let label = self.state.borrow().home.label().unwrap_or_default();
        *self.state.borrow_mut() = State::new(&self.options);
        let _ = self.home_label(label);
    }
}

/// The value at a global name or a dotted path through tables (`util.sum`).
fn lookup(lua: &Lua, name: &str) -> mlua::Result<LuaValue> {
    let mut value = LuaValue::Table(lua.globals());
    for part in name.split('.') {
        value = match value {
            LuaValue::Table(table) => Table::get(&table, part)?,
            _ => return Ok(LuaValue::Nil),
        };
    }
    Ok(value)
}
