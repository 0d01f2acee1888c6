//! Any `Serialize` type into a [`Value`], and [`Value`]'s own `Serialize`.
//!
//! serde's data model maps onto Lua's: integers that fit 64 bits are integers, floats floats, `str`
//! and `bytes` strings, `None` and `()` nil, sequences and tuples arrays, maps and structs maps,
//! unit variants the variant's name, other enum variants `{Variant = content}`.

use serde::ser::{self, Serialize, SerializeMap, SerializeSeq, Serializer};

use super::{Mismatch, Value, segment};
use crate::error::Result;

/// Converts any `Serialize` value. `root` names it in errors (e.g. `_io.input`).
///
/// ```
/// # use cu::{Value, to_value};
/// #[derive(serde::Serialize)]
/// struct Point { x: i64, y: f64 }
/// let value = to_value(&Point { x: 1, y: 2.0 }, "point")?;
/// assert_eq!(value.to_string(), "{x = 1, y = 2.0}");
/// # Ok::<(), cu::Error>(())
/// ```
pub fn to_value<T: Serialize + ?Sized>(value: &T, root: &str) -> Result<Value> {
    value.serialize(ToValue).map_err(|m| m.into_error(root))
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
        }
    }
}

struct ToValue;

fn integer<T: TryInto<i64> + std::fmt::Display + Copy>(v: T) -> Result<Value, Mismatch> {
    v.try_into()
        .map(Value::Integer)
        .map_err(|_| Mismatch::new(format!("is {v}, outside Lua's 64-bit integers ({} to {})", i64::MIN, i64::MAX)))
}

fn with_variant(variant: &str, content: Value) -> Value {
    Value::Map(vec![(Value::from(variant), content)])
}

impl Serializer for ToValue {
    type Ok = Value;
    type Error = Mismatch;
    type SerializeSeq = Items;
    type SerializeTuple = Items;
    type SerializeTupleStruct = Items;
    type SerializeTupleVariant = Items;
    type SerializeMap = Entries;
    type SerializeStruct = Entries;
    type SerializeStructVariant = Entries;

