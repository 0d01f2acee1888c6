//! Any `Serialize` type straight into the component's packed nodes, and [`Value`]'s own `Serialize`.
//!
//! serde's data model maps onto Lua's: integers that fit 64 bits are integers, floats floats, `str`
//! and `bytes` strings, `None` and `()` nil, sequences and tuples arrays, maps and structs maps,
//! unit variants the variant's name, other enum variants `{Variant = content}`. Writing nodes
//! directly, with no [`Value`] tree in between, keeps a large input to one pass.

use packed::{Container, Node, Reader};
use serde::ser::{self, Serialize, SerializeMap, SerializeSeq, Serializer};

use super::Result;
use super::{BIGINT_MARKER, MAX_DEPTH, Mismatch, Value, key_segment, marker};

/// Converts any `Serialize` value. `root` names it in errors (e.g. `_io.input`).
///
/// ```
/// # use value::{Value, to_value};
/// #[derive(serde::Serialize)]
/// struct Point { x: i64, y: f64 }
/// let value = to_value(&Point { x: 1, y: 2.0 }, "point")?;
/// assert_eq!(value.to_string(), "{x = 1, y = 2.0}");
/// # Ok::<(), value::Conversion>(())
/// ```
pub fn to_value<T: Serialize + ?Sized>(value: &T, root: &str) -> Result<Value> {
    Value::from_packed(&to_packed(value, root)?)
}

/// Packs any `Serialize` value into nodes (wit/types.wit's `value`). `root` names it in errors.
pub fn to_packed<T: Serialize + ?Sized>(value: &T, root: &str) -> Result<Vec<u8>> {
    let mut writer = Writer { out: Vec::new(), depth: 0 };
    value.serialize(&mut writer).map_err(|m| m.into_error(root))?;
    Ok(writer.out)
}

/// Lossless in serde's data model: strings that are not UTF-8 are serialized as bytes, and maps
/// keep keys of every type. For JSON text, use [`Json`](super::Json).
impl Serialize for Value {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Nil => serializer.serialize_unit(),
            Value::Boolean(b) => serializer.serialize_bool(*b),
            Value::Integer(i) => serializer.serialize_i64(*i),
            Value::Float(x) => serializer.serialize_f64(*x),
            Value::String(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => serializer.serialize_str(text),
                Err(_) => serializer.serialize_bytes(bytes),
            },
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(item)?;
                }
                seq.end()
            }
            Value::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
            Value::BigInt(value) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry(BIGINT_MARKER, &value.to_string())?;
                map.end()
            }
        }
    }
}

struct Writer {
    out: Vec<u8>,
    /// Containers open around the next node.
    depth: usize,
}

impl Writer {
    fn push(&mut self, node: Node<'_>) -> Result<(), Mismatch> {
        packed::push(&mut self.out, node).map_err(|_| Mismatch::new("is longer than 4 GiB"))
    }

    /// An integer: a Lua integer when it fits 64 bits, a bigint otherwise (`u64`, `i128`, `u128`).
    fn integer<T: TryInto<i64> + std::fmt::Display + Copy>(&mut self, v: T) -> Result<(), Mismatch> {
        match v.try_into() {
            Ok(i) => self.push(Node::Integer(i)),
            Err(_) => self.push(Node::Bigint(v.to_string().as_bytes())),
        }
    }

    fn bytes(&mut self, bytes: &[u8]) -> Result<(), Mismatch> {
        self.push(Node::String(bytes))
    }

