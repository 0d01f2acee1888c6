//! The stored form of `_home`: keys, records and values in the `kv` bucket (docs/HOME.md is the
//! specification; this is its only implementation).
//!
//! Every stored value and record starts with the format version and ends with a checksum of the
//! bytes before it, so a corrupt or foreign value is refused on read instead of being trusted.
//! Format 2 adds, to format 1, watches in table records (views.rs), compressed strings and
//! bytecode, and the catalog, index and audit keys. Format 3 changes only the checksum, from a
//! CRC-32 to XXH64's low 32 bits: in wasm, without a CRC instruction, checking every record was a
//! third of a whole table's scan (XXH3 was no better: its 128-bit multiplies are calls in wasm).
//! This build reads all three and writes format 3.

use num_bigint::BigInt;

/// The version of the stored form this build writes.
pub const FORMAT: u8 = 3;

/// The oldest version this build reads: a bucket in it is upgraded by its next commit.
pub const OLDEST_FORMAT: u8 = 1;

/// The key naming the stored form's version, written with a bucket's first commit.
pub const FORMAT_KEY: &[u8] = b"f";

/// The id of `_home` itself.
pub const ROOT: u64 = 0;

/// The longest encoded table key: the kv limit less an entry key's own prefix.
pub const MAX_KEY_CODE: usize = 4096 - ENTRY_PREFIX_LEN;

/// The largest stored value the kv store accepts.
pub const MAX_VALUE: usize = 16 * 1024 * 1024;

/// Strings and bytecode at least this long are stored compressed when that saves an eighth.
const COMPRESS_FROM: usize = 512;
/// The compression codec: LZ4's block format, the uncompressed length first (`lz4_flex`).
const LZ4: u8 = 1;

/// The prefix of every key of `_home`'s own data (records and entries; not snapshots).
pub const RECORD_TAG: u8 = b'n';
pub const ENTRY_TAG: u8 = b'e';
const SNAPSHOT_INFO_TAG: u8 = b's';
const SNAPSHOT_DATA_TAG: u8 = b'S';
/// The catalog of watched tables, their indexes and schemas (catalog.rs).
pub const CATALOG_KEY: &[u8] = b"c";
/// The prefixes of index entries (value code, then record key) and of each record's indexed code.
pub const INDEX_TAG: u8 = b'x';
pub const INDEXED_TAG: u8 = b'X';
/// The audit log's settings, and the prefix of its entries (audit.rs).
pub const AUDIT_KEY: &[u8] = b"A";
pub const AUDIT_TAG: u8 = b'l';
const ENTRY_PREFIX_LEN: usize = 9;
const CHECKSUM_LEN: usize = 4;

/// The key of a node's record.
pub fn record_key(id: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(9);
    key.push(RECORD_TAG);
    key.extend_from_slice(&id.to_be_bytes());
    key
}

/// The common prefix of every entry key of table `id`.
pub fn entry_prefix(id: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(ENTRY_PREFIX_LEN + 16);
    key.push(ENTRY_TAG);
    key.extend_from_slice(&id.to_be_bytes());
    key
}

/// The key of one entry of table `id`.
pub fn entry_key(id: u64, key: &KeyCode) -> Vec<u8> {
    let mut bytes = entry_prefix(id);
    bytes.extend_from_slice(&key.0);
    bytes
}

/// The prefix of every entry of index `index`.
pub fn index_prefix(index: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(64);
    key.push(INDEX_TAG);
    key.extend_from_slice(&index.to_be_bytes());
    key
}

/// The key of index `index`'s entry for the record `key` whose field has the code `code`.
pub fn index_key(index: u64, code: &[u8], key: &KeyCode) -> Vec<u8> {
    let mut bytes = index_prefix(index);
    bytes.extend_from_slice(code);
    bytes.extend_from_slice(&key.0);
    bytes
}

/// The prefix of the keys that hold, per record, the code index `index` holds it under.
pub fn indexed_prefix(index: u64) -> Vec<u8> {
    let mut key = Vec::with_capacity(32);
    key.push(INDEXED_TAG);
    key.extend_from_slice(&index.to_be_bytes());
    key
}

pub fn indexed_key(index: u64, key: &KeyCode) -> Vec<u8> {
    let mut bytes = indexed_prefix(index);
    bytes.extend_from_slice(&key.0);
    bytes
}

