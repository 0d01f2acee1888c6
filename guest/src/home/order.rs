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

use std::cmp::Ordering;

use mlua::{Lua, Value};
use num_bigint::{BigInt, Sign};

use super::codec::{Corrupt, Stored};
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
    let mut out = Vec::with_capacity(16);
    put_integer(&mut out, i);
    out
}

fn put_integer(out: &mut Vec<u8>, i: i64) {
    let sign = if i < 0 { NEGATIVE } else { POSITIVE };
    if i == 0 { out.extend_from_slice(&[NUMBER, ZERO]) } else { put_finite(out, sign, i.unsigned_abs(), 0) }
}

pub fn float(f: f64) -> Code {
    let mut out = Vec::with_capacity(16);
    put_float(&mut out, f).then_some(out)
}

/// Appends the code of `f`, unless it is NaN, which has none.
fn put_float(out: &mut Vec<u8>, f: f64) -> bool {
    if f.is_nan() {
        return false;
    }
    if f.is_infinite() {
        out.extend_from_slice(&[NUMBER, if f > 0.0 { INFINITY } else { MINUS_INFINITY }]);
    } else if f == 0.0 {
        out.extend_from_slice(&[NUMBER, ZERO]);
    } else {
        let bits = f.to_bits();
        let biased = ((bits >> 52) & 0x7ff) as i64;
        let fraction = bits & ((1 << 52) - 1);
        // value = mantissa × 2^exponent, with the implicit leading bit of normal numbers.
        let (mantissa, exponent) = if biased == 0 { (fraction, -1074) } else { (fraction | (1 << 52), biased - 1075) };
        put_finite(out, if f < 0.0 { NEGATIVE } else { POSITIVE }, mantissa, exponent);
    }
    true
}

pub fn big(value: &BigInt) -> Vec<u8> {
    let magnitude = value.magnitude();
    let Some(zeros) = magnitude.trailing_zeros() else { return vec![NUMBER, ZERO] };
    let odd = magnitude >> zeros;
    let top = odd.bits() - 1;
    let mut groups = Vec::with_capacity(top.div_ceil(7) as usize);
    let (mut group, mut filled) = (0u8, 0);
    for bit in (0..top).rev().map(|i| odd.bit(i)) {
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
    let sign = if value.sign() == Sign::Minus { NEGATIVE } else { POSITIVE };
    let mut out = Vec::with_capacity(7 + groups.len());
    put_magnitude(&mut out, sign, (top + zeros) as i64, groups.into_iter());
    out
}

/// The code of `sign` × mantissa × 2^exponent, mantissa ≥ 1: integers and floats, whose
/// mantissas fit in 64 bits, without going bit by bit as a bigint's must.
fn put_finite(out: &mut Vec<u8>, sign: u8, mantissa: u64, exponent: i64) {
    let zeros = mantissa.trailing_zeros();
    let odd = mantissa >> zeros;
    let top = 63 - odd.leading_zeros();
    // The bits after the top one, seven at a time from the top, the last group padded with
    // zeros; in u64 shifts, which wasm has (u128's are calls).
    let groups = (0..top.div_ceil(7)).map(|k| {
        let low = top as i32 - 7 * (k as i32 + 1);
        (if low >= 0 { odd >> low } else { odd << -low }) as u8 & 0x7f
    });
    put_magnitude(out, sign, exponent + i64::from(zeros + top), groups);
}

/// Sign, the exponent of the top bit, then the bits after it, seven to a byte (`bits << 1 | more`,
/// the last group padded with zeros): a longer fraction ends in a one bit, so it sorts after
/// every shorter one it starts with. A negative number's magnitude bytes are inverted.
fn put_magnitude(out: &mut Vec<u8>, sign: u8, top: i64, groups: impl ExactSizeIterator<Item = u8>) {
    let start = out.len();
    out.extend_from_slice(&[NUMBER, sign]);
    out.extend_from_slice(&((top + (1 << 31)) as u32).to_be_bytes());
    let last = groups.len().saturating_sub(1);
    if groups.len() == 0 {
        out.push(0);
    }
    out.extend(groups.enumerate().map(|(i, g)| g << 1 | u8::from(i < last)));
    if sign == NEGATIVE {
        for byte in &mut out[start + 2..] {
            *byte = !*byte;
        }
    }
}

pub fn string(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 3);
    put_string(&mut out, s);
    out
}

fn put_string(out: &mut Vec<u8>, s: &[u8]) {
    put_string_prefix(out, s);
    out.extend_from_slice(&[0, 1]);
}

/// The beginning of the code of every string that starts with `s`: its bytes with each zero byte
/// escaped as `00 ff`. `00 01` ends a string: it sorts before any byte that can follow, and no
/// code is the beginning of another.
pub fn string_prefix(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() + 1);
    put_string_prefix(&mut out, s);
    out
}

fn put_string_prefix(out: &mut Vec<u8>, s: &[u8]) {
    out.push(STRING);
    for part in s.split_inclusive(|&byte| byte == 0) {
        out.extend_from_slice(part);
        if part.last() == Some(&0) {
            out.push(0xff);
        }
    }
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

/// Puts the code of a value into `out` from the value's bytes (as [`Stored::step`] finds them),
/// decoding only what holds more than a scalar; false if the value has no code.
pub fn of_bytes_into(bytes: &[u8], out: &mut Vec<u8>) -> Result<bool, Corrupt> {
    let word = |rest: &[u8]| -> Result<[u8; 8], Corrupt> {
        rest.try_into().map_err(|_| Corrupt("a number of the wrong length"))
    };
    out.clear();
    match bytes.split_first() {
        Some((b'I', rest)) => put_integer(out, i64::from_le_bytes(word(rest)?)),
        Some((b'D', rest)) => return Ok(put_float(out, f64::from_le_bytes(word(rest)?))),
        Some((b'S', rest)) => put_string(out, rest),
        Some((b'T', [])) => out.push(TRUE),
        Some((b'F', [])) => out.push(FALSE),
        Some((b'N', [])) => out.push(NULL),
        _ => match of_stored(&Stored::read(bytes)?) {
            Some(code) => out.extend_from_slice(&code),
            None => return Ok(false),
        },
    }
    Ok(true)
}

/// The bytewise order of two codes, as slices' `cmp`, eight bytes at a time: wasm's `memcmp`,
/// which that calls, goes a byte at a time, and a scan compares codes a few times per record.
pub fn compare(a: &[u8], b: &[u8]) -> Ordering {
    let common = a.len().min(b.len());
    let (head, tail) = (&a[..common], &b[..common]);
    let word =
        |bytes: &[u8], at: usize| bytes.get(at..at + 8).and_then(|w| w.try_into().ok()).map_or(0, u64::from_be_bytes);
    let mut at = 0;
    while at + 8 <= common {
        let (x, y) = (word(head, at), word(tail, at));
        if x != y {
            return x.cmp(&y);
        }
        at += 8;
    }
    while at < common {
        if head[at] != tail[at] {
            return head[at].cmp(&tail[at]);
        }
        at += 1;
    }
    a.len().cmp(&b.len())
}

/// The least key after every key that begins with `prefix`, if there is one.
pub fn after_prefix(prefix: &[u8]) -> Option<Vec<u8>> {
    let last = prefix.iter().rposition(|&byte| byte != 0xff)?;
    let mut end = prefix[..=last].to_vec();
    end[last] += 1;
    Some(end)
}
