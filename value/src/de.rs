//! The component's packed nodes straight into any `Deserialize` type, and [`Value`]'s own
//! `Deserialize`.
//!
//! Lua's loose edges are smoothed where a Rust type says what it wants: a float with an integral
//! value fills an integer field, an empty table fills a sequence as well as a map, and map keys
//! convert between strings and numbers (`{[1] = "a"}` fills a `HashMap<String, _>`). Reading
//! nodes directly, with no [`Value`] tree in between, keeps a large output to one pass.

use std::fmt;

use serde::de::value::MapDeserializer;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor,
};
use serde::forward_to_deserialize_any;

use packed::Node;

use super::Result;
use super::{BIGINT_MARKER, MAX_DEPTH, Mismatch, Value, integer, key_segment, marker, parse_bigint};

/// Converts a value into `T`. `root` names it in errors (e.g. `_io.output`).
///
/// ```
/// # use value::{Value, from_value};
/// let value = Value::Array(vec![Value::Integer(1), Value::Float(2.0)]);
/// let numbers: Vec<u32> = from_value(value, "numbers")?;
/// assert_eq!(numbers, [1, 2]);
/// # Ok::<(), value::Conversion>(())
/// ```
pub fn from_value<T: DeserializeOwned>(value: Value, root: &str) -> Result<T> {
    from_packed(&super::ser::to_packed(&value, root)?, root)
}

/// Reads packed nodes (wit/types.wit's `value`) into `T`, checking their shape as it goes.
/// `root` names the value in errors (e.g. `_io.input`).
pub fn from_packed<T: DeserializeOwned>(nodes: &[u8], root: &str) -> Result<T> {
    let mut reader = Reader { nodes: packed::Reader::new(nodes), depth: 0 };
    let value = T::deserialize(&mut reader).map_err(|m| m.into_error(root))?;
    match reader.nodes.remaining() {
        0 => Ok(value),
        extra => Err(Mismatch::new(format!("is malformed: {extra} bytes follow the end of the root")).into_error(root)),
    }
}

/// Accepts anything a self-describing format (JSON, TOML, …) holds. Integers stay exact: beyond
/// 64 bits they become bigints (in JSON too, whose large numbers serde_json passes as their text);
/// a number with a fraction or an exponent is a float.
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
        Ok(integer(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(integer(v.into()))
    }
    fn visit_u128<E>(self, v: u128) -> Result<Value, E> {
        Ok(i128::try_from(v).map_or_else(|_| Value::BigInt(v.into()), integer))
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
        // `{"$bigint": "<digits>"}` stands for a bigint, serde_json's number map for a number.
        if let [(Value::String(key), Value::String(text))] = entries.as_slice()
            && let Some(value) = marker(key, text)
        {
            return Ok(value);
        }
        Ok(Value::Map(entries))
    }
}

/// The integer a float stands for, when it has an integral value that fits.
fn malformed(malformed: packed::Malformed) -> Mismatch {
    Mismatch::new(malformed.to_string())
}

fn integral(f: f64) -> Option<i64> {
    // 2^63 is exactly representable; every float below it with no fraction fits in an i64.
    (f.fract() == 0.0 && f >= -(2f64.powi(63)) && f < 2f64.powi(63)).then_some(f as i64)
}

/// A cursor over packed nodes.
struct Reader<'a> {
    nodes: packed::Reader<'a>,
    /// Containers open around the next node.
    depth: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Result<Node<'a>, Mismatch> {
        self.nodes.peek().map_err(malformed)
    }

    fn next(&mut self) -> Result<Node<'a>, Mismatch> {
        self.nodes.next().map_err(malformed)
    }

    /// A bigint's digits, as the component writes them.
    fn digits(digits: &[u8]) -> Result<&str, Mismatch> {
        std::str::from_utf8(digits)
            .ok()
            .filter(|digits| parse_bigint(digits).is_some())
            .ok_or_else(|| Mismatch::new("is a malformed bigint"))
    }

    /// A bigint for an integer type: the narrowest of serde's integers that holds it.
    fn bigint_number<'de, V: Visitor<'de>>(digits: &[u8], visitor: V) -> Result<V::Value, Mismatch> {
        let digits = Self::digits(digits)?;
        if let Ok(i) = digits.parse::<i64>() {
            visitor.visit_i64(i)
        } else if let Ok(u) = digits.parse::<u64>() {
            visitor.visit_u64(u)
        } else if let Ok(i) = digits.parse::<i128>() {
            visitor.visit_i128(i)
        } else if let Ok(u) = digits.parse::<u128>() {
            visitor.visit_u128(u)
        } else {
            Err(Mismatch::new(format!("is the bigint {digits}, larger than 128 bits")))
        }
    }

    /// Passes over the next node and everything inside it.
    fn skip(&mut self) -> Result<(), Mismatch> {
        let mut remaining: u64 = 1;
        while remaining > 0 {
            remaining -= 1;
            match self.next()? {
                Node::Array(n) => remaining += u64::from(n),
                Node::Map(n) => remaining += 2 * u64::from(n),
                _ => {}
            }
        }
        Ok(())
    }

    /// How the key starting at `position` appears in a path; only asked for on errors.
    fn segment_at(nodes: &packed::Reader<'_>, position: usize) -> String {
        key_segment(nodes.node_at(position))
    }

    fn enter(&mut self) -> Result<(), Mismatch> {
        if self.depth >= MAX_DEPTH {
            return Err(Mismatch::new(format!("nests deeper than {MAX_DEPTH} levels")));
        }
        self.depth += 1;
        Ok(())
    }

    fn seq<'de, V: Visitor<'de>>(&mut self, len: u32, visitor: V) -> Result<V::Value, Mismatch> {
        self.enter()?;
        let mut items = Items { reader: self, remaining: len, index: 0 };
        let value = visitor.visit_seq(&mut items)?;
        if items.remaining > 0 {
            return Err(Mismatch::new(format!("has {len} elements, more than expected")));
        }
        self.depth -= 1;
        Ok(value)
    }

    fn map<'de, V: Visitor<'de>>(&mut self, len: u32, visitor: V) -> Result<V::Value, Mismatch> {
        self.enter()?;
        let mut entries = Entries { reader: self, remaining: len, key: 0 };
        let value = visitor.visit_map(&mut entries)?;
        // A visitor may stop early; the cursor must still pass the entries it left.
        for _ in 0..2 * u64::from(entries.remaining) {
            entries.reader.skip()?;
        }
        self.depth -= 1;
        Ok(value)
    }
}