/// The key of snapshot `name`'s description; all of them share the prefix `[SNAPSHOT_INFO_TAG]`.
pub fn snapshot_info_key(name: &str) -> Vec<u8> {
    let mut key = snapshot_info_prefix();
    key.extend_from_slice(name.as_bytes());
    key
}

pub fn snapshot_info_prefix() -> Vec<u8> {
    vec![SNAPSHOT_INFO_TAG]
}

/// The prefix under which snapshot `name` keeps its copy of every key. The name's length comes
/// first, so that no snapshot's keys are a prefix range of another's.
pub fn snapshot_data_prefix(name: &str) -> Vec<u8> {
    let mut key = vec![SNAPSHOT_DATA_TAG];
    key.extend_from_slice(&(name.len() as u32).to_be_bytes());
    key.extend_from_slice(name.as_bytes());
    key
}

/// What a snapshot holds and when it was saved.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SnapshotInfo {
    pub keys: u64,
    pub bytes: u64,
    pub saved_ms: u64,
}

impl SnapshotInfo {
    pub fn encode(&self) -> Vec<u8> {
        sealed(|out| {
            for n in [self.keys, self.bytes, self.saved_ms] {
                out.extend_from_slice(&n.to_le_bytes());
            }
        })
    }

    pub fn decode(bytes: &[u8]) -> Result<SnapshotInfo, Corrupt> {
        let mut reader = Reader(unsealed(bytes)?.1);
        Ok(SnapshotInfo { keys: reader.u64()?, bytes: reader.u64()?, saved_ms: reader.u64()? })
    }
}

/// A table key as stored. Within each kind the bytes sort like the keys: integers by value, strings
/// bytewise.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct KeyCode(pub Vec<u8>);

/// A table key that can be stored.
#[derive(Clone, Debug, PartialEq)]
pub enum Key {
    Boolean(bool),
    Integer(i64),
    /// Never NaN, never integral (Lua normalizes those keys to integers).
    Float(f64),
    String(Vec<u8>),
}

impl Key {
    pub fn encode(&self) -> KeyCode {
        let mut out = Vec::with_capacity(9);
        match self {
            Key::Boolean(b) => out.extend_from_slice(&[b'b', u8::from(*b)]),
            Key::Integer(i) => {
                out.push(b'i');
                out.extend_from_slice(&((*i as u64) ^ (1 << 63)).to_be_bytes());
            }
            Key::Float(f) => {
                out.push(b'd');
                let bits = f.to_bits();
                let ordered = if bits >> 63 == 1 { !bits } else { bits ^ (1 << 63) };
                out.extend_from_slice(&ordered.to_be_bytes());
            }
            Key::String(s) => {
                out.reserve(s.len());
                out.push(b's');
                out.extend_from_slice(s);
            }
        }
        KeyCode(out)
    }

    pub fn decode(code: &[u8]) -> Result<Key, Corrupt> {
        let (&tag, rest) = code.split_first().ok_or(Corrupt("an empty key"))?;
        let word = || rest.try_into().map(u64::from_be_bytes).map_err(|_| Corrupt("a number key of the wrong length"));
        Ok(match tag {
            b'b' => match rest {
                [0] => Key::Boolean(false),
                [1] => Key::Boolean(true),
                _ => return Err(Corrupt("a malformed boolean key")),
            },
            b'i' => Key::Integer((word()? ^ (1 << 63)) as i64),
            b'd' => {
                let ordered = word()?;
                let bits = if ordered >> 63 == 1 { ordered ^ (1 << 63) } else { !ordered };
                Key::Float(f64::from_bits(bits))
            }
            b's' => Key::String(rest.to_vec()),
            _ => return Err(Corrupt("a key of an unknown kind")),
        })
    }
}

/// A stored value: what a table entry or a cell holds.
#[derive(Clone, Debug, PartialEq)]
pub enum Stored {
    /// Only in a cell: an upvalue may be nil, a table entry never is.
    Nil,
    Boolean(bool),
    Integer(i64),
    Float(f64),
    String(Vec<u8>),
    /// JSON's null (the Lua global `null`).
    Null,
    /// A stored table.
    Table(u64),
    /// A stored Lua function.
    Function(u64),
    /// A function of the sandbox's libraries, by name (`string.format`).
    Builtin(String),
    /// A bigint (bigint.rs).
    BigInt(BigInt),
    /// A small table stored by value in the entry that holds it (embed.rs): its shape and its
    /// entries in key order, each a value that refers to no node.
    Embedded(Shape, Vec<(KeyCode, Stored)>),
}

