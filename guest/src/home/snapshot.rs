//! Whole-`_home` operations on the store: statistics and named snapshots. A snapshot is a copy of
//! every record and entry, and of the catalog and index entries that go with them, under its own
//! prefix of the same bucket (docs/HOME.md), so saving and restoring are each one atomic commit.
//! Both read in several pages, so both expect what they read to be unchanged when they commit: a
//! concurrent writer makes them fail with a conflict rather than save a mix of two states. (Every
//! commit that changes an index changes a record too, and the catalog is a key of its own.) The
//! audit log is not part of a snapshot.

use std::time::{SystemTime, UNIX_EPOCH};

use super::codec::{self, Body, CATALOG_KEY, ENTRY_TAG, INDEX_TAG, INDEXED_TAG, RECORD_TAG, Record, SnapshotInfo};
use super::store::Entries;
use super::{HomeError, Inner};
use crate::bindings::cu::unit::kv::{Entry, Expectation, Keys, Write};

/// What `_home` holds.
#[derive(Debug, Default)]
pub struct Stats {
    pub tables: u64,
    pub functions: u64,
    pub entries: u64,
    pub bytes: u64,
    /// Bytes compression saves.
    pub saved: u64,
}

fn corrupt(what: &str, error: codec::Corrupt) -> HomeError {
    HomeError::Corrupt(format!("{what} cannot be read: {error}"))
}

fn size(entries: &Entries) -> u64 {
    entries.iter().map(|(k, v)| (k.len() + v.len()) as u64).sum()
}

/// The prefixes of `_home`'s data: records, entries, the catalog, index entries and indexed codes.
const DATA: [u8; 5] = [RECORD_TAG, ENTRY_TAG, CATALOG_KEY[0], INDEX_TAG, INDEXED_TAG];

impl Inner {
    /// Every key of `_home`'s data, with full keys.
    fn everything(&mut self) -> Result<Entries, HomeError> {
        let mut all = Vec::new();
        for tag in DATA {
            all.extend(self.store.scan_prefix(&[tag])?.into_iter().map(|(mut key, value)| {
                key.insert(0, tag);
                (key, value)
            }));
        }
        Ok(all)
    }

    pub(super) fn stats(&mut self) -> Result<Stats, HomeError> {
        let mut stats = Stats::default();
        let everything = self.everything()?;
        stats.bytes = size(&everything);
        for (key, value) in &everything {
            stats.saved += codec::saved(value);
            match key[0] {
                ENTRY_TAG => stats.entries += 1,
                RECORD_TAG => match Record::decode(value).map_err(|e| corrupt("a record of _home", e))?.body {
                    Body::Table(..) => stats.tables += 1,
                    Body::Function { .. } => stats.functions += 1,
                    Body::Cell(_) => {}
                },
                _ => {}
            }
        }
        // `_home` itself before its first write.
        stats.tables = stats.tables.max(1);
        Ok(stats)
    }

    pub(super) fn save_snapshot(&mut self, name: &str) -> Result<SnapshotInfo, HomeError> {
        let everything = self.everything()?;
        let prefix = codec::snapshot_data_prefix(name);
        let saved_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
        let info = SnapshotInfo { keys: everything.len() as u64, bytes: size(&everything), saved_ms };
        // Every commit that changes a node or its entries changes the node's record (its version),
        // so the records alone show whether the copy is still one state.
        let mut expected: Vec<Expectation> = everything
            .iter()
            .filter(|(key, _)| key[0] == RECORD_TAG)
            .map(|(key, value)| Expectation { key: key.clone(), value: Some(value.clone()) })
            .collect();
        let catalog = everything.iter().find(|(key, _)| key == CATALOG_KEY).map(|(_, value)| value.clone());
        expected.push(Expectation { key: CATALOG_KEY.to_vec(), value: catalog });
        let mut writes = Vec::with_capacity(everything.len() + 2);
        writes.push(Write::DeleteKeys(Keys::Prefix(prefix.clone())));
        for (key, value) in everything {
            let mut copy = prefix.clone();
            copy.extend_from_slice(&key);
            writes.push(Write::Set(Entry { key: copy, value }));
        }
        writes.push(Write::Set(Entry { key: codec::snapshot_info_key(name), value: info.encode() }));
        writes.extend(self.audit_write("saveSnapshot", vec![name.to_string()], None)?);
        self.store.commit(writes, expected)?;
        Ok(info)
    }

    /// Snapshot `name`'s description, decoded and as stored.
    fn snapshot_info(&mut self, name: &str) -> Result<Option<(SnapshotInfo, Expectation)>, HomeError> {
        let key = codec::snapshot_info_key(name);
        let Some(bytes) = self.store.get_many(std::slice::from_ref(&key))?.into_iter().next().flatten() else {
            return Ok(None);
        };
        let info = SnapshotInfo::decode(&bytes).map_err(|e| corrupt(&format!("snapshot '{name}'"), e))?;
        Ok(Some((info, Expectation { key, value: Some(bytes) })))
    }

    pub(super) fn restore_snapshot(&mut self, name: &str) -> Result<SnapshotInfo, HomeError> {
        let (info, unchanged) = self.snapshot_info(name)?.ok_or_else(|| HomeError::NoSnapshot(name.to_string()))?;
        let copy = self.store.scan_prefix(&codec::snapshot_data_prefix(name))?;
        let mut writes = Vec::with_capacity(copy.len() + DATA.len() + 1);
        writes.extend(DATA.iter().map(|tag| Write::DeleteKeys(Keys::Prefix(vec![*tag]))));
        writes.extend(copy.into_iter().map(|(key, value)| Write::Set(Entry { key, value })));
        writes.extend(self.audit_write("restoreSnapshot", vec![name.to_string()], None)?);
        // Saving the snapshot again while it is read changes its description's time.
        self.store.commit(writes, vec![unchanged])?;
        Ok(info)
    }

    pub(super) fn list_snapshots(&mut self) -> Result<Vec<(String, SnapshotInfo)>, HomeError> {
        self.store
            .scan_prefix(&codec::snapshot_info_prefix())?
            .into_iter()
            .map(|(name, bytes)| {
                let name = String::from_utf8_lossy(&name).into_owned();
                let info = SnapshotInfo::decode(&bytes).map_err(|e| corrupt(&format!("snapshot '{name}'"), e))?;
                Ok((name, info))
            })
            .collect()
    }

    pub(super) fn delete_snapshot(&mut self, name: &str) -> Result<bool, HomeError> {
        if self.snapshot_info(name)?.is_none() {
            return Ok(false);
        }
        let mut writes = vec![
            Write::DeleteKeys(Keys::Prefix(codec::snapshot_data_prefix(name))),
            Write::Delete(codec::snapshot_info_key(name)),
        ];
        writes.extend(self.audit_write("deleteSnapshot", vec![name.to_string()], None)?);
        self.store.commit(writes, Vec::new())?;
        Ok(true)
    }
}
