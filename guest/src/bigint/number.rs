//! The numbers bigint operations work on: operands read from the Lua stack, and the arithmetic on
//! them, in `i128` when both sides fit and with num-bigint otherwise.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::ffi::c_int;
use std::ptr;

use mlua::ffi::{self, lua_State};
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{Signed, ToPrimitive, Zero};

use super::block::{self, View};
use super::message::Message;

/// An operand: a bigint read in place, or a Lua integer or numeric string.
#[derive(Debug)]
pub enum Operand<'a> {
    Small(i128),
    Digits(View<'a>),
    Parsed(BigInt),
}

impl Operand<'_> {
    pub fn small(&self) -> Option<i128> {
        match self {
            Operand::Small(value) => Some(*value),
            Operand::Digits(view) => view.small(),
            Operand::Parsed(_) => None,
        }
    }

    pub fn big(&self) -> Cow<'_, BigInt> {
        match self {
            Operand::Small(value) => Cow::Owned(BigInt::from(*value)),
            Operand::Digits(view) => Cow::Owned(view.to_bigint()),
            Operand::Parsed(value) => Cow::Borrowed(value),
        }
    }

    /// The value, owned, for num-bigint to compute with.
    pub fn into_big(self) -> BigInt {
        match self {
            Operand::Parsed(value) => value,
            other => other.big().into_owned(),
        }
    }

    pub fn bits(&self) -> u64 {
        match self {
            Operand::Small(value) => u64::from(128 - value.unsigned_abs().leading_zeros()),
            Operand::Digits(view) => view.bits(),
            Operand::Parsed(value) => value.bits(),
        }
    }

    pub fn is_zero(&self) -> bool {
        match self {
            Operand::Small(value) => *value == 0,
            Operand::Digits(view) => view.digits.is_empty(),
            Operand::Parsed(value) => value.is_zero(),
        }
    }

    pub fn is_negative(&self) -> bool {
        match self {
            Operand::Small(value) => *value < 0,
            Operand::Digits(view) => view.negative,
            Operand::Parsed(value) => value.is_negative(),
        }
    }
}

impl std::fmt::Display for Operand<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.small() {
            Some(value) => value.fmt(f),
            None => self.big().fmt(f),
        }
    }
}

/// The value at `index` as an operand of `what`: a bigint (its metatable at `meta`), a Lua
/// integer, or a string of a number. Inlined, so that an operation on bigints and integers stays
/// one small function.
///
/// # Safety
/// As [`block::view`].
#[inline(always)]
pub unsafe fn operand<'a>(
    state: *mut lua_State,
    index: c_int,
    meta: c_int,
    what: &str,
) -> Result<Operand<'a>, Message> {
    // SAFETY: as the caller promises; each accessor matches the value's type.
    unsafe {
        if let Some(view) = block::view(state, index, meta) {
            return Ok(Operand::Digits(view));
        }
        if ffi::lua_isinteger(state, index) != 0 {
            return Ok(Operand::Small(i128::from(ffi::lua_tointegerx(state, index, ptr::null_mut()))));
        }
        other_operand(state, index, what)
    }
}

/// An operand that is neither a bigint nor an integer: a numeric string, or an error.
#[inline(never)]
unsafe fn other_operand<'a>(state: *mut lua_State, index: c_int, what: &str) -> Result<Operand<'a>, Message> {
    // SAFETY: each accessor matches the value's type.
    unsafe {
        match ffi::lua_type(state, index) {
            ffi::LUA_TNUMBER => Err(Message::new(format_args!(
                "bigint {what}: {} is a float; bigints are exact: use an integer, a string, or math.tointeger",
                ffi::lua_tonumberx(state, index, ptr::null_mut())
            ))),
            ffi::LUA_TSTRING => Ok(small_or_parsed(parse(string_at(state, index), None, what)?)),
            other => Err(Message::new(format_args!(
                "bigint {what}: expected a bigint, an integer or a numeric string, got {}",
                type_name(state, other)
            ))),
        }
    }
}

pub fn small_or_parsed<'a>(value: BigInt) -> Operand<'a> {
    match value.to_i128() {
        Some(small) if small != i128::MIN => Operand::Small(small),
        _ => Operand::Parsed(value),
    }
}

/// The bytes of the string at `index`.
///
/// # Safety
/// The value at `index` is a string, which outlives the slice on the stack.
pub unsafe fn string_at<'a>(state: *mut lua_State, index: c_int) -> &'a [u8] {
    let mut len = 0;
    // SAFETY: as the caller promises.
    unsafe { std::slice::from_raw_parts(ffi::lua_tolstring(state, index, &mut len).cast(), len) }
}

/// # Safety
/// `kind` is a Lua type tag.
pub unsafe fn type_name(state: *mut lua_State, kind: c_int) -> Cow<'static, str> {
    // SAFETY: Lua's type names are static C strings.
    unsafe { std::ffi::CStr::from_ptr(ffi::lua_typename(state, kind)).to_string_lossy() }
}

