//! Generated bindings for the `cu:unit` world, kept sealed inside the crate: the public API speaks
//! in this crate's own types.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "cu",
});
