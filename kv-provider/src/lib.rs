//! The `kv` interface of wit/kv.wit, exported by a component over a [`Store`]: what the provider
//! components (kv-memory, kv-sqlite) share. Each names the store it opens with [`Open`] and
//! exports it with [`export_kv!`]:
//!
//! ```ignore
//! struct Memory;
//! impl kv_provider::Open for Memory {
//!     fn open() -> Result<kv_store::Store, String> { Ok(kv_store::Store::memory()) }
//! }
//! type Provider = kv_provider::Provider<Memory>;
//! kv_provider::export_kv!(Provider with_types_in kv_provider::bindings);
//! ```

use std::marker::PhantomData;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use kv_store::{Expectation, Store, Write};

/// The bindings of world `kv-provider`; `export_kv!` exports an implementation of them.
#[allow(missing_docs, missing_debug_implementations, unsafe_op_in_unsafe_fn, clippy::all)]
pub mod bindings {
    wit_bindgen::generate!({
        world: "kv-provider",
        path: "../wit",
        pub_export_macro: true,
        export_macro_name: "export_kv",
        default_bindings_module: "kv_provider::bindings",
    });
}

use bindings::exports::cu::unit::kv as wit;

/// How a provider opens its store: when a bucket is opened and no other is open.
pub trait Open: 'static {
    /// The store; an error is reported to the component that opens a bucket. A provider whose
    /// data lives in the store itself (memory) keeps it and gives a clone.
    fn open() -> Result<Store, String>;
}

/// The `kv` export over the store `O` opens.
#[derive(Debug)]
pub struct Provider<O>(PhantomData<O>);

/// An open bucket: its name in the provider's store.
#[derive(Debug)]
pub struct Bucket<O> {
    name: String,
    store: Arc<Store>,
    open: PhantomData<O>,
}

/// The store the open buckets share, held by them alone: it closes (a SQLite file is unlocked)
/// when the last bucket is dropped, which cu does when its unit is dropped. A component instance
/// may never be torn down in a way its code sees, so this is the one moment to let go of a file.
static OPEN: Mutex<Weak<Store>> = Mutex::new(Weak::new());

/// The store the open buckets share, opened if none is open.
fn shared<O: Open>() -> Result<Arc<Store>, String> {
    let mut open = OPEN.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(store) = open.upgrade() {
        return Ok(store);
    }
    let store = Arc::new(O::open()?);
    *open = Arc::downgrade(&store);
    Ok(store)
}

kv_store::wit_conversions!(wit);

impl<O: Open> wit::Guest for Provider<O> {
    type Bucket = Bucket<O>;
}

impl<O: Open> Bucket<O> {
    fn commit(&self, writes: &[Write], expected: &[Expectation]) -> Result<(), wit::Error> {
        self.store.commit(&self.name, writes, expected).map_err(to_wit)
    }
}

impl<O: Open> wit::GuestBucket for Bucket<O> {
    fn open(name: String) -> Result<wit::Bucket, wit::Error> {
        let store = shared::<O>().map_err(wit::Error::Unavailable)?;
        Ok(wit::Bucket::new(Bucket::<O> { name, store, open: PhantomData }))
    }

    fn get(&self, key: Vec<u8>) -> Result<Option<Vec<u8>>, wit::Error> {
        self.store.get(&self.name, &key).map_err(to_wit)
    }

    fn get_many(&self, keys: Vec<Vec<u8>>) -> Result<Vec<Option<Vec<u8>>>, wit::Error> {
        self.store.get_many(&self.name, &keys).map_err(to_wit)
    }

    fn exists(&self, key: Vec<u8>) -> Result<bool, wit::Error> {
        Ok(self.get(key)?.is_some())
    }

    fn set(&self, key: Vec<u8>, value: Vec<u8>) -> Result<(), wit::Error> {
        self.commit(&[Write::Set(key, value)], &[])
    }

    fn set_many(&self, entries: Vec<wit::Entry>) -> Result<(), wit::Error> {
        let writes: Vec<Write> = entries.into_iter().map(|e| Write::Set(e.key, e.value)).collect();
        self.commit(&writes, &[])
    }

    fn delete(&self, key: Vec<u8>) -> Result<(), wit::Error> {
        self.commit(&[Write::Delete(key)], &[])
    }

    fn scan(&self, keys: wit::Keys, cursor: Option<Vec<u8>>, limit: u32) -> Result<wit::Page, wit::Error> {
        let range = range(keys);
        self.store.scan_packed(&self.name, &range, cursor.as_deref(), limit as usize).map(page).map_err(to_wit)
    }

    fn scan_reverse(&self, keys: wit::Keys, cursor: Option<Vec<u8>>, limit: u32) -> Result<wit::Page, wit::Error> {
        let range = range(keys);
        self.store.scan_reverse_packed(&self.name, &range, cursor.as_deref(), limit as usize).map(page).map_err(to_wit)
    }

    fn commit(&self, writes: Vec<wit::Write>, expected: Vec<wit::Expectation>) -> Result<(), wit::Error> {
        let (writes, expected) = (store_writes(writes), store_expectations(expected));
        Bucket::commit(self, &writes, &expected)
    }
}