    fn serialize_bool(self, v: bool) -> Result<Value, Mismatch> {
        Ok(Value::Boolean(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Value, Mismatch> {
        integer(v)
    }
    fn serialize_i16(self, v: i16) -> Result<Value, Mismatch> {
        integer(v)
    }
    fn serialize_i32(self, v: i32) -> Result<Value, Mismatch> {
        integer(v)
    }
    fn serialize_i64(self, v: i64) -> Result<Value, Mismatch> {
        integer(v)
    }
    fn serialize_i128(self, v: i128) -> Result<Value, Mismatch> {
        integer(v)
    }
    fn serialize_u8(self, v: u8) -> Result<Value, Mismatch> {
        integer(v)
    }
    fn serialize_u16(self, v: u16) -> Result<Value, Mismatch> {
        integer(v)
    }
    fn serialize_u32(self, v: u32) -> Result<Value, Mismatch> {
        integer(v)
    }
    fn serialize_u64(self, v: u64) -> Result<Value, Mismatch> {
        integer(v)
    }
    fn serialize_u128(self, v: u128) -> Result<Value, Mismatch> {
        integer(v)
    }
    fn serialize_f32(self, v: f32) -> Result<Value, Mismatch> {
        Ok(Value::Float(f64::from(v)))
    }
    fn serialize_f64(self, v: f64) -> Result<Value, Mismatch> {
        Ok(Value::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Value, Mismatch> {
        Ok(Value::from(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Value, Mismatch> {
        Ok(Value::from(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Value, Mismatch> {
        Ok(Value::String(v.to_vec()))
    }
    fn serialize_none(self) -> Result<Value, Mismatch> {
        Ok(Value::Nil)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Value, Mismatch> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Value, Mismatch> {
        Ok(Value::Nil)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Value, Mismatch> {
        Ok(Value::Nil)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
    ) -> Result<Value, Mismatch> {
        Ok(Value::from(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<Value, Mismatch> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Value, Mismatch> {
        let content = value.serialize(ToValue).map_err(|m| m.at(|| format!(".{variant}")))?;
        Ok(with_variant(variant, content))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Items, Mismatch> {
        Ok(Items { items: Vec::with_capacity(len.unwrap_or(0)), variant: None })
    }
    fn serialize_tuple(self, len: usize) -> Result<Items, Mismatch> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _name: &'static str, len: usize) -> Result<Items, Mismatch> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Items, Mismatch> {
        Ok(Items { items: Vec::with_capacity(len), variant: Some(variant) })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Entries, Mismatch> {
        Ok(Entries { entries: Vec::with_capacity(len.unwrap_or(0)), key: None, variant: None })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<Entries, Mismatch> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _index: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<Entries, Mismatch> {
        Ok(Entries { entries: Vec::with_capacity(len), key: None, variant: Some(variant) })
    }
}

/// The elements of a sequence, tuple or tuple variant.
struct Items {
    items: Vec<Value>,
    variant: Option<&'static str>,
}

impl Items {
    fn push<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Mismatch> {
        let index = self.items.len() + 1;
        self.items.push(value.serialize(ToValue).map_err(|m| m.at(|| format!("[{index}]")))?);
        Ok(())
    }

    fn finish(self) -> Value {
        let array = Value::Array(self.items);
        match self.variant {
            Some(variant) => with_variant(variant, array),
            None => array,
        }
    }
}

/// serde's four sequence-like traits differ only in names.
macro_rules! items_impl {
    ($($trait:path => $method:ident),*) => {
        $(impl $trait for Items {
            type Ok = Value;
            type Error = Mismatch;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Mismatch> {
                self.push(value)
            }
            fn end(self) -> Result<Value, Mismatch> {
                Ok(self.finish())
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

/// The entries of a map, struct or struct variant.
struct Entries {
    entries: Vec<(Value, Value)>,
    /// A map's key, waiting for its value.
    key: Option<Value>,
    variant: Option<&'static str>,
}

impl Entries {
    fn field<T: Serialize + ?Sized>(&mut self, name: &'static str, value: &T) -> Result<(), Mismatch> {
        let value = value.serialize(ToValue).map_err(|m| m.at(|| format!(".{name}")))?;
        self.entries.push((Value::from(name), value));
        Ok(())
    }

    fn finish(self) -> Value {
        let map = Value::Map(self.entries);
        match self.variant {
            Some(variant) => with_variant(variant, map),
            None => map,
        }
    }
}

impl SerializeMap for Entries {
    type Ok = Value;
    type Error = Mismatch;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), Mismatch> {
        let key = key.serialize(ToValue)?;
        if matches!(key, Value::Nil | Value::Array(_) | Value::Map(_)) {
            return Err(Mismatch::new(format!("has a {} as a key", key.type_name())));
        }
        if matches!(key, Value::Float(f) if f.is_nan()) {
            return Err(Mismatch::new("has NaN as a key"));
        }
        self.key = Some(key);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), Mismatch> {
        let key = self.key.take().ok_or_else(|| Mismatch::new("has a map value without a key"))?;
        let value = value.serialize(ToValue).map_err(|m| m.at(|| segment(&key)))?;
        self.entries.push((key, value));
        Ok(())
    }
    fn end(self) -> Result<Value, Mismatch> {
        Ok(self.finish())
    }
}

/// Structs and struct variants differ only in names.
macro_rules! fields_impl {
    ($($trait:path),*) => {
        $(impl $trait for Entries {
            type Ok = Value;
            type Error = Mismatch;
            fn serialize_field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<(), Mismatch> {
                self.field(key, value)
            }
            fn end(self) -> Result<Value, Mismatch> {
                Ok(self.finish())
            }
        })*
    };
}

fields_impl!(ser::SerializeStruct, ser::SerializeStructVariant);
