//! `cu stream`: a script run over the items of a JSON array, batch by batch.

use std::io::Write;
use std::process::ExitCode;

use cu::{Json, Unit, Value};
use indicatif::{ProgressBar, ProgressStyle};

use crate::report;

pub fn run(unit: &mut Unit, code: &[u8], items: Vec<Value>, batch: usize, json: bool) -> ExitCode {
    // On a terminal only: indicatif draws nothing when stderr is a pipe or file.
    let bar = ProgressBar::new(items.len() as u64);
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} items · {per_sec} · {eta} left") {
        bar.set_style(style);
    }
    let mut out = std::io::stdout().lock();
    let result = unit.for_each_batch(code, items, batch, |progress, output: Value| {
        bar.set_position(progress.items as u64);
        // Lines go out with the bar lifted, so they do not tear it on a terminal. A closed pipe
        // (`cu stream ... | head`) ends the output but is not an error to report.
        let _ = bar.suspend(|| line(&mut out, &output, json));
        Ok(())
    });
    let _ = out.flush();
    bar.finish_and_clear();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => report::failure(&error, json),
    }
}

/// One value on its own line, as JSON or in Lua-like form.
fn line(out: &mut impl Write, value: &Value, json: bool) -> std::io::Result<()> {
    if json {
        serde_json::to_writer(&mut *out, &Json(value)).map_err(std::io::Error::other)?;
        writeln!(out)
    } else {
        writeln!(out, "{value}")
    }
}