/// Parses `text`: an optional sign, then digits in `base` (default 10, or 16 after `0x`).
pub fn parse(text: &[u8], base: Option<u32>, what: &str) -> Result<BigInt, Message> {
    let trimmed = text.trim_ascii();
    let (negative, unsigned) = match trimmed.first() {
        Some(b'-') => (true, &trimmed[1..]),
        Some(b'+') => (false, &trimmed[1..]),
        _ => (false, trimmed),
    };
    let hex = unsigned.len() > 2 && unsigned[0] == b'0' && (unsigned[1] | 0x20) == b'x';
    let (digits, base) = match base {
        None if hex => (&unsigned[2..], 16),
        Some(16) if hex => (&unsigned[2..], 16),
        None => (unsigned, 10),
        Some(base) => (unsigned, base),
    };
    // num-bigint accepts underscores between digits; a bigint literal does not.
    let valid = !digits.is_empty() && digits.iter().all(|&d| char::from(d).is_digit(base));
    let magnitude = valid.then(|| BigInt::parse_bytes(digits, base)).flatten().ok_or_else(|| {
        Message::new(format_args!("bigint {what}: '{}' is not a number in base {base}", String::from_utf8_lossy(text)))
    })?;
    Ok(if negative { -magnitude } else { magnitude })
}

/// A bigint's decimal form as the value type carries it: a `-` when negative, then digits.
pub fn parse_decimal(text: &[u8]) -> Option<BigInt> {
    let digits = text.strip_prefix(b"-").unwrap_or(text);
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    BigInt::parse_bytes(text, 10)
}

/// The binary operations. Division: `Div`/`Mod` truncate toward zero (`/`, `bigint.div`,
/// `bigint.mod`), `FloorDiv`/`FloorMod` floor (`//`, `%`).
#[derive(Clone, Copy, Debug)]
pub enum Arithmetic {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    FloorDiv,
    FloorMod,
}

impl Arithmetic {
    pub fn divides(self) -> bool {
        matches!(self, Arithmetic::Div | Arithmetic::Mod | Arithmetic::FloorDiv | Arithmetic::FloorMod)
    }

    /// `a op b` in `i128`, or `None` when it overflows (the divisor is not zero).
    pub fn small(self, a: i128, b: i128) -> Option<i128> {
        match self {
            Arithmetic::Add => a.checked_add(b),
            Arithmetic::Sub => a.checked_sub(b),
            Arithmetic::Mul => a.checked_mul(b),
            Arithmetic::Div => a.checked_div(b),
            Arithmetic::Mod => a.checked_rem(b),
            // Operands are above i128::MIN, so flooring cannot overflow.
            Arithmetic::FloorDiv => Some(Integer::div_floor(&a, &b)),
            Arithmetic::FloorMod => Some(Integer::mod_floor(&a, &b)),
        }
    }

    /// An upper bound of the result's bits.
    pub fn estimate(self, a: &Operand<'_>, b: &Operand<'_>) -> u64 {
        match self {
            Arithmetic::Add | Arithmetic::Sub => a.bits().max(b.bits()) + 1,
            Arithmetic::Mul => a.bits() + b.bits(),
            Arithmetic::Div | Arithmetic::FloorDiv => a.bits(),
            // A floored remainder takes the divisor's sign, so it may be as large as the divisor.
            Arithmetic::Mod | Arithmetic::FloorMod => b.bits(),
        }
    }

    /// `a op b` with num-bigint; `a` is taken by value so that the result can reuse its digits.
    pub fn big(self, a: BigInt, b: &BigInt) -> BigInt {
        match self {
            Arithmetic::Add => a + b,
            Arithmetic::Sub => a - b,
            Arithmetic::Mul => a * b,
            Arithmetic::Div => a / b,
            Arithmetic::Mod => a % b,
            Arithmetic::FloorDiv => a.div_floor(b),
            Arithmetic::FloorMod => a.mod_floor(b),
        }
    }
}

/// A bigint and a factor that fits in 32 bits, when the product is one of those by the other.
pub fn scaling<'a>(a: &Operand<'a>, b: &Operand<'a>) -> Option<(View<'a>, i64)> {
    let factor = |operand: &Operand<'_>| match operand {
        Operand::Small(value) if value.unsigned_abs() <= u128::from(u32::MAX) => Some(*value as i64),
        _ => None,
    };
    match (a, b) {
        (Operand::Digits(view), other) | (other, Operand::Digits(view)) => Some((*view, factor(other)?)),
        _ => None,
    }
}

/// Compares two operands without copying digits when both are small.
pub fn compare(a: &Operand<'_>, b: &Operand<'_>) -> Ordering {
    match (a.small(), b.small()) {
        (Some(a), Some(b)) => a.cmp(&b),
        _ => a.big().cmp(&b.big()),
    }
}
