//! Generated bindings for the `cu:unit` world, kept sealed inside the crate: the public API speaks
//! in this crate's own types.

wasmtime::component::bindgen!({
    path: "../wit",
    world: "cu",
    // Host functions may fail without a WIT error (a stale resource handle): that traps.
    imports: { default: trappable },
    with: {
        "cu:unit/kv.bucket": crate::kv::Bucket,
    },
});
