//! What the integration tests share: one engine, built once per test binary, and Redis servers.

#![allow(dead_code)] // each test binary uses a different part

pub mod backends;
pub mod cases;
pub mod hooked;
pub mod http;
pub mod redis_server;

use std::path::Path;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use cu::{Engine, Unit, UnitOptions, Value};

/// The engine every test uses; its compiled-component cache lives under the system temp dir.
pub fn engine() -> &'static Engine {
    static ENGINE: OnceLock<Engine> = OnceLock::new();
    ENGINE.get_or_init(|| {
        Engine::builder().cache_dir(std::env::temp_dir().join("cu-test-cache")).build().expect("the engine builds")
    })
}

/// A unit with test-sized limits: 64 MiB of Lua heap, 2 s per call.
pub fn unit() -> Unit {
    unit_with(UnitOptions::default().memory_limit(64 << 20).time_limit(Some(Duration::from_secs(2))))
}

pub fn unit_with(options: UnitOptions) -> Unit {
    engine().unit(options).expect("a unit starts")
}

/// Runs `code` and returns its values, panicking with the error if it fails.
pub fn values(unit: &mut Unit, code: &str) -> Vec<Value> {
    match unit.compute(code) {
        Ok(outcome) => outcome.values,
        Err(error) => panic!("`{code}` failed: {error:?}"),
    }
}

/// Asserts the unit still works after whatever happened to it.
pub fn assert_alive(unit: &mut Unit) {
    assert_eq!(values(unit, "return 1"), vec![Value::Integer(1)], "the unit no longer answers");
}

/// The built `cu` binary, caching its compiled component in `cache`, on the default store rather
/// than one the environment running the tests may name in `CU_STORE`.
pub fn cu_command(cache: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cu"));
    command.env("CU_CACHE_DIR", cache).env_remove("CU_STORE");
    command
}

/// Splits a command line the way a POSIX shell would for the simple quoting the README uses.
pub fn shell_words(line: &str) -> Vec<String> {
    let (mut words, mut word, mut quote, mut started) = (Vec::new(), String::new(), None, false);
    for c in line.chars() {
        match (quote, c) {
            (None, '\'' | '"') => (quote, started) = (Some(c), true),
            (Some(q), c) if c == q => quote = None,
            (None, ' ') if started => {
                words.push(std::mem::take(&mut word));
                started = false;
            }
            (None, ' ') => {}
            (_, c) => {
                word.push(c);
                started = true;
            }
        }
    }
    if started {
        words.push(word);
    }
    words
}

pub fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).expect("README.md")
}
