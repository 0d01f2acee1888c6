//! A store of each backend for tests that run on every one, and units on them.

use std::time::Duration;

use cu::{Store, Unit, UnitOptions, Value};

/// A store of each backend, with whatever keeps it alive (a temporary directory, a server).
pub struct Backend {
    pub store: Store,
    _keep: Box<dyn std::any::Any>,
}

pub fn memory() -> Backend {
    Backend { store: Store::memory(), _keep: Box::new(()) }
}

pub fn sqlite() -> Backend {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let store = Store::sqlite(dir.path().join("home.sqlite"));
    Backend { store, _keep: Box::new(dir) }
}

pub fn redis() -> Backend {
    let server = super::redis_server::RedisServer::start();
    let store = Store::redis(&server.url(0)).expect("a Redis URL");
    Backend { store, _keep: Box::new(server) }
}

/// A unit on `store`, as a new process would make it.
pub fn unit_on(store: &Store) -> Unit {
    super::unit_with(
        UnitOptions::default().memory_limit(64 << 20).time_limit(Some(Duration::from_secs(2))).store(store.clone()),
    )
}

pub fn run(unit: &mut Unit, code: &str) -> Vec<Value> {
    super::values(unit, code)
}

pub fn one(unit: &mut Unit, code: &str) -> Value {
    run(unit, code).into_iter().next().unwrap_or(Value::Nil)
}

/// Runs each test body once per backend, as `<backend>_backend::<test>`.
#[macro_export]
macro_rules! on_every_backend {
    ($($name:ident($store:ident) $body:block)*) => {
        mod memory_backend { use super::*; $( #[test] fn $name() { let b = common::backends::memory(); let $store = &b.store; $body } )* }
        mod sqlite_backend { use super::*; $( #[test] fn $name() { let b = common::backends::sqlite(); let $store = &b.store; $body } )* }
        mod redis_backend { use super::*; $( #[test] fn $name() { let b = common::backends::redis(); let $store = &b.store; $body } )* }
    };
}