impl Stored {
    /// The node this value refers to, if any.
    pub fn node(&self) -> Option<u64> {
        match self {
            Stored::Table(id) | Stored::Function(id) => Some(*id),
            _ => None,
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Stored::Nil => out.push(b'L'),
            Stored::Boolean(false) => out.push(b'F'),
            Stored::Boolean(true) => out.push(b'T'),
            Stored::Integer(i) => tagged(out, b'I', &i.to_le_bytes()),
            Stored::Float(f) => tagged(out, b'D', &f.to_le_bytes()),
            Stored::String(s) => match compressed(s) {
                Some(packed) => {
                    out.extend_from_slice(&[b'Z', LZ4]);
                    out.extend_from_slice(&packed);
                }
                None => tagged(out, b'S', s),
            },
            Stored::Null => out.push(b'N'),
            Stored::Table(id) => tagged(out, b'R', &id.to_le_bytes()),
            Stored::Function(id) => tagged(out, b'P', &id.to_le_bytes()),
            Stored::Builtin(name) => tagged(out, b'B', name.as_bytes()),
            Stored::BigInt(value) => tagged(out, b'G', &value.to_signed_bytes_le()),
            Stored::Embedded(shape, entries) => {
                out.extend_from_slice(&[b'E', shape.byte()]);
                out.extend_from_slice(&(entries.len() as u32).to_le_bytes());
                for (key, value) in entries {
                    put_bytes(out, &key.0);
                    value.write_into(out);
                }
            }
        }
    }

    /// A value from its bytes inside a sealed entry, as [`Stored::step`] finds them.
    pub fn read(bytes: &[u8]) -> Result<Stored, Corrupt> {
        let (&tag, rest) = bytes.split_first().ok_or(Corrupt("an empty value"))?;
        let word = || rest.try_into().map_err(|_| Corrupt("a number of the wrong length"));
        Ok(match tag {
            b'L' if rest.is_empty() => Stored::Nil,
            b'F' if rest.is_empty() => Stored::Boolean(false),
            b'T' if rest.is_empty() => Stored::Boolean(true),
            b'N' if rest.is_empty() => Stored::Null,
            b'I' => Stored::Integer(i64::from_le_bytes(word()?)),
            b'D' => Stored::Float(f64::from_le_bytes(word()?)),
            b'S' => Stored::String(rest.to_vec()),
            b'Z' => match rest.split_first() {
                Some((&LZ4, packed)) => Stored::String(decompressed(packed)?),
                _ => return Err(Corrupt("a string in an unknown compression")),
            },
            b'R' => Stored::Table(u64::from_le_bytes(word()?)),
            b'P' => Stored::Function(u64::from_le_bytes(word()?)),
            b'B' => Stored::Builtin(String::from_utf8(rest.to_vec()).map_err(|_| Corrupt("a malformed builtin name"))?),
            b'G' if !rest.is_empty() => Stored::BigInt(BigInt::from_signed_bytes_le(rest)),
            b'E' => {
                let mut reader = Reader(rest);
                let shape = Shape::of(reader.byte()?)?;
                let mut entries = Vec::new();
                for _ in 0..reader.u32()? {
                    let key = KeyCode(reader.bytes()?.to_vec());
                    Key::decode(&key.0)?;
                    let value = reader.stored()?;
                    if value.node().is_some() || matches!(value, Stored::Nil) {
                        return Err(Corrupt("an embedded table holding a reference"));
                    }
                    entries.push((key, value));
                }
                if !reader.is_empty() {
                    return Err(Corrupt("an embedded table with trailing bytes"));
                }
                Stored::Embedded(shape, entries)
            }
            _ => return Err(Corrupt("a value of an unknown kind")),
        })
    }

    /// Appends this value with its length first, inside another sealed value.
    pub fn write_into(&self, out: &mut Vec<u8>) {
        let mut bytes = Vec::new();
        self.write(&mut bytes);
        put_bytes(out, &bytes);
    }

    /// The bytes of a table entry holding this value.
    pub fn encode(&self) -> Vec<u8> {
        sealed(|out| self.write(out))
    }

    pub fn decode(bytes: &[u8]) -> Result<Stored, Corrupt> {
        Stored::read(unsealed(bytes)?.1)
    }
}

