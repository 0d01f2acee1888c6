//! The bigint metamethods and module functions, on Lua's C API: an operation is one C call and one
//! new block, with no Rust callback machinery in between.
//!
//! Every function keeps the bigint metatable as its first upvalue. Each does its work in an inner
//! function that returns what went wrong, so that everything it owned is dropped before the outer
//! function raises the error (raising leaves by a long jump, past any destructor).

use std::cmp::Ordering;
use std::ffi::{CStr, c_int};
use std::ptr;

use mlua::ffi::{self, lua_State};
use num_traits::{FromPrimitive, Pow, Signed};

use super::block;
use super::message::{Message, Text};
use super::number::{self, Arithmetic, Operand};
use super::registry;
use crate::errors::BIGINT_OVERFLOW;

/// Where each function finds the bigint metatable.
const META: c_int = ffi::lua_upvalueindex(1);

/// Results up to this size are computed without asking first whether they fit: the block that
/// holds one is checked by Lua's allocator, and the computation's own copy is short-lived.
const UNCHECKED_BYTES: u64 = 1 << 20;

/// Why a function failed.
#[derive(Debug)]
enum Failure {
    /// A plain string error at the caller's line.
    Error(Message),
    /// A result too large for the memory limit.
    TooLarge(Message),
    /// A protected allocation failed with this status; its error object is on the stack.
    Raised(c_int),
}

impl From<Message> for Failure {
    fn from(message: Message) -> Self {
        Failure::Error(message)
    }
}

macro_rules! error {
    ($($arg:tt)*) => { Failure::Error(Message::new(format_args!($($arg)*))) };
}

/// Finishes a call whose work returned `outcome`: its one result, or the error raised.
unsafe fn finish(state: *mut lua_State, outcome: Result<(), Failure>) -> c_int {
    // SAFETY: the work function has returned, so nothing it owned is left to drop.
    unsafe {
        match outcome {
            Ok(()) => 1,
            Err(Failure::Error(message)) => {
                let message = message.take();
                ffi::luaL_where(state, 1);
                ffi::lua_pushlstring(state, message.as_bytes().as_ptr().cast(), message.as_bytes().len());
                ffi::lua_concat(state, 2);
                ffi::lua_error(state)
            }
            Err(Failure::TooLarge(message)) => registry::raise_memory_error(state, message.take().as_bytes()),
            Err(Failure::Raised(status)) => registry::reraise(state, status),
        }
    }
}

/// Declares the C function `$name`, which runs `$work(state, args...)` and finishes the call.
macro_rules! lua_function {
    ($name:ident = $work:ident($($arg:expr),*)) => {
        unsafe extern "C-unwind" fn $name(state: *mut lua_State) -> c_int {
            // SAFETY: Lua calls this with the bigint metatable as upvalue 1 (see `METAMETHODS` and `MODULE`).
            unsafe {
                let outcome = $work(state, $($arg),*);
                finish(state, outcome)
            }
        }
    };
}

/// Arithmetic operators and module functions, by the name errors give them.
const ARITHMETIC: [(Arithmetic, &str); 11] = [
    (Arithmetic::Add, "+"),
    (Arithmetic::Sub, "-"),
    (Arithmetic::Mul, "*"),
    (Arithmetic::Div, "/"),
    (Arithmetic::FloorDiv, "//"),
    (Arithmetic::FloorMod, "%"),
    (Arithmetic::Add, "add"),
    (Arithmetic::Sub, "sub"),
    (Arithmetic::Mul, "mul"),
    (Arithmetic::Div, "div"),
    (Arithmetic::Mod, "mod"),
];

unsafe extern "C-unwind" fn arithmetic<const OP: usize>(state: *mut lua_State) -> c_int {
    let (kind, what) = ARITHMETIC[OP];
    // SAFETY: as in `lua_function!`.
    unsafe {
        let outcome = binary(state, kind, what);
        finish(state, outcome)
    }
}