    /// Opens a container whose count is filled in when it ends.
    fn open(&mut self, kind: Container, variant: Option<&'static str>) -> Result<Compound<'_>, Mismatch> {
        if self.depth >= MAX_DEPTH {
            return Err(Mismatch::new(format!("nests tables deeper than {MAX_DEPTH} levels")));
        }
        if let Some(name) = variant {
            self.push(Node::Map(1))?;
            self.bytes(name.as_bytes())?;
        }
        self.depth += 1;
        let start = self.out.len();
        self.push(match kind {
            Container::Array => Node::Array(0),
            Container::Map => Node::Map(0),
        })?;
        Ok(Compound { writer: self, kind, start, count: 0, key: None })
    }

    /// `{variant = content}`.
    fn variant<T: Serialize + ?Sized>(&mut self, variant: &'static str, content: &T) -> Result<(), Mismatch> {
        self.push(Node::Map(1))?;
        self.bytes(variant.as_bytes())?;
        content.serialize(&mut *self).map_err(|m| m.at(|| format!(".{variant}")))
    }
}

/// Every integer type goes through `Writer::integer`, which checks that it fits 64 bits.
macro_rules! integer_methods {
    ($($method:ident($t:ty))*) => {
        $(fn $method(self, v: $t) -> Result<(), Mismatch> {
            self.integer(v)
        })*
    };
}

impl<'w> Serializer for &'w mut Writer {
    type Ok = ();
    type Error = Mismatch;
    type SerializeSeq = Compound<'w>;
    type SerializeTuple = Compound<'w>;
    type SerializeTupleStruct = Compound<'w>;
    type SerializeTupleVariant = Compound<'w>;
    type SerializeMap = Compound<'w>;
    type SerializeStruct = Compound<'w>;
    type SerializeStructVariant = Compound<'w>;

