//! Where `print` writes: a buffer returned with the call's outcome, or the unit's stdout.

use std::cell::RefCell;
use std::io::Write;
use std::rc::Rc;

use mlua::{Function, Lua, Value, Variadic};

use crate::bindings::exports::cu::unit::compute::PrintMode;
use crate::errors::PRINT_OVERFLOW;
use crate::limits;

/// The destination of `print`, shared between the unit and its `print` function.
#[derive(Clone, Debug)]
pub struct Printed {
    mode: PrintMode,
    buffer: Rc<RefCell<Vec<u8>>>,
    /// Most bytes one call may capture (limits::outside_heap), since the buffer lives outside the
    /// Lua heap that the memory limit otherwise covers.
    limit: usize,
}

impl Printed {
    pub fn new(mode: PrintMode, limit: usize) -> Self {
        Self { mode, buffer: Rc::default(), limit: limits::outside_heap(limit) }
    }

    /// Takes what was printed since the last call.
    pub fn take(&self) -> Vec<u8> {
        std::mem::take(&mut self.buffer.borrow_mut())
    }

    fn write(&self, line: &[u8]) -> mlua::Result<()> {
        match self.mode {
            PrintMode::Capture => {
                let mut buffer = self.buffer.borrow_mut();
                if buffer.len() + line.len() > self.limit {
                    return Err(mlua::Error::MemoryError(format!("{PRINT_OVERFLOW} of {} bytes", self.limit)));
                }
                buffer.extend_from_slice(line);
            }
            PrintMode::Stdout => {
                crate::retry::mark_irreversible();
                // A closed or failing stdout must not fail the script: output is best effort.
                let mut out = std::io::stdout().lock();
                let _ = out.write_all(line).and_then(|()| out.flush());
            }
        }
        Ok(())
    }

    /// Lua's `print`: `tostring` of each argument, tab-separated, one line per call.
    pub fn print_function(&self, lua: &Lua, tostring: Function) -> mlua::Result<Function> {
        let printed = self.clone();
        lua.create_function(move |_, args: Variadic<Value>| {
            let mut line = Vec::new();
            for (i, arg) in args.into_iter().enumerate() {
                if i > 0 {
                    line.push(b'\t');
                }
                let text: mlua::LuaString = tostring.call(arg)?;
                line.extend_from_slice(&text.as_bytes());
            }
            line.push(b'\n');
            printed.write(&line)
        })
    }
}
