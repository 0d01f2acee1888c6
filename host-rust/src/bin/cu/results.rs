//! Printing what a call produced, as text or JSON. The cu-run component includes this file too,
//! so that its output is `cu run`'s.

use std::io::Write;

use serde_json::json;
use value::{Json, Value};

/// What a call produced, for printing.
pub struct Produced<'a> {
    pub values: &'a [Value],
    /// How `tostring` shows each value that has a `__tostring` or `__name` metafield.
    pub shown: &'a [Option<String>],
    pub output: &'a Value,
    pub printed: &'a [u8],
    pub instructions: u64,
}

/// Prints what a call produced: the returned values one per line in Lua-like form (through
/// `__tostring` where a value has one), then `_io.output = ...` when the call set it; or all of it
/// as one JSON document, with the instructions it ran.
pub fn outcome(produced: &Produced<'_>, json: bool) {
    let Produced { values, shown, output, printed, instructions } = *produced;
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
        text(&mut out, values, shown, output)
    };
    // A closed pipe (`cu eval ... | head`) is not an error worth reporting.
    let _ = written.and_then(|()| out.flush());
}

fn text(out: &mut impl Write, values: &[Value], shown: &[Option<String>], output: &Value) -> std::io::Result<()> {
    for (i, value) in values.iter().enumerate() {
        match shown.get(i) {
            Some(Some(text)) => writeln!(out, "{text}")?,
            _ => writeln!(out, "{value}")?,
        }
    }
    if *output != Value::Nil {
        writeln!(out, "_io.output = {output}")?;
    }
    Ok(())
}