unsafe fn binary(state: *mut lua_State, kind: Arithmetic, what: &str) -> Result<(), Failure> {
    // SAFETY: arguments 1 and 2 stay on the stack while their views are used.
    unsafe {
        let (a, b) = (number::operand(state, 1, META, what)?, number::operand(state, 2, META, what)?);
        if let (Some(x), Some(y)) = (a.small(), b.small())
            && !(kind.divides() && y == 0)
            && let Some(result) = kind.small(x, y)
        {
            block::push_small(state, result, META);
            return Ok(());
        }
        large(state, kind, what, a, b)
    }
}

/// [`binary`] past `i128`, kept out of its fast path.
#[inline(never)]
unsafe fn large(
    state: *mut lua_State,
    kind: Arithmetic,
    what: &str,
    a: Operand<'_>,
    b: Operand<'_>,
) -> Result<(), Failure> {
    // SAFETY: as in `binary`.
    unsafe {
        if kind.divides() && b.is_zero() {
            return Err(error!("bigint {what}: division by zero"));
        }
        if let Arithmetic::Mul = kind
            && let Some((view, factor)) = number::scaling(&a, &b)
        {
            block::push_scaled(state, view, factor.unsigned_abs() as u32, view.negative != (factor < 0), META);
            return Ok(());
        }
        fits(state, kind.estimate(&a, &b))?;
        let result = kind.big(a.into_big(), &b.big());
        drop(b);
        block::push_owned(state, &result, META).map_err(Failure::Raised)
    }
}

lua_function!(power_operator = power("^"));
lua_function!(power_function = power("pow"));

unsafe fn power(state: *mut lua_State, what: &str) -> Result<(), Failure> {
    // SAFETY: as in `binary`.
    unsafe {
        let (base, exponent) = (number::operand(state, 1, META, what)?, number::operand(state, 2, META, what)?);
        if exponent.is_negative() {
            return Err(error!("bigint {what}: the exponent {exponent} is negative: bigints have no fractions"));
        }
        let exponent = exponent
            .small()
            .and_then(|e| u32::try_from(e).ok())
            .ok_or_else(|| error!("bigint {what}: the exponent {exponent} is too large"))?;
        if let Some(result) = base.small().and_then(|b| b.checked_pow(exponent)) {
            block::push_small(state, result, META);
            return Ok(());
        }
        let unit = base.bits() <= 1;
        fits(state, if unit { 1 } else { base.bits().saturating_mul(u64::from(exponent)) })?;
        let result = Pow::pow(base.into_big(), exponent);
        block::push_owned(state, &result, META).map_err(Failure::Raised)
    }
}

lua_function!(negate_operator = unary("-", true));
lua_function!(negate_function = unary("neg", true));
lua_function!(absolute = unary("abs", false));

/// Negation (`negate`) or the absolute value.
unsafe fn unary(state: *mut lua_State, what: &str, negate: bool) -> Result<(), Failure> {
    // SAFETY: as in `binary`.
    unsafe {
        match number::operand(state, 1, META, what)? {
            Operand::Small(value) => block::push_small(state, if negate { -value } else { value.abs() }, META),
            Operand::Digits(view) => block::push_copy(state, view, negate && !view.negative, META),
            Operand::Parsed(value) => {
                let result = if negate { -value } else { value.abs() };
                return block::push_owned(state, &result, META).map_err(Failure::Raised);
            }
        }
        Ok(())
    }
}

lua_function!(less = ordered("comparison", |o| o.is_lt()));
lua_function!(less_or_equal = ordered("comparison", |o| o.is_le()));

unsafe fn ordered(state: *mut lua_State, what: &str, test: fn(Ordering) -> bool) -> Result<(), Failure> {
    // SAFETY: as in `binary`.
    unsafe {
        let ordering = ordering(state, what)?;
        ffi::lua_pushboolean(state, c_int::from(test(ordering)));
        Ok(())
    }
}

unsafe fn ordering(state: *mut lua_State, what: &str) -> Result<Ordering, Failure> {
    // SAFETY: as in `binary`.
    unsafe {
        let (a, b) = (number::operand(state, 1, META, what)?, number::operand(state, 2, META, what)?);
        Ok(number::compare(&a, &b))
    }
}

lua_function!(compare = three_way());

