//! Runs the cross-host acceptance cases in tests/cases/*.toml through the real component.

mod common;

use common::cases::{Case, cases_dir, check_error, load_cases};
use cu::Value;

/// Checks one case; returns what went wrong, if anything.
fn check(case: &Case) -> Result<(), String> {
    let options = case.options().print(cu::Print::Capture);
    let mut unit = common::unit_with(options);
    for (name, source) in &case.modules {
        unit.add_module(name, source).map_err(|e| format!("add_module({name}): {e}"))?;
    }
    let result = unit.compute(&case.code);
    match (&case.error, result) {
        (None, Ok(outcome)) => {
            // As the hosts print them: through `__tostring` where a value has it.
            let shown: Vec<String> = outcome
                .values
                .iter()
                .zip(&outcome.shown)
                .map(|(value, shown)| shown.clone().unwrap_or_else(|| value.to_string()))
                .collect();
            if let Some(expected) = case.returns.as_ref().filter(|expected| **expected != shown) {
                return Err(format!("returned {shown:?}, expected {expected:?}"));
            }
            let printed = String::from_utf8_lossy(&outcome.printed);
            if let Some(expected) = case.printed.as_ref().filter(|expected| **expected != printed) {
                return Err(format!("printed {printed:?}, expected {expected:?}"));
            }
            if let Some(expected) = case.instructions.filter(|expected| *expected != outcome.instructions) {
                return Err(format!("ran {} instructions, expected {expected}", outcome.instructions));
            }
        }
        (None, Err(error)) => return Err(format!("failed: {error:?}")),
        (Some(kind), Ok(outcome)) => {
            return Err(format!("expected a {kind} error, returned {:?}", outcome.values));
        }
        (Some(kind), Err(error)) => check_error(case, kind, &error)?,
    }
    let alive = unit.compute("return 1").map_err(|e| format!("afterwards `return 1` failed: {e:?}"))?;
    if alive.values != [Value::Integer(1)] {
        return Err(format!("afterwards `return 1` gave {:?}", alive.values));
    }
    Ok(())
}

#[test]
fn acceptance_cases() {
    let cases = load_cases();
    assert!(cases.len() > 50, "the case files were not all found in {}", cases_dir().display());
    let failures: Vec<String> = cases
        .iter()
        .filter_map(|(file, case)| check(case).err().map(|why| format!("{file}: {}: {why}", case.name)))
        .collect();
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), cases.len(), failures.join("\n"));
}