impl<'a> Reader<'a> {
    /// Hands a node just read to `visitor` as what it is.
    fn visit<'de, V: Visitor<'de>>(&mut self, node: Node<'a>, visitor: V) -> Result<V::Value, Mismatch> {
        match node {
            Node::Nil => visitor.visit_unit(),
            Node::Boolean(b) => visitor.visit_bool(b),
            Node::Integer(i) => visitor.visit_i64(i),
            Node::Float(f) => visitor.visit_f64(f),
            Node::String(bytes) => match std::str::from_utf8(bytes) {
                Ok(text) => visitor.visit_str(text),
                Err(_) => visitor.visit_bytes(bytes),
            },
            Node::Array(len) => self.seq(len, visitor),
            Node::Map(len) => self.map(len, visitor),
            Node::Bigint(digits) => {
                let digits = Self::digits(digits)?;
                visitor.visit_map(MapDeserializer::new(std::iter::once((BIGINT_MARKER, digits))))
            }
        }
    }
}

macro_rules! integers_from_integral_floats {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
            match self.next()? {
                Node::Float(f) if let Some(i) = integral(f) => visitor.visit_i64(i),
                Node::Bigint(digits) => Reader::bigint_number(digits, visitor),
                node => self.visit(node, visitor),
            }
        })*
    };
}

/// A bigint read as a string gives its digits.
macro_rules! strings_from_bigints {
    ($($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
            match self.next()? {
                Node::Bigint(digits) => visitor.visit_str(Reader::digits(digits)?),
                node => self.visit(node, visitor),
            }
        })*
    };
}