unsafe fn three_way(state: *mut lua_State) -> Result<(), Failure> {
    // SAFETY: as in `binary`.
    unsafe {
        let ordering = ordering(state, "cmp")?;
        ffi::lua_pushinteger(state, ordering as ffi::lua_Integer);
        Ok(())
    }
}

lua_function!(equal = equality());

/// `==` of two userdata: equal bigints are equal; a bigint is never equal to another userdata.
unsafe fn equality(state: *mut lua_State) -> Result<(), Failure> {
    // SAFETY: as in `binary`.
    unsafe {
        let views = (block::view(state, 1, META), block::view(state, 2, META));
        let equal = match views {
            (Some(a), Some(b)) => number::compare(&Operand::Digits(a), &Operand::Digits(b)).is_eq(),
            _ => false,
        };
        ffi::lua_pushboolean(state, c_int::from(equal));
        Ok(())
    }
}

lua_function!(to_string_operator = text("tostring", false));
lua_function!(to_string_function = text("tostring", true));

/// The digits of argument 1, in the base of argument 2 when `based`.
unsafe fn text(state: *mut lua_State, what: &str, based: bool) -> Result<(), Failure> {
    // SAFETY: as in `binary`.
    unsafe {
        let base = if based { base_argument(state, 2, what)?.unwrap_or(10) } else { 10 };
        let value = number::operand(state, 1, META, what)?;
        push_digits(state, &value, base)
    }
}

/// Pushes `value`'s digits in `base`: a short decimal from the stack, anything else in protected
/// mode.
unsafe fn push_digits(state: *mut lua_State, value: &Operand<'_>, base: u32) -> Result<(), Failure> {
    // SAFETY: the text outlives each push.
    unsafe {
        if base == 10
            && let Some(small) = value.small()
        {
            let digits = Text::new(format_args!("{small}"));
            ffi::lua_pushlstring(state, digits.as_bytes().as_ptr().cast(), digits.as_bytes().len());
            return Ok(());
        }
        let digits = value.big().to_str_radix(base);
        block::push_owned_text(state, digits.as_bytes()).map_err(Failure::Raised)
    }
}

lua_function!(concatenate = concatenation());

/// `a .. b` where one side is a bigint: its decimal digits joined with a string or a number.
unsafe fn concatenation(state: *mut lua_State) -> Result<(), Failure> {
    // SAFETY: as in `binary`; Lua turns a number into a string when it concatenates.
    unsafe {
        for index in [1, 2] {
            if let Some(view) = block::view(state, index, META) {
                push_digits(state, &Operand::Digits(view), 10)?;
                continue;
            }
            match ffi::lua_type(state, index) {
                ffi::LUA_TSTRING | ffi::LUA_TNUMBER => ffi::lua_pushvalue(state, index),
                other => {
                    return Err(error!("attempt to concatenate a bigint with a {}", number::type_name(state, other)));
                }
            }
        }
        ffi::lua_concat(state, 2);
        Ok(())
    }
}

lua_function!(new = construct());

/// `bigint.new(value [, base])`.
unsafe fn construct(state: *mut lua_State) -> Result<(), Failure> {
    // SAFETY: as in `binary`.
    unsafe {
        let base = base_argument(state, 2, "new")?;
        let value = match (ffi::lua_type(state, 1), base) {
            (ffi::LUA_TSTRING, _) => number::small_or_parsed(number::parse(number::string_at(state, 1), base, "new")?),
            (_, Some(_)) => return Err(error!("bigint new: a base goes with a string of digits")),
            (ffi::LUA_TNUMBER, None) if ffi::lua_isinteger(state, 1) == 0 => {
                let float = ffi::lua_tonumberx(state, 1, ptr::null_mut());
                let integral = (float.fract() == 0.0).then(|| num_bigint::BigInt::from_f64(float)).flatten();
                number::small_or_parsed(integral.ok_or_else(|| error!("bigint new: {float} is not an integer"))?)
            }
            _ => number::operand(state, 1, META, "new")?,
        };
        match value {
            Operand::Small(small) => block::push_small(state, small, META),
            // Bigints never change: the same one will do.
            Operand::Digits(_) => ffi::lua_pushvalue(state, 1),
            Operand::Parsed(big) => return block::push_owned(state, &big, META).map_err(Failure::Raised),
        }
        Ok(())
    }
}