/// Where one step into a value leads, read in place from the value's bytes (as [`Stored`]
/// writes them) rather than decoded: a query's scan looks at a few fields of every record.
pub enum Step<'a> {
    /// The bytes of the entry's value, in an embedded table.
    Found(&'a [u8]),
    /// The value is a stored table, whose entry is read from the store.
    Node,
    /// No such entry, or the value is not a table.
    Missing,
}

impl Stored {
    /// The value of entry `key` of the table whose bytes are `value`.
    pub fn step<'a>(value: &'a [u8], key: &KeyCode) -> Result<Step<'a>, Corrupt> {
        match value.split_first() {
            Some((b'R', _)) => Ok(Step::Node),
            Some((b'E', rest)) => {
                let mut reader = Reader(rest);
                reader.byte()?;
                for _ in 0..reader.u32()? {
                    let (at, value) = (reader.bytes()?, reader.bytes()?);
                    if at.len() == key.0.len() && super::order::compare(at, &key.0).is_eq() {
                        return Ok(Step::Found(value));
                    }
                }
                Ok(Step::Missing)
            }
            _ => Ok(Step::Missing),
        }
    }
}

fn tagged(out: &mut Vec<u8>, tag: u8, payload: &[u8]) {
    out.push(tag);
    out.extend_from_slice(payload);
}

/// How an array-or-map rule applies to a stored table (its `__jsontype`, docs/VALUES.md).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shape {
    Inferred,
    Array,
    Object,
}

impl Shape {
    fn byte(self) -> u8 {
        match self {
            Shape::Inferred => 0,
            Shape::Array => 1,
            Shape::Object => 2,
        }
    }

    fn of(byte: u8) -> Result<Shape, Corrupt> {
        match byte {
            0 => Ok(Shape::Inferred),
            1 => Ok(Shape::Array),
            2 => Ok(Shape::Object),
            _ => Err(Corrupt("a table of an unknown shape")),
        }
    }
}

/// One upvalue of a stored function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Upvalue {
    /// The unit's global table (a function's `_ENV`): whatever the globals are when it is loaded.
    Globals,
    /// A cell: a stored variable that closures sharing it share again when loaded.
    Cell(u64),
}

/// Why a change to a table's entries may change an index or break a schema: where the table is
/// on the way to the records of a watched table (views.rs). A watch that no longer holds (the
/// table moved) only costs a needless check, and is dropped when the table is next written.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Watch {
    /// On the path to watched table `table`, `position` keys below `_home`: its entry at the
    /// path's key at that position leads on.
    Path { table: u64, position: u16 },
    /// The watched table itself: each of its entries is a record.
    Table { table: u64 },
    /// `depth` keys below watched table `table` on the way from it to its record `key`'s fields
    /// (the record itself is depth 1).
    Record { table: u64, depth: u16, key: KeyCode },
}

impl Watch {
    pub fn table(&self) -> u64 {
        match self {
            Watch::Path { table, .. } | Watch::Table { table } | Watch::Record { table, .. } => *table,
        }
    }

    fn write(&self, out: &mut Vec<u8>) {
        match self {
            Watch::Path { table, position } => {
                tagged(out, b'p', &table.to_le_bytes());
                out.extend_from_slice(&position.to_le_bytes());
            }
            Watch::Table { table } => tagged(out, b't', &table.to_le_bytes()),
            Watch::Record { table, depth, key } => {
                tagged(out, b'r', &table.to_le_bytes());
                out.extend_from_slice(&depth.to_le_bytes());
                put_bytes(out, &key.0);
            }
        }
    }

    fn read(reader: &mut Reader) -> Result<Watch, Corrupt> {
        Ok(match reader.byte()? {
            b'p' => Watch::Path { table: reader.u64()?, position: reader.u16()? },
            b't' => Watch::Table { table: reader.u64()? },
            b'r' => {
                Watch::Record { table: reader.u64()?, depth: reader.u16()?, key: KeyCode(reader.bytes()?.to_vec()) }
            }
            _ => return Err(Corrupt("a watch of an unknown kind")),
        })
    }
}

/// What a node is.
#[derive(Clone, Debug, PartialEq)]
pub enum Body {
    /// A table's shape, and its watches (empty in format 1).
    Table(Shape, Vec<Watch>),
    Function {
        upvalues: Vec<Upvalue>,
        bytecode: Vec<u8>,
    },
    Cell(Stored),
}

