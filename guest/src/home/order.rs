//! The order of indexed values. One total order covers every scalar a field can hold — JSON's
//! null, then booleans (false before true), then numbers (integers, floats and bigints compared by
//! value, so `1` and `1.0` are equal), then strings (bytewise) — and each value has a byte code
//! whose bytewise order is that order. An index is then a range of `kv` keys, and a range or
//! prefix query one ordered scan.
//!
//! Codes are prefix-free (no code is the beginning of another), so the record key that follows a
//! code in an index key is found without a length, and equal values have equal codes: a number's
//! code is its exact binary value (sign, exponent of its top bit, then the bits after it), not
//! its type. docs/HOME.md specifies the bytes.

use mlua::{Lua, Value};
use num_bigint::{BigInt, Sign};

use super::codec::Stored;
use crate::bigint;

const NULL: u8 = 0x10;
const FALSE: u8 = 0x20;
const TRUE: u8 = 0x21;
const NUMBER: u8 = 0x30;
const STRING: u8 = 0x40;

/// The sign bytes of a number's code, in order.
const MINUS_INFINITY: u8 = 0x00;
const NEGATIVE: u8 = 0x01;
const ZERO: u8 = 0x02;
const POSITIVE: u8 = 0x03;
const INFINITY: u8 = 0x04;

/// The longest code an index holds: a longer value is refused when a commit would index it
/// (queries by scan still compare it).
pub const MAX_CODE: usize = 1024;

/// The kinds of values that compare with each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Class {
    Null,
    Boolean,
    Number,
    String,
}

impl Class {
    /// The first code of the class and the first code after it.
    pub fn bounds(self) -> (Vec<u8>, Vec<u8>) {
        let (first, after) = match self {
            Class::Null => (NULL, NULL + 1),
            Class::Boolean => (FALSE, TRUE + 1),
            Class::Number => (NUMBER, NUMBER + 1),
            Class::String => (STRING, STRING + 1),
        };
        (vec![first], vec![after])
    }

    pub fn of(code: &[u8]) -> Option<Class> {
        Some(match *code.first()? {
            NULL => Class::Null,
            FALSE | TRUE => Class::Boolean,
            NUMBER => Class::Number,
            STRING => Class::String,
            _ => return None,
        })
    }
}

/// A value's code; `None` for what has none (nil, NaN, a table, a function): such a value is in
/// no index and matches no condition.
pub type Code = Option<Vec<u8>>;

pub fn null() -> Vec<u8> {
    vec![NULL]
}

pub fn boolean(b: bool) -> Vec<u8> {
    vec![if b { TRUE } else { FALSE }]
}

pub fn integer(i: i64) -> Vec<u8> {
    let sign = if i < 0 { NEGATIVE } else { POSITIVE };
    if i == 0 { vec![NUMBER, ZERO] } else { finite(sign, i.unsigned_abs() as u128, 0) }
}

pub fn float(f: f64) -> Code {
    if f.is_nan() {
        return None;
    }
    if f.is_infinite() {
        return Some(vec![NUMBER, if f > 0.0 { INFINITY } else { MINUS_INFINITY }]);
    }
    if f == 0.0 {
        return Some(vec![NUMBER, ZERO]);
    }
    let bits = f.to_bits();
    let biased = ((bits >> 52) & 0x7ff) as i64;
    let fraction = bits & ((1 << 52) - 1);
    // value = mantissa × 2^exponent, with the implicit leading bit of normal numbers.
    let (mantissa, exponent) = if biased == 0 { (fraction, -1074) } else { (fraction | (1 << 52), biased - 1075) };
    Some(finite(if f < 0.0 { NEGATIVE } else { POSITIVE }, mantissa as u128, exponent))
}

pub fn big(value: &BigInt) -> Vec<u8> {
    let magnitude = value.magnitude();
    let Some(zeros) = magnitude.trailing_zeros() else { return vec![NUMBER, ZERO] };
    let odd = magnitude >> zeros;
    let top = odd.bits() - 1;
    let fraction = (0..top).rev().map(|i| odd.bit(i));
    let sign = if value.sign() == Sign::Minus { NEGATIVE } else { POSITIVE };
    magnitude_code(sign, (top + zeros) as i64, fraction)
}

/// The code of `sign` × mantissa × 2^exponent, mantissa ≥ 1.
fn finite(sign: u8, mantissa: u128, exponent: i64) -> Vec<u8> {
    let zeros = mantissa.trailing_zeros();
    let odd = mantissa >> zeros;
    let top = 127 - odd.leading_zeros();
    let fraction = (0..top).rev().map(|i| odd >> i & 1 == 1);
    magnitude_code(sign, exponent + (zeros + top) as i64, fraction)
}