lua_function!(to_integer = integer());

/// `bigint.tonumber(x)`: a Lua integer, or an error when it does not fit.
unsafe fn integer(state: *mut lua_State) -> Result<(), Failure> {
    // SAFETY: as in `binary`.
    unsafe {
        let value = number::operand(state, 1, META, "tonumber")?;
        let integer = value.small().and_then(|v| i64::try_from(v).ok());
        let integer = integer.ok_or_else(|| error!("bigint tonumber: {value} does not fit in a Lua integer"))?;
        ffi::lua_pushinteger(state, integer);
        Ok(())
    }
}

lua_function!(is_bigint = kind());

unsafe fn kind(state: *mut lua_State) -> Result<(), Failure> {
    // SAFETY: argument 1 exists or is none, which `view` reads as not a bigint.
    unsafe {
        let yes = block::view(state, 1, META).is_some();
        ffi::lua_pushboolean(state, c_int::from(yes));
        Ok(())
    }
}

/// The base at `index`: none, or an integer from 2 to 36.
unsafe fn base_argument(state: *mut lua_State, index: c_int, what: &str) -> Result<Option<u32>, Failure> {
    // SAFETY: reading an argument that may be absent.
    unsafe {
        if ffi::lua_isnoneornil(state, index) != 0 {
            return Ok(None);
        }
        if ffi::lua_isinteger(state, index) == 0 {
            return Err(error!("bigint {what}: the base must be an integer from 2 to 36"));
        }
        match ffi::lua_tointegerx(state, index, ptr::null_mut()) {
            base @ 2..=36 => Ok(Some(base as u32)),
            base => Err(error!("bigint {what}: base {base} is out of range: bases go from 2 to 36")),
        }
    }
}

/// Fails with a memory limit error when a result of `bits` could not fit beside the Lua heap,
/// even after a full collection; small results are left to Lua's allocator.
unsafe fn fits(state: *mut lua_State, bits: u64) -> Result<(), Failure> {
    let bytes = bits.div_ceil(8);
    if bytes <= UNCHECKED_BYTES {
        return Ok(());
    }
    // SAFETY: reading the limit and the heap size, and collecting, are plain API calls.
    unsafe {
        let limit = registry::limit(state) as u64;
        let used = || ffi::lua_gc(state, ffi::LUA_GCCOUNT) as u64 * 1024 + ffi::lua_gc(state, ffi::LUA_GCCOUNTB) as u64;
        if used().saturating_add(bytes) <= limit {
            return Ok(());
        }
        ffi::lua_gc(state, ffi::LUA_GCCOLLECT);
        if used().saturating_add(bytes) <= limit {
            return Ok(());
        }
        Err(Failure::TooLarge(Message::new(format_args!(
            "{BIGINT_OVERFLOW}: a result of about {bytes} bytes does not fit in {limit}"
        ))))
    }
}

/// The metamethods and the module's functions, by name.
pub const METAMETHODS: [(&CStr, ffi::lua_CFunction); 13] = [
    (c"__add", arithmetic::<0>),
    (c"__sub", arithmetic::<1>),
    (c"__mul", arithmetic::<2>),
    (c"__div", arithmetic::<3>),
    (c"__idiv", arithmetic::<4>),
    (c"__mod", arithmetic::<5>),
    (c"__pow", power_operator),
    (c"__unm", negate_operator),
    (c"__eq", equal),
    (c"__lt", less),
    (c"__le", less_or_equal),
    (c"__tostring", to_string_operator),
    (c"__concat", concatenate),
];

pub const MODULE: [(&CStr, ffi::lua_CFunction); 13] = [
    (c"new", new),
    (c"add", arithmetic::<6>),
    (c"sub", arithmetic::<7>),
    (c"mul", arithmetic::<8>),
    (c"div", arithmetic::<9>),
    (c"mod", arithmetic::<10>),
    (c"pow", power_function),
    (c"abs", absolute),
    (c"neg", negate_function),
    (c"cmp", compare),
    (c"tostring", to_string_function),
    (c"tonumber", to_integer),
    (c"isbigint", is_bigint),
];
