//! A [`Value`] into any `Deserialize` type, and [`Value`]'s own `Deserialize`.
//!
//! Lua's loose edges are smoothed where a Rust type says what it wants: a float with an integral
//! value fills an integer field, an empty table fills a sequence as well as a map, and map keys
//! convert between strings and numbers (`{[1] = "a"}` fills a `HashMap<String, _>`).

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};
use serde::forward_to_deserialize_any;

use super::{Mismatch, Value, segment};
use crate::error::Result;

/// Converts a value into `T`. `root` names it in errors (e.g. `_io.output`).
///
/// ```
/// # use cu::{Value, from_value};
/// let value = Value::Array(vec![Value::Integer(1), Value::Float(2.0)]);
/// let numbers: Vec<u32> = from_value(value, "numbers")?;
/// assert_eq!(numbers, [1, 2]);
/// # Ok::<(), cu::Error>(())
/// ```
pub fn from_value<T: DeserializeOwned>(value: Value, root: &str) -> Result<T> {
    T::deserialize(De(value)).map_err(|m| m.into_error(root))
}

/// Accepts anything a self-describing format (JSON, TOML, …) holds. Integers beyond 64 bits become
/// floats, as Lua reads such numerals.
impl<'de> de::Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a value Lua can hold")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Boolean(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::Integer(v))
    }
    fn visit_i128<E>(self, v: i128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Integer))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Integer))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(i64::try_from(v).map_or(Value::Float(v as f64), Value::Integer))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::Float(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_string<E>(self, v: String) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_bytes<E>(self, v: &[u8]) -> Result<Value, E> {
        Ok(Value::String(v.to_vec()))
    }
    fn visit_byte_buf<E>(self, v: Vec<u8>) -> Result<Value, E> {
        Ok(Value::String(v))
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
    fn visit_newtype_struct<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Value::Map(entries))
    }
}

/// The integer a float stands for, when it has an integral value that fits.
fn integral(f: f64) -> Option<i64> {
    // 2^63 is exactly representable; every float below it with no fraction fits in an i64.
    (f.fract() == 0.0 && f >= -(2f64.powi(63)) && f < 2f64.powi(63)).then_some(f as i64)
}

macro_rules! integers_from_integral_floats {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
            match self.0 {
                Value::Float(f) => match integral(f) {
                    Some(i) => visitor.visit_i64(i),
                    None => visitor.visit_f64(f),
                },
                other => De(other).deserialize_any(visitor),
            }
        })*
    };
}

/// The deserializer of a value (private, so that its error type stays private).
struct De(Value);

