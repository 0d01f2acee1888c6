//! The cu compute unit: Lua 5.4 in a sandbox, exported as the `cu:unit` component.
//!
//! Every host (wasmtime, jco in Node and browsers) runs this same code; anything a host would
//! otherwise have to re-implement — the library set, limits, value conversion, error mapping —
//! lives here.

mod bindings {
    wit_bindgen::generate!({
        path: "../wit",
        world: "cu",
    });
}

mod bigint;
mod convert;
mod errors;
mod home;
mod home_store;
mod io;
mod limits;
mod output;
mod run;
mod sandbox;
mod unit;

/// Every Lua table, string, closure and bigint is a block from this allocator (through mlua's
/// accounting allocator): measured against wasi-libc's dlmalloc, making a bigint or an empty table
/// is about 5% faster.
#[global_allocator]
static ALLOCATOR: talc::wasm::WasmDynamicTalc = talc::wasm::new_wasm_dynamic_allocator();

pub(crate) struct Component;

impl bindings::exports::cu::unit::compute::Guest for Component {
    type Unit = unit::Unit;
}

bindings::export!(Component with_types_in bindings);