/// A node's record: its kind and contents (a table's entries are separate keys), how many stored
/// values refer to it, and a version that every change of the node increments.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    pub refs: u64,
    pub version: u64,
    pub body: Body,
}

impl Record {
    pub fn encode(&self) -> Vec<u8> {
        sealed(|out| {
            let kind = match self.body {
                Body::Table(..) => b't',
                Body::Function { .. } => b'f',
                Body::Cell(_) => b'c',
            };
            out.push(kind);
            out.extend_from_slice(&self.refs.to_le_bytes());
            out.extend_from_slice(&self.version.to_le_bytes());
            match &self.body {
                Body::Table(shape, watches) => {
                    out.push(shape.byte());
                    if !watches.is_empty() {
                        out.extend_from_slice(&(watches.len() as u32).to_le_bytes());
                        for watch in watches {
                            watch.write(out);
                        }
                    }
                }
                Body::Function { upvalues, bytecode } => {
                    out.extend_from_slice(&(upvalues.len() as u32).to_le_bytes());
                    for upvalue in upvalues {
                        match upvalue {
                            Upvalue::Globals => out.push(0),
                            Upvalue::Cell(id) => tagged(out, 1, &id.to_le_bytes()),
                        }
                    }
                    match compressed(bytecode) {
                        Some(packed) => {
                            out.push(LZ4);
                            out.extend_from_slice(&packed);
                        }
                        None => {
                            out.push(0);
                            out.extend_from_slice(bytecode);
                        }
                    }
                }
                Body::Cell(value) => value.write(out),
            }
        })
    }

    pub fn decode(bytes: &[u8]) -> Result<Record, Corrupt> {
        let (format, contents) = unsealed(bytes)?;
        let mut reader = Reader(contents);
        let kind = reader.byte()?;
        let refs = reader.u64()?;
        let version = reader.u64()?;
        let body = match kind {
            b't' => {
                let shape = Shape::of(reader.byte()?)?;
                let mut watches = Vec::new();
                if !reader.0.is_empty() {
                    let count = reader.u32()?;
                    for _ in 0..count {
                        watches.push(Watch::read(&mut reader)?);
                    }
                }
                Body::Table(shape, watches)
            }
            b'f' => {
                let count = reader.u32()?;
                let upvalues = (0..count)
                    .map(|_| match reader.byte()? {
                        0 => Ok(Upvalue::Globals),
                        1 => Ok(Upvalue::Cell(reader.u64()?)),
                        _ => Err(Corrupt("an upvalue of an unknown kind")),
                    })
                    .collect::<Result<_, _>>()?;
                let bytecode = match format {
                    OLDEST_FORMAT => reader.0.to_vec(),
                    _ => match reader.byte()? {
                        0 => reader.0.to_vec(),
                        LZ4 => decompressed(reader.0)?,
                        _ => return Err(Corrupt("bytecode in an unknown compression")),
                    },
                };
                Body::Function { upvalues, bytecode }
            }
            b'c' => Body::Cell(Stored::read(reader.0)?),
            _ => return Err(Corrupt("a node of an unknown kind")),
        };
        if matches!(body, Body::Table(..)) && !reader.0.is_empty() {
            return Err(Corrupt("a table record with trailing bytes"));
        }
        Ok(Record { refs, version, body })
    }
}

/// The bytes compression saves in a stored value or record (0 when it is not compressed).
pub fn saved(bytes: &[u8]) -> u64 {
    let Ok((format, contents)) = unsealed(bytes) else { return 0 };
    // The uncompressed length that follows a compressed string's or bytecode's marker.
    let after = |at: usize| -> u64 {
        let length = contents.get(at..at + 4).map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]));
        (length as u64).saturating_sub((contents.len() - at) as u64)
    };
    match contents {
        [b'Z', LZ4, ..] => after(2),
        [b'f', ..] if format > OLDEST_FORMAT => match Record::decode(bytes) {
            Ok(Record { body: Body::Function { upvalues, .. }, .. }) => {
                // kind, refs, version, upvalue count, the upvalues, then the compression byte.
                let at =
                    1 + 8 + 8 + 4 + upvalues.iter().map(|u| if *u == Upvalue::Globals { 1 } else { 9 }).sum::<usize>();
                if contents.get(at) == Some(&LZ4) { after(at + 1) } else { 0 }
            }
            _ => 0,
        },
        _ => 0,
    }
}