    fn serialize_bool(self, v: bool) -> Result<(), Mismatch> {
        self.push(Node::Boolean(v))
    }
    integer_methods! {
        serialize_i8(i8) serialize_i16(i16) serialize_i32(i32) serialize_i64(i64) serialize_i128(i128)
        serialize_u8(u8) serialize_u16(u16) serialize_u32(u32) serialize_u64(u64) serialize_u128(u128)
    }
    fn serialize_f32(self, v: f32) -> Result<(), Mismatch> {
        self.push(Node::Float(f64::from(v)))
    }
    fn serialize_f64(self, v: f64) -> Result<(), Mismatch> {
        self.push(Node::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<(), Mismatch> {
        self.bytes(v.encode_utf8(&mut [0; 4]).as_bytes())
    }
    fn serialize_str(self, v: &str) -> Result<(), Mismatch> {
        self.bytes(v.as_bytes())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<(), Mismatch> {
        self.bytes(v)
    }
    fn serialize_none(self) -> Result<(), Mismatch> {
        self.push(Node::Nil)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<(), Mismatch> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<(), Mismatch> {
        self.push(Node::Nil)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<(), Mismatch> {
        self.push(Node::Nil)
    }
    fn serialize_unit_variant(self, _name: &'static str, _index: u32, variant: &'static str) -> Result<(), Mismatch> {
        self.bytes(variant.as_bytes())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(self, _name: &'static str, value: &T) -> Result<(), Mismatch> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<(), Mismatch> {
        self.variant(variant, value)
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Compound<'w>, Mismatch> {
        self.open(Container::Array, None)
    }
    fn serialize_tuple(self, _len: usize) -> Result<Compound<'w>, Mismatch> {
        self.open(Container::Array, None)
    }
    fn serialize_tuple_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'w>, Mismatch> {
        self.open(Container::Array, None)
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'w>, Mismatch> {
        self.open(Container::Array, Some(variant))
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Compound<'w>, Mismatch> {
        self.open(Container::Map, None)
    }
    fn serialize_struct(self, _name: &'static str, _len: usize) -> Result<Compound<'w>, Mismatch> {
        self.open(Container::Map, None)
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        _len: usize,
    ) -> Result<Compound<'w>, Mismatch> {
        self.open(Container::Map, Some(variant))
    }
}

/// An open array or map starting at `start`, whose count is set when it ends.
struct Compound<'w> {
    writer: &'w mut Writer,
    kind: Container,
    start: usize,
    count: u32,
    /// Where a map's last key starts, for naming it in errors.
    key: Option<usize>,
}

impl Compound<'_> {
    fn count_one(&mut self) -> Result<u32, Mismatch> {
        self.count = self.count.checked_add(1).ok_or_else(|| Mismatch::new("has more than 2^32 elements"))?;
        Ok(self.count)
    }

    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Mismatch> {
        let index = self.count_one()?;
        value.serialize(&mut *self.writer).map_err(|m| m.at(|| format!("[{index}]")))
    }

    fn field<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) -> Result<(), Mismatch> {
        self.count_one()?;
        self.writer.bytes(name.as_bytes())?;
        value.serialize(&mut *self.writer).map_err(|m| m.at(|| format!(".{name}")))
    }

    fn finish(self) -> Result<(), Mismatch> {
        packed::set_container(&mut self.writer.out, self.start, self.kind, self.count);
        self.writer.depth -= 1;
        if self.kind == Container::Map && self.count == 1 {
            self.marker();
        }
        Ok(())
    }

    /// Turns a finished map `{"$bigint": "<digits>"}`, or serde_json's map of a number's text,
    /// into the value it stands for.
    fn marker(self) {
        let out = &mut self.writer.out;
        let mut reader = Reader::new(&out[self.start..]);
        let (Ok(Node::Map(1)), Ok(Node::String(key)), Ok(Node::String(text))) =
            (reader.next(), reader.next(), reader.next())
        else {
            return;
        };
        let Some(value) = marker(key, text) else { return };
        out.truncate(self.start);
        // A number's node is never longer than the map of its text it replaces.
        let _ = match value {
            Value::Integer(i) => packed::push(out, Node::Integer(i)),
            Value::Float(f) => packed::push(out, Node::Float(f)),
            Value::BigInt(b) => packed::push(out, Node::Bigint(b.to_string().as_bytes())),
            _ => Ok(()),
        };
    }
}

/// serde's four sequence-like traits differ only in names.
macro_rules! items_impl {
    ($($trait:path => $method:ident),*) => {
        $(impl $trait for Compound<'_> {
            type Ok = ();
            type Error = Mismatch;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Mismatch> {
                self.element(value)
            }
            fn end(self) -> Result<(), Mismatch> {
                self.finish()
            }
        })*
    };
}

items_impl! {
    SerializeSeq => serialize_element,
    ser::SerializeTuple => serialize_element,
    ser::SerializeTupleStruct => serialize_field,
    ser::SerializeTupleVariant => serialize_field
}

/// Structs and struct variants differ only in names.
macro_rules! fields_impl {
    ($($trait:path),*) => {
        $(impl $trait for Compound<'_> {
            type Ok = ();
            type Error = Mismatch;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Mismatch> {
                self.field(key, value)
            }
            fn end(self) -> Result<(), Mismatch> {
                self.finish()
            }
        })*
    };
}

fields_impl!(ser::SerializeStruct, ser::SerializeStructVariant);

impl SerializeMap for Compound<'_> {
    type Ok = ();
    type Error = Mismatch;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Mismatch> {
        self.count_one()?;
        let start = self.writer.out.len();
        key.serialize(&mut *self.writer)?;
        match Reader::new(&self.writer.out[start..]).next() {
            Ok(Node::Nil) => return Err(Mismatch::new("has a nil as a key")),
            Ok(Node::Array(_) | Node::Map(_)) => return Err(Mismatch::new("has a table as a key")),
            Ok(Node::Float(f)) if f.is_nan() => return Err(Mismatch::new("has NaN as a key")),
            _ => {}
        }
        self.key = Some(start);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Mismatch> {
        let key = self.key.take().ok_or_else(|| Mismatch::new("has a map value without a key"))?;
        let result = value.serialize(&mut *self.writer);
        result.map_err(|m| m.at(|| key_segment(Reader::new(&self.writer.out[key..]).next().ok())))
    }
    fn end(self) -> Result<(), Mismatch> {
        self.finish()
    }
}
