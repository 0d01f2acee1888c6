//! The component's `kv` import, served from the unit's [`Store`]. Errors map to the WIT error in
//! one function, `to_wit`, which kv_store::wit_conversions! writes for both sides of the interface.

use wasmtime::component::Resource;

use crate::bindings::cu::unit::kv::{self as wit, Host, HostBucket};
use crate::state::State;
use kv_store::{Store, Write};

/// An open bucket: its name in the unit's store.
#[derive(Debug)]
pub struct Bucket {
    name: String,
}

kv_store::wit_conversions!(wit);

impl State {
    /// The store and the name of an open bucket.
    fn bucket(&self, bucket: &Resource<Bucket>) -> wasmtime::Result<(&Store, &str)> {
        Ok((&self.store, self.table.get(bucket)?.name.as_str()))
    }
}

type KvResult<T> = wasmtime::Result<Result<T, wit::Error>>;

impl HostBucket for State {
    fn open(&mut self, name: String) -> KvResult<Resource<Bucket>> {
        Ok(Ok(self.table.push(Bucket { name })?))
    }

    fn get(&mut self, bucket: Resource<Bucket>, key: Vec<u8>) -> KvResult<Option<Vec<u8>>> {
        let (store, name) = self.bucket(&bucket)?;
        Ok(store.get(name, &key).map_err(to_wit))
    }

    fn get_many(&mut self, bucket: Resource<Bucket>, keys: Vec<Vec<u8>>) -> KvResult<Vec<Option<Vec<u8>>>> {
        let (store, name) = self.bucket(&bucket)?;
        Ok(store.get_many(name, &keys).map_err(to_wit))
    }

    fn exists(&mut self, bucket: Resource<Bucket>, key: Vec<u8>) -> KvResult<bool> {
        let (store, name) = self.bucket(&bucket)?;
        Ok(store.get(name, &key).map(|v| v.is_some()).map_err(to_wit))
    }

    fn set(&mut self, bucket: Resource<Bucket>, key: Vec<u8>, value: Vec<u8>) -> KvResult<()> {
        let (store, name) = self.bucket(&bucket)?;
        Ok(store.commit(name, &[Write::Set(key, value)], &[]).map_err(to_wit))
    }

    fn set_many(&mut self, bucket: Resource<Bucket>, entries: Vec<wit::Entry>) -> KvResult<()> {
        let (store, name) = self.bucket(&bucket)?;
        let writes: Vec<Write> = entries.into_iter().map(|e| Write::Set(e.key, e.value)).collect();
        Ok(store.commit(name, &writes, &[]).map_err(to_wit))
    }

    fn delete(&mut self, bucket: Resource<Bucket>, key: Vec<u8>) -> KvResult<()> {
        let (store, name) = self.bucket(&bucket)?;
        Ok(store.commit(name, &[Write::Delete(key)], &[]).map_err(to_wit))
    }

    fn scan(
        &mut self,
        bucket: Resource<Bucket>,
        keys: wit::Keys,
        cursor: Option<Vec<u8>>,
        limit: u32,
    ) -> KvResult<wit::Page> {
        let (store, name) = self.bucket(&bucket)?;
        Ok(store.scan_packed(name, &range(keys), cursor.as_deref(), limit as usize).map(page).map_err(to_wit))
    }

    fn scan_reverse(
        &mut self,
        bucket: Resource<Bucket>,
        keys: wit::Keys,
        cursor: Option<Vec<u8>>,
        limit: u32,
    ) -> KvResult<wit::Page> {
        let (store, name) = self.bucket(&bucket)?;
        Ok(store.scan_reverse_packed(name, &range(keys), cursor.as_deref(), limit as usize).map(page).map_err(to_wit))
    }

    fn commit(
        &mut self,
        bucket: Resource<Bucket>,
        writes: Vec<wit::Write>,
        expected: Vec<wit::Expectation>,
    ) -> KvResult<()> {
        let (store, name) = self.bucket(&bucket)?;
        let (writes, expected) = (store_writes(writes), store_expectations(expected));
        Ok(store.commit(name, &writes, &expected).map_err(to_wit))
    }

    fn drop(&mut self, bucket: Resource<Bucket>) -> wasmtime::Result<()> {
        self.table.delete(bucket)?;
        Ok(())
    }
}

impl Host for State {}