/// Appends `bytes` with their length first.
pub fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out.extend_from_slice(bytes);
}

/// `bytes` LZ4-compressed, when they are long enough to try and it saves an eighth.
fn compressed(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.len() < COMPRESS_FROM {
        return None;
    }
    let packed = lz4_flex::block::compress_prepend_size(bytes);
    (packed.len() <= bytes.len() - bytes.len() / 8).then_some(packed)
}

fn decompressed(packed: &[u8]) -> Result<Vec<u8>, Corrupt> {
    // The length comes first: refuse a damaged one before allocating it.
    let length = packed.get(..4).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize);
    if length.is_none_or(|n| n > MAX_VALUE) {
        return Err(Corrupt("a compressed value of an impossible length"));
    }
    lz4_flex::block::decompress_size_prepended(packed)
        .map_err(|_| Corrupt("a compressed value that does not decompress"))
}

/// Reads the fields of stored bytes in order.
pub struct Reader<'a>(pub &'a [u8]);

impl<'a> Reader<'a> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N], Corrupt> {
        let (head, rest) = self.0.split_at_checked(N).ok_or(Corrupt("a record cut short"))?;
        self.0 = rest;
        Ok(head.try_into().unwrap_or([0; N]))
    }

    pub fn byte(&mut self) -> Result<u8, Corrupt> {
        Ok(self.take::<1>()?[0])
    }

    pub fn u16(&mut self) -> Result<u16, Corrupt> {
        Ok(u16::from_le_bytes(self.take()?))
    }

    pub fn u32(&mut self) -> Result<u32, Corrupt> {
        Ok(u32::from_le_bytes(self.take()?))
    }

    pub fn u64(&mut self) -> Result<u64, Corrupt> {
        Ok(u64::from_le_bytes(self.take()?))
    }

    /// Bytes written by [`put_bytes`].
    pub fn bytes(&mut self) -> Result<&'a [u8], Corrupt> {
        let length = self.u32()? as usize;
        let (head, rest) = self.0.split_at_checked(length).ok_or(Corrupt("a record cut short"))?;
        self.0 = rest;
        Ok(head)
    }

    /// A value written by [`Stored::write_into`].
    pub fn stored(&mut self) -> Result<Stored, Corrupt> {
        Stored::read(self.bytes()?)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// The first format whose checksum is XXH64's.
const XXH64_FROM: u8 = 3;

/// The checksum of the bytes before it, as the format they were written in has it.
fn checksum(format: u8, bytes: &[u8]) -> u32 {
    if format >= XXH64_FROM { xxhash_rust::xxh64::xxh64(bytes, 0) as u32 } else { crc32fast::hash(bytes) }
}

/// Format version, contents, checksum.
pub fn sealed(write: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::with_capacity(24);
    out.push(FORMAT);
    write(&mut out);
    let sum = checksum(FORMAT, &out);
    out.extend_from_slice(&sum.to_le_bytes());
    out
}

/// The format and contents of sealed bytes, once their version and checksum are right.
pub fn unsealed(bytes: &[u8]) -> Result<(u8, &[u8]), Corrupt> {
    if bytes.len() < 1 + CHECKSUM_LEN {
        return Err(Corrupt("too short to be a stored value"));
    }
    let (body, sum) = bytes.split_at(bytes.len() - CHECKSUM_LEN);
    // As a number: comparing the bytes would be a call to wasm's memcmp for every value read.
    let sum = sum.try_into().map_or(0, u32::from_le_bytes);
    let damaged = Corrupt("its checksum does not match: the bytes were damaged");
    match body[0] {
        v @ OLDEST_FORMAT..=FORMAT if checksum(v, body) == sum => Ok((v, &body[1..])),
        OLDEST_FORMAT..=FORMAT => Err(damaged),
        // Sealed as a format of this build seals would be: not damaged, but not ours to read.
        v if checksum(FORMAT, body) == sum || checksum(OLDEST_FORMAT, body) == sum => Err(Corrupt(if v > FORMAT {
            "it was written by a newer version of cu"
        } else {
            "it is in an unknown format"
        })),
        _ => Err(damaged),
    }
}

/// Why stored bytes were refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Corrupt(pub &'static str);

impl std::fmt::Display for Corrupt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0)
    }
}
