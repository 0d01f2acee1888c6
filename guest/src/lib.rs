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
mod chunks;
mod convert;
mod errors;
mod home;
mod home_store;
mod io;
mod limits;
mod output;
mod require;
mod retry;
mod run;
mod sandbox;
mod unit;

pub(crate) struct Component;

impl bindings::exports::cu::unit::compute::Guest for Component {
    type Unit = unit::Unit;
}

bindings::export!(Component with_types_in bindings);
