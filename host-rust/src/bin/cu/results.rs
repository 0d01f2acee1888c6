//! Printing what a call produced, as text or JSON. The cu-run component includes this file too,
//! so that its output is `cu run`'s.

use std::io::Write;

use serde_json::json;
use value::{Json, Value};

/// Prints what a call produced: the returned values one per line in Lua-like form, then
/// `_io.output = ...` when the call set it; or all of it as one JSON document, with the
/// instructions it ran.
pub fn outcome(values: &[Value], output: &Value, printed: &[u8], instructions: u64, json: bool) {
    let mut out = std::io::stdout().lock();
    let written = if json {
        let returns: Vec<Json<'_>> = values.iter().map(Json).collect();
        let document = json!({
            "returns": returns,
            "output": Json(output),
            "printed": String::from_utf8_lossy(printed),
            "instructions": instructions,
        });
        writeln!(out, "{document}")
    } else {
        text(&mut out, values, output)
    };
    // A closed pipe (`cu eval ... | head`) is not an error worth reporting.
    let _ = written.and_then(|()| out.flush());
}

fn text(out: &mut impl Write, values: &[Value], output: &Value) -> std::io::Result<()> {
    for value in values {
        writeln!(out, "{value}")?;
    }
    if *output != Value::Nil {
        writeln!(out, "_io.output = {output}")?;
    }
    Ok(())
}