/// Sign, the exponent of the top bit, then the bits after it, seven to a byte (`bits << 1 | more`,
/// the last group padded with zeros): a longer fraction ends in a one bit, so it sorts after
/// every shorter one it starts with. A negative number's magnitude bytes are inverted.
fn magnitude_code(sign: u8, top: i64, fraction: impl Iterator<Item = bool>) -> Vec<u8> {
    let mut out = vec![NUMBER, sign];
    out.extend_from_slice(&((top + (1 << 31)) as u32).to_be_bytes());
    let mut groups = Vec::new();
    let (mut group, mut filled) = (0u8, 0);
    for bit in fraction {
        group = group << 1 | u8::from(bit);
        filled += 1;
        if filled == 7 {
            groups.push(group);
            (group, filled) = (0, 0);
        }
    }
    if filled > 0 {
        groups.push(group << (7 - filled));
    }
    if groups.is_empty() {
        groups.push(0);
    }
    let last = groups.len() - 1;
    out.extend(groups.iter().enumerate().map(|(i, g)| g << 1 | u8::from(i < last)));
    if sign == NEGATIVE {
        for byte in &mut out[2..] {
            *byte = !*byte;
        }
    }
    out
}

pub fn string(s: &[u8]) -> Vec<u8> {
    let mut out = string_prefix(s);
    out.extend_from_slice(&[0, 1]);
    out
}

/// The beginning of the code of every string that starts with `s`: its bytes with each zero byte
/// escaped as `00 ff`. `00 01` ends a string: it sorts before any byte that can follow, and no
/// code is the beginning of another.
pub fn string_prefix(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 2);
    out.push(STRING);
    for &byte in s {
        out.push(byte);
        if byte == 0 {
            out.push(0xff);
        }
    }
    out
}

/// The string a string code stands for.
pub fn string_of(code: &[u8]) -> Option<Vec<u8>> {
    if code.first() != Some(&STRING) {
        return None;
    }
    let mut out = Vec::with_capacity(code.len());
    let mut bytes = code[1..].iter();
    while let Some(&byte) = bytes.next() {
        if byte == 0 {
            match bytes.next() {
                Some(0xff) => out.push(0),
                Some(1) => return Some(out),
                _ => return None,
            }
        } else {
            out.push(byte);
        }
    }
    None
}

/// The length of the code that `bytes` begins with, if they begin with a whole code.
pub fn length(bytes: &[u8]) -> Option<usize> {
    match *bytes.first()? {
        NULL | FALSE | TRUE => Some(1),
        NUMBER => match *bytes.get(1)? {
            MINUS_INFINITY | ZERO | INFINITY => Some(2),
            sign @ (NEGATIVE | POSITIVE) => {
                // The last fraction byte has its low bit clear (set, inverted, for negatives).
                let last = u8::from(sign == NEGATIVE);
                let at = bytes.get(6..)?.iter().position(|b| b & 1 == last)?;
                Some(6 + at + 1)
            }
            _ => None,
        },
        STRING => {
            let mut i = 1;
            while i < bytes.len() {
                if bytes[i] == 0 {
                    match bytes.get(i + 1) {
                        Some(0xff) => i += 2,
                        Some(1) => return Some(i + 2),
                        _ => return None,
                    }
                    continue;
                }
                i += 1;
            }
            None
        }
        _ => None,
    }
}

/// The code of a Lua value.
pub fn of_lua(lua: &Lua, value: &Value) -> Code {
    match value {
        Value::Boolean(b) => Some(boolean(*b)),
        Value::Integer(i) => Some(integer(*i)),
        Value::Number(n) => float(*n),
        Value::String(s) => Some(string(&s.as_bytes())),
        Value::LightUserData(p) if p.0.is_null() => Some(null()),
        Value::UserData(userdata) => bigint::of_userdata(lua, userdata).map(|value| big(&value)),
        _ => None,
    }
}

/// The code of a stored value.
pub fn of_stored(value: &Stored) -> Code {
    match value {
        Stored::Boolean(b) => Some(boolean(*b)),
        Stored::Integer(i) => Some(integer(*i)),
        Stored::Float(f) => float(*f),
        Stored::String(s) => Some(string(s)),
        Stored::Null => Some(null()),
        Stored::BigInt(value) => Some(big(value)),
        Stored::Nil | Stored::Table(_) | Stored::Function(_) | Stored::Builtin(_) | Stored::Embedded(..) => None,
    }
}

/// The least key after every key that begins with `prefix`, if there is one.
pub fn after_prefix(prefix: &[u8]) -> Option<Vec<u8>> {
    let last = prefix.iter().rposition(|&byte| byte != 0xff)?;
    let mut end = prefix[..=last].to_vec();
    end[last] += 1;
    Some(end)
}
