//! The kv-memory component: `_home` in the instance's own memory, gone with the instance.

use std::sync::OnceLock;

use kv_store::Store;

/// The instance's store, kept while no bucket is open.
static STORE: OnceLock<Store> = OnceLock::new();

/// Opens the store in memory.
#[derive(Debug)]
pub struct Memory;

impl kv_provider::Open for Memory {
    fn open() -> Result<Store, String> {
        Ok(STORE.get_or_init(Store::memory).clone())
    }
}

type Provider = kv_provider::Provider<Memory>;

kv_provider::bindings::export_kv!(Provider with_types_in kv_provider::bindings);
