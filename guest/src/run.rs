//! Runs a function the way every call into a unit runs: under `xpcall`, so a script's error object
//! and the traceback at the point of the error both survive (mlua's own protected call keeps only
//! a string).

use mlua::{Function, Lua, MultiValue, Table, Value};

/// The chunk name of the runner; its frames are cut from tracebacks.
const RUNNER_NAME: &str = "[cu]";

// The handler returns the error unchanged, since Lua also hands it the errors a `load` inside the
// call catches. It keeps the traceback in `box`, a table made once and marked as the guest's own
// (retry.rs), so that writing it does not count as the call changing state made before it. The
// runner returns `box` first only so that its call of `xpcall` is not a tail call, which would
// put a "(...tail calls...)" line in tracebacks.
const SOURCE: &str = r#"
local xpcall, traceback, box = ...
local function handler(e)
    box[1] = traceback(nil, 2)
    return e
end
return function(f, ...)
    box[1] = false
    return box, xpcall(f, handler, ...)
end
"#;

/// The instructions (c/cu_limits.h) the runner adds to every run: its own entry. The count a call
/// reports and its limit leave it out.
pub const OWN_INSTRUCTIONS: u64 = 1;

/// How a run ended.
#[derive(Debug)]
pub enum Ended {
    /// The function returned these values.
    Returned(MultiValue),
    /// The function raised `error`. `traceback` is `None` when the message handler did not run:
    /// Lua skips it for memory errors, and it fails when the error handling itself overflows.
    Raised { error: Value, traceback: Option<String> },
}

#[derive(Debug)]
pub struct Runner {
    function: Function,
    /// Where the handler leaves the traceback of the last error.
    traceback: Table,
}

impl Runner {
    /// Builds the runner from the sandbox's `xpcall` and `debug.traceback`.
    pub fn new(lua: &Lua) -> mlua::Result<Self> {
        let globals = lua.globals();
        let xpcall: Function = globals.raw_get("xpcall")?;
        let traceback: Function = globals.raw_get::<Table>("debug")?.raw_get("traceback")?;
        let box_ = lua.create_table()?;
        crate::retry::internal(&box_);
        let function =
            crate::chunks::internal(lua, SOURCE, &format!("={RUNNER_NAME}"))?.call((xpcall, traceback, &box_))?;
        Ok(Self { function, traceback: box_ })
    }

    /// Calls `f(args...)`. An `Err` means the runner itself failed (a limit hit outside `f`).
    pub fn run(&self, f: Value, args: MultiValue) -> mlua::Result<Ended> {
        let mut results: MultiValue = self.function.call((f, args))?;
        results.pop_front();
        let ok = matches!(results.pop_front(), Some(Value::Boolean(true)));
        if ok {
            return Ok(Ended::Returned(results));
        }
        let error = results.pop_front().unwrap_or(Value::Nil);
        let traceback = match self.traceback.raw_get(1)? {
            Value::String(s) => Some(trim_runner_frames(&s.to_string_lossy())),
            _ => None,
        };
        Ok(Ended::Raised { error, traceback })
    }
}

/// Drops the bottom frames that belong to the runner rather than to the script.
fn trim_runner_frames(traceback: &str) -> String {
    let mut lines: Vec<&str> = traceback.lines().collect();
    while let Some(last) = lines.last() {
        let frame = last.trim_start();
        let ours = frame.starts_with(RUNNER_NAME) || frame == "[C]: in ?" || frame == "[C]: in function 'xpcall'";
        if !ours {
            break;
        }
        lines.pop();
    }
    lines.join("\n")
}
