//! The Rust host of cu, a sandboxed Lua 5.4 compute unit shipped as one WebAssembly component.
//!
//! ```no_run
//! use cu::{Engine, UnitOptions, Value};
//!
//! let engine = Engine::new()?; // compiles the component once, then loads it from the disk cache
//! let mut unit = engine.unit(UnitOptions::default())?;
//! let outcome = unit.compute("return 2 + 2, 'two'")?;
//! assert_eq!(outcome.values, vec![Value::Integer(4), Value::from("two")]);
//! # Ok::<(), cu::Error>(())
//! ```
//!
//! Each [`Unit`] is one Lua state in its own instance of the component, with a time limit per call
//! and a memory limit, both enforced inside the component (and backed up by the host).

mod bindings;
mod cache;
mod engine;
mod error;
mod home;
mod io;
mod kv;
mod modules;
pub mod serve;
mod state;
mod unit;
mod value;

/// The README's Rust example, compiled and run as a doc test.
#[cfg(doctest)]
#[doc = include_str!("../../README.md")]
struct Readme;

pub use engine::{COMPONENT, Engine, EngineBuilder, default_cache_dir};
pub use error::{Error, LimitKind, Result, StoreErrorKind};
pub use home::{AuditEntry, Hit, HomeKind, HomeOp, HomeStats, IndexInfo, IndexKind, Snapshot, Validation};
pub use io::{IoOutcome, StreamProgress};
pub use kv_store::{
    Backend, Entries, Expectation, KeyRange, MAX_KEY, MAX_VALUE, PackedEntries, Page, Store, StoreError, Write,
};
pub use num_bigint::BigInt;
pub use unit::{Allow, MemoryStats, Outcome, Print, Unit, UnitOptions};
pub use value::{BIGINT_MARKER, Json, MAX_DEPTH, Value, from_value, to_value};