impl<'de> Deserializer<'de> for &mut Reader<'_> {
    type Error = Mismatch;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        let node = self.next()?;
        self.visit(node, visitor)
    }

    integers_from_integral_floats! {
        deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_i128 deserialize_u128
    }

    strings_from_bigints! { deserialize_str deserialize_string }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        if let Node::Nil = self.peek()? {
            self.next()?;
            return visitor.visit_none();
        }
        visitor.visit_some(self)
    }

    fn deserialize_bytes<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self.next()? {
            Node::String(bytes) => visitor.visit_bytes(bytes),
            node => self.visit(node, visitor),
        }
    }

    fn deserialize_byte_buf<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        self.deserialize_bytes(visitor)
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self.next()? {
            // Lua cannot tell an empty list from an empty map.
            Node::Map(0) => self.seq(0, visitor),
            node => self.visit(node, visitor),
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
        match self.next()? {
            Node::Array(0) => self.map(0, visitor),
            node => self.visit(node, visitor),
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
        match self.peek()? {
            Node::String(_) => visitor.visit_enum(Variant { reader: self, content: false }),
            Node::Map(1) => {
                self.next()?;
                let (nodes, at) = (self.nodes.clone(), self.nodes.position());
                self.enter()?;
                let value = visitor
                    .visit_enum(Variant { reader: &mut *self, content: true })
                    .map_err(|m| m.at(|| Reader::segment_at(&nodes, at)))?;
                self.depth -= 1;
                Ok(value)
            }
            other => Err(Mismatch::new(format!(
                "is a {}, not an enum variant (a string, or a table with one entry)",
                node_type(other)
            ))),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        self.skip()?;
        visitor.visit_unit()
    }

    forward_to_deserialize_any! {
        bool f32 f64 char unit unit_struct identifier
    }
}

fn node_type(node: Node<'_>) -> &'static str {
    match node {
        Node::Nil => "nil",
        Node::Boolean(_) => "boolean",
        Node::Integer(_) | Node::Float(_) => "number",
        Node::String(_) => "string",
        Node::Array(_) | Node::Map(_) => "table",
        Node::Bigint(_) => "bigint",
    }
}

struct Items<'r, 'a> {
    reader: &'r mut Reader<'a>,
    remaining: u32,
    index: u32,
}

impl<'de> SeqAccess<'de> for Items<'_, '_> {
    type Error = Mismatch;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Mismatch> {
        if self.remaining == 0 {
            return Ok(None);
        }
        self.remaining -= 1;
        self.index += 1;
        let index = self.index;
        seed.deserialize(&mut *self.reader).map(Some).map_err(|m| m.at(|| format!("[{index}]")))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.remaining as usize)
    }
}

struct Entries<'r, 'a> {
    reader: &'r mut Reader<'a>,
    remaining: u32,
    /// Where the key just read starts, to name it in errors.
    key: usize,
}

impl<'de> MapAccess<'de> for Entries<'_, '_> {
    type Error = Mismatch;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Mismatch> {
        if self.remaining == 0 {
            return Ok(None);
        }
        self.remaining -= 1;
        self.key = self.reader.nodes.position();
        let (nodes, at) = (self.reader.nodes.clone(), self.key);
        seed.deserialize(Key(&mut *self.reader)).map(Some).map_err(|m| m.at(|| Reader::segment_at(&nodes, at)))
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Mismatch> {
        let (nodes, at) = (self.reader.nodes.clone(), self.key);
        seed.deserialize(&mut *self.reader).map_err(|m| m.at(|| Reader::segment_at(&nodes, at)))
    }

    fn size_hint(&self) -> Option<usize> {
        Some(self.remaining as usize)
    }
}

/// A map key: numbers and booleans can be read as text, and text holding a number as a number,
/// since JSON-shaped types key their maps with strings and Lua tables often with integers.
struct Key<'r, 'a>(&'r mut Reader<'a>);

impl Key<'_, '_> {
    fn text<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self.0.next()? {
            Node::Integer(i) => visitor.visit_string(i.to_string()),
            Node::Float(f) => visitor.visit_string(f.to_string()),
            Node::Boolean(b) => visitor.visit_string(b.to_string()),
            node => self.0.visit(node, visitor),
        }
    }

    fn number<'de, V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        let node = self.0.next()?;
        if let Node::String(text) = node {
            let text = std::str::from_utf8(text).unwrap_or_default();
            if let Ok(i) = text.parse::<i64>() {
                return visitor.visit_i64(i);
            }
            if let Ok(f) = text.parse::<f64>() {
                return visitor.visit_f64(f);
            }
        }
        self.0.visit(node, visitor)
    }
}

macro_rules! key_methods {
    ($how:ident: $($method:ident)*) => {
        $(fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
            self.$how(visitor)
        })*
    };
}

impl<'de> Deserializer<'de> for Key<'_, '_> {
    type Error = Mismatch;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        self.0.deserialize_any(visitor)
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
        self.0.deserialize_enum(name, variants, visitor)
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

/// An enum variant: its name, then its content unless it is a unit variant.
struct Variant<'r, 'a> {
    reader: &'r mut Reader<'a>,
    content: bool,
}

impl<'de, 'r, 'a> EnumAccess<'de> for Variant<'r, 'a> {
    type Error = Mismatch;
    type Variant = Content<'r, 'a>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Content<'r, 'a>), Mismatch> {
        let name = seed.deserialize(Key(&mut *self.reader))?;
        Ok((name, Content { reader: self.reader, present: self.content }))
    }
}

struct Content<'r, 'a> {
    reader: &'r mut Reader<'a>,
    present: bool,
}

impl<'de> VariantAccess<'de> for Content<'_, '_> {
    type Error = Mismatch;

    fn unit_variant(self) -> Result<(), Mismatch> {
        if !self.present {
            return Ok(());
        }
        match self.reader.next()? {
            Node::Nil => Ok(()),
            other => Err(Mismatch::new(format!("is a {} where a unit variant has none", node_type(other)))),
        }
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Mismatch> {
        self.expect_content()?;
        seed.deserialize(&mut *self.reader)
    }

    fn tuple_variant<V: Visitor<'de>>(self, _len: usize, visitor: V) -> Result<V::Value, Mismatch> {
        self.expect_content()?;
        self.reader.deserialize_seq(visitor)
    }

    fn struct_variant<V: Visitor<'de>>(
        self,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        self.expect_content()?;
        self.reader.deserialize_map(visitor)
    }
}

impl Content<'_, '_> {
    fn expect_content(&self) -> Result<(), Mismatch> {
        if self.present { Ok(()) } else { Err(Mismatch::new("is a variant name alone where the variant has content")) }
    }
}