impl<'de> Deserializer<'de> for De {
    type Error = Mismatch;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self.0 {
            Value::Nil => visitor.visit_unit(),
            Value::Boolean(b) => visitor.visit_bool(b),
            Value::Integer(i) => visitor.visit_i64(i),
            Value::Float(f) => visitor.visit_f64(f),
            Value::String(bytes) => match String::from_utf8(bytes) {
                Ok(text) => visitor.visit_string(text),
                Err(e) => visitor.visit_byte_buf(e.into_bytes()),
            },
            Value::Array(items) => visit_items(items, visitor),
            Value::Map(entries) => visit_entries(entries, visitor),
        }
    }

    integers_from_integral_floats! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self.0 {
            Value::Nil => visitor.visit_none(),
            other => visitor.visit_some(De(other)),
        }
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self.0 {
            Value::String(bytes) => visitor.visit_byte_buf(bytes),
            other => De(other).deserialize_any(visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self.0 {
            // Lua cannot tell an empty list from an empty map.
            Value::Map(entries) if entries.is_empty() => visit_items(Vec::new(), visitor),
            other => De(other).deserialize_any(visitor),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Mismatch> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self.0 {
            Value::Array(items) if items.is_empty() => visit_entries(Vec::new(), visitor),
            other => De(other).deserialize_any(visitor),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        self.deserialize_map(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        match self.0 {
            name @ Value::String(_) => visitor.visit_enum(Variant { name, content: None }),
            Value::Map(mut entries) if entries.len() == 1 => {
                let (name, content) = entries.remove(0);
                let at = segment(&name);
                visitor.visit_enum(Variant { name, content: Some(content) }).map_err(|m| m.at(|| at))
            }
            other => Err(Mismatch::new(format!(
                "is a {}, not an enum variant (a string, or a table with one entry)",
                other.type_name()
            ))),
        }
    }

    forward_to_deserialize_any! {
        bool i128 u128 f32 f64 char str string unit unit_struct identifier ignored_any
    }
}

fn visit_items<'de, V: Visitor<'de>>(items: Vec<Value>, visitor: V) -> Result<V::Value, Mismatch> {
    let len = items.len();
    let mut access = Items { items: items.into_iter(), index: 0 };
    let result = visitor.visit_seq(&mut access)?;
    if access.items.len() > 0 {
        return Err(Mismatch::new(format!("has {len} elements, more than expected")));
    }
    Ok(result)
}

fn visit_entries<'de, V: Visitor<'de>>(entries: Vec<(Value, Value)>, visitor: V) -> Result<V::Value, Mismatch> {
    visitor.visit_map(Entries { entries: entries.into_iter(), pending: None })
}

struct Items {
    items: std::vec::IntoIter<Value>,
    index: usize,
}

impl<'de> SeqAccess<'de> for Items {
    type Error = Mismatch;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Mismatch> {
        let Some(item) = self.items.next() else {
            return Ok(None);
        };
        self.index += 1;
        let index = self.index;
        seed.deserialize(De(item)).map(Some).map_err(|m| m.at(|| format!("[{index}]")))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.items.len())
    }
}

struct Entries {
    entries: std::vec::IntoIter<(Value, Value)>,
    /// The value of the key just handed out, with that key's path segment.
    pending: Option<(Value, String)>,
}

impl<'de> MapAccess<'de> for Entries {
    type Error = Mismatch;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Mismatch> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        let at = segment(&key);
        let key = seed.deserialize(Key(key)).map_err(|m| m.at(|| at.clone()))?;
        self.pending = Some((value, at));
        Ok(Some(key))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Mismatch> {
        let (value, at) = self.pending.take().ok_or_else(|| Mismatch::new("has a map value without a key"))?;
        seed.deserialize(De(value)).map_err(|m| m.at(|| at))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.entries.len())
    }
}

/// A map key: numbers and booleans can be read as text, and text holding a number as a number,
/// since JSON-shaped types key their maps with strings and Lua tables often with integers.
struct Key(Value);

impl Key {
    fn text<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self.0 {
            Value::Integer(i) => visitor.visit_string(i.to_string()),
            Value::Float(f) => visitor.visit_string(f.to_string()),
            Value::Boolean(b) => visitor.visit_string(b.to_string()),
            other => De(other).deserialize_any(visitor),
        }
    }

    fn number<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        let parsed = self.0.as_str().and_then(|text| {
            text.parse::<i64>().map(Value::Integer).or_else(|_| text.parse::<f64>().map(Value::Float)).ok()
        });
        De(parsed.unwrap_or(self.0)).deserialize_any(visitor)
    }
}

macro_rules! key_methods {
    ($how:ident: $($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
            self.$how(visitor)
        })*
    };
}

impl<'de> Deserializer<'de> for Key {
    type Error = Mismatch;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        De(self.0).deserialize_any(visitor)
    }

    key_methods!(text: deserialize_str deserialize_string deserialize_identifier);
    key_methods!(number:
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64
    );

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        De(self.0).deserialize_enum(name, variants, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        visitor.visit_newtype_struct(self)
    }

    forward_to_deserialize_any! {
        bool char bytes byte_buf option unit unit_struct seq tuple tuple_struct map struct ignored_any
    }
}

/// An enum variant: its name, and its content unless it is a unit variant.
struct Variant {
    name: Value,
    content: Option<Value>,
}

impl<'de> EnumAccess<'de> for Variant {
    type Error = Mismatch;
    type Variant = Content;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Content), Mismatch> {
        Ok((seed.deserialize(Key(self.name))?, Content(self.content)))
    }
}

struct Content(Option<Value>);

impl<'de> VariantAccess<'de> for Content {
    type Error = Mismatch;

    fn unit_variant(self) -> Result<(), Mismatch> {
        match self.0 {
            None | Some(Value::Nil) => Ok(()),
            Some(other) => Err(Mismatch::new(format!("is a {} where a unit variant has none", other.type_name()))),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Mismatch> {
        seed.deserialize(De(self.0.unwrap_or(Value::Nil)))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Mismatch> {
        De(self.0.unwrap_or(Value::Nil)).deserialize_seq(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        De(self.0.unwrap_or(Value::Map(Vec::new()))).deserialize_map(visitor)
    }
}
