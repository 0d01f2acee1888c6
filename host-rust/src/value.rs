//! Where the `value` crate's [`Value`] meets the component's WIT type and this crate's [`Error`].

use serde::Serialize;
use serde::de::DeserializeOwned;

pub use ::value::{BIGINT_MARKER, Json, MAX_DEPTH, Value};

use crate::bindings::cu::unit::types::Value as WitValue;
use crate::error::{Error, Result};

impl From<::value::Conversion> for Error {
    fn from(conversion: ::value::Conversion) -> Self {
        Error::Conversion { path: conversion.path, reason: conversion.reason }
    }
}

/// Converts a [`Value`] into any `Deserialize` type. `root` names the value in errors.
///
/// ```
/// # use cu::{Value, from_value};
/// let value = Value::Array(vec![Value::Integer(1), Value::Float(2.0)]);
/// let numbers: Vec<u32> = from_value(value, "numbers")?;
/// assert_eq!(numbers, [1, 2]);
/// # Ok::<(), cu::Error>(())
/// ```
pub fn from_value<T: DeserializeOwned>(value: Value, root: &str) -> Result<T> {
    Ok(::value::from_value(value, root)?)
}

/// Converts any `Serialize` value into a [`Value`]. `root` names it in errors (e.g. `_io.input`).
///
/// ```
/// # use cu::{Value, to_value};
/// let value = to_value(&vec![1, 2], "numbers")?;
/// assert_eq!(value, Value::Array(vec![Value::Integer(1), Value::Integer(2)]));
/// # Ok::<(), cu::Error>(())
/// ```
pub fn to_value<T: Serialize + ?Sized>(value: &T, root: &str) -> Result<Value> {
    Ok(::value::to_value(value, root)?)
}

/// Reads the component's form of a value into `T`, checking its shape as it goes.
pub(crate) fn from_wit<T: DeserializeOwned>(wit: WitValue, root: &str) -> Result<T> {
    Ok(::value::from_packed(&wit.nodes, root)?)
}

/// The component's form of any `Serialize` value.
pub(crate) fn to_wit<T: Serialize + ?Sized>(value: &T, root: &str) -> Result<WitValue> {
    Ok(WitValue { nodes: ::value::to_packed(value, root)? })
}

/// A value the component returned, its shape checked.
pub(crate) fn value_of(wit: WitValue) -> Result<Value> {
    Ok(Value::from_packed(&wit.nodes)?)
}
