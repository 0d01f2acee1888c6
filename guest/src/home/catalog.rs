//! The catalog: which tables of `_home` are watched, and for what — their indexes and schema. It
//! is one sealed value under the key `c`, read when a call needs it (a watch fired, a query
//! plans, a host lists indexes) and written by the commit that changes it, which expects it
//! unchanged since it was read.
//!
//! A watched table is named by its path from `_home`, not by its node: replacing
//! `_home.appUsers` with another table keeps its indexes, rebuilt from the new records.

use super::codec::{Corrupt, Key, KeyCode, Reader, put_bytes, sealed, unsealed};
use super::schema::Schema;

/// How an index was asked to be kept. Both are the same ordered index here: a range of `kv` keys
/// serves equality as well as ranges, so `hash` gives up nothing (docs/HOME.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexKind {
    Btree,
    Hash,
}

impl IndexKind {
    pub fn name(self) -> &'static str {
        match self {
            IndexKind::Btree => "btree",
            IndexKind::Hash => "hash",
        }
    }

    pub fn parse(name: &str) -> Option<IndexKind> {
        match name {
            "btree" => Some(IndexKind::Btree),
            "hash" => Some(IndexKind::Hash),
            _ => None,
        }
    }
}

/// An index on one field of every record of a watched table.
#[derive(Clone, Debug, PartialEq)]
pub struct Index {
    pub id: u64,
    /// The field's path inside a record (`address.city` is two keys).
    pub field: Vec<KeyCode>,
    pub kind: IndexKind,
}

/// A table whose records are indexed or checked.
#[derive(Clone, Debug, PartialEq)]
pub struct Watched {
    pub id: u64,
    /// Its path from `_home`.
    pub path: Vec<KeyCode>,
    pub indexes: Vec<Index>,
    pub schema: Option<Schema>,
}

impl Watched {
    /// Whether a change of key `key`, `depth` keys below the table on the way to a record's
    /// fields, can change what an index or the schema sees of that record.
    pub fn depends_on(&self, depth: u16, key: &KeyCode) -> bool {
        let depth = depth as usize;
        self.indexes.iter().any(|index| depth >= 1 && index.field.get(depth - 1) == Some(key))
            || (depth == 1 && self.schema.as_ref().is_some_and(|schema| schema.has_field(key)))
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Catalog {
    pub tables: Vec<Watched>,
}

impl Catalog {
    pub fn table(&self, id: u64) -> Option<&Watched> {
        self.tables.iter().find(|t| t.id == id)
    }

    pub fn table_at(&self, path: &[KeyCode]) -> Option<&Watched> {
        self.tables.iter().find(|t| t.path == path)
    }

    pub fn table_at_mut(&mut self, path: &[KeyCode]) -> Option<&mut Watched> {
        self.tables.iter_mut().find(|t| t.path == path)
    }

    /// Drops the tables left with nothing to watch for.
    pub fn prune(&mut self) {
        self.tables.retain(|t| !t.indexes.is_empty() || t.schema.is_some());
    }

    pub fn encode(&self) -> Vec<u8> {
        sealed(|out| {
            out.extend_from_slice(&(self.tables.len() as u32).to_le_bytes());
            for table in &self.tables {
                out.extend_from_slice(&table.id.to_le_bytes());
                put_path(out, &table.path);
                out.extend_from_slice(&(table.indexes.len() as u32).to_le_bytes());
                for index in &table.indexes {
                    out.extend_from_slice(&index.id.to_le_bytes());
                    out.push(match index.kind {
                        IndexKind::Btree => 0,
                        IndexKind::Hash => 1,
                    });
                    put_path(out, &index.field);
                }
                match &table.schema {
                    Some(schema) => {
                        out.push(1);
                        schema.write(out);
                    }
                    None => out.push(0),
                }
            }
        })
    }

    pub fn decode(bytes: &[u8]) -> Result<Catalog, Corrupt> {
        let mut reader = Reader(unsealed(bytes)?.1);
        let mut tables = Vec::new();
        for _ in 0..reader.u32()? {
            let id = reader.u64()?;
            let path = read_path(&mut reader)?;
            let mut indexes = Vec::new();
            for _ in 0..reader.u32()? {
                let id = reader.u64()?;
                let kind = match reader.byte()? {
                    0 => IndexKind::Btree,
                    1 => IndexKind::Hash,
                    _ => return Err(Corrupt("an index of an unknown kind")),
                };
                indexes.push(Index { id, field: read_path(&mut reader)?, kind });
            }
            let schema = match reader.byte()? {
                0 => None,
                1 => Some(Schema::read(&mut reader)?),
                _ => return Err(Corrupt("a malformed catalog")),
            };
            tables.push(Watched { id, path, indexes, schema });
        }
        if !reader.is_empty() {
            return Err(Corrupt("a catalog with trailing bytes"));
        }
        Ok(Catalog { tables })
    }
}

fn put_path(out: &mut Vec<u8>, path: &[KeyCode]) {
    out.extend_from_slice(&(path.len() as u32).to_le_bytes());
    for key in path {
        put_bytes(out, &key.0);
    }
}

fn read_path(reader: &mut Reader) -> Result<Vec<KeyCode>, Corrupt> {
    (0..reader.u32()?)
        .map(|_| {
            let code = KeyCode(reader.bytes()?.to_vec());
            Key::decode(&code.0)?;
            Ok(code)
        })
        .collect()
}

/// A path of keys as text: `appUsers.score`, `list[2]`.
pub fn display(path: &[KeyCode]) -> String {
    let mut text = String::new();
    for code in path {
        let segment = Key::decode(&code.0).map(|key| super::node::segment(&key)).unwrap_or_else(|_| "[?]".into());
        text.push_str(&segment);
    }
    text.strip_prefix('.').map(str::to_string).unwrap_or(text)
}
