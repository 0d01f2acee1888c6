//! [`Json`]: a [`Value`] as JSON text, for people and for tools such as `jq`.

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};

use super::Value;

/// Serializes a value the way JSON can show it: nil and `null` are `null`; NaN and infinities
/// (which JSON lacks) are `null`; strings that are not UTF-8 get U+FFFD for their invalid bytes; map
/// keys that are not strings are written as text (`1`, `1.5`, `true`); a bigint is
/// `{"$bigint": "<digits>"}`, which reads back as a bigint. Unlike [`Value`]'s own
/// `Serialize`, this loses information in those cases, so it is for display, not storage.
///
/// ```
/// # use value::{Json, Value};
/// let value = Value::Map(vec![(Value::Integer(1), Value::Float(f64::NAN))]);
/// assert_eq!(serde_json::to_string(&Json(&value))?, r#"{"1":null}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Json<'a>(pub &'a Value);

impl Serialize for Json<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.0 {
            Value::Nil => serializer.serialize_unit(),
            Value::Boolean(b) => serializer.serialize_bool(*b),
            Value::Integer(i) => serializer.serialize_i64(*i),
            Value::Float(x) if x.is_finite() => serializer.serialize_f64(*x),
            Value::Float(_) => serializer.serialize_unit(),
            Value::String(bytes) => serializer.serialize_str(&String::from_utf8_lossy(bytes)),
            Value::Array(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                for item in items {
                    seq.serialize_element(&Json(item))?;
                }
                seq.end()
            }
            Value::BigInt(value) => {
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry(super::BIGINT_MARKER, &value.to_string())?;
                map.end()
            }
            Value::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    let key = match key {
                        Value::String(bytes) => String::from_utf8_lossy(bytes).into_owned(),
                        other => other.to_string(),
                    };
                    map.serialize_entry(&key, &Json(value))?;
                }
                map.end()
            }
        }
    }
}
