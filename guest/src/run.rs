//! Runs a function the way every call into a unit runs: under `xpcall`, so a script's error object
//! and the traceback at the point of the error both survive (mlua's own protected call keeps only
//! a string).

use mlua::{Function, Lua, MultiValue, Value};

/// The chunk name of the runner; its frames are cut from tracebacks.
const RUNNER_NAME: &str = "[cu]";

// The handler returns the error unchanged, since Lua also hands it the errors a `load` inside the
// call catches. It keeps the traceback in a table each call makes and returns first, not in an
// upvalue of the runner: an object made before a call and written during it would keep a
// conflicted call from being run again (c/cu_track.h).
const SOURCE: &str = r#"
local xpcall, traceback = ...
return function(f, ...)
    local box = { false }
    local function handler(e)
        box[1] = traceback(nil, 2)
        return e
    end
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
}

impl Runner {
    /// Builds the runner from the sandbox's `xpcall` and `debug.traceback`.
    pub fn new(lua: &Lua) -> mlua::Result<Self> {
        let globals = lua.globals();
        let xpcall: Function = globals.raw_get("xpcall")?;
        let traceback: Function = globals.raw_get::<mlua::Table>("debug")?.raw_get("traceback")?;
        let function = lua.load(SOURCE).set_name(format!("={RUNNER_NAME}")).call((xpcall, traceback))?;
        Ok(Self { function })
    }

    /// Calls `f(args...)`. An `Err` means the runner itself failed (a limit hit outside `f`).
    pub fn run(&self, f: Value, args: MultiValue) -> mlua::Result<Ended> {
        let mut results: MultiValue = self.function.call((f, args))?;
        let trace = match results.pop_front() {
            Some(Value::Table(box_)) => box_.raw_get(1)?,
            _ => Value::Nil,
        };
        let ok = matches!(results.pop_front(), Some(Value::Boolean(true)));
        if ok {
            return Ok(Ended::Returned(results));
        }
        let error = results.pop_front().unwrap_or(Value::Nil);
        let traceback = match trace {
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
