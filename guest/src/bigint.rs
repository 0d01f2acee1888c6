//! `require('bigint')`: integers of any size, for money and token arithmetic where a float is a
//! bug (docs/BIGINT.md). A bigint is a userdata holding a `num_bigint::BigInt`; operators and the
//! module's functions take bigints, Lua integers and numeric strings on either side.
//!
//! Division: `/`, `bigint.div` and `bigint.mod` truncate toward zero (the seeds' `div`; the
//! remainder has the dividend's sign); `//` and `%` floor, as Lua's integer operators do (the
//! remainder has the divisor's sign). Each pair keeps `a == q * b + r`.

use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::ffi::c_void;
use std::rc::{Rc, Weak};

use mlua::{
    AnyUserData, FromLuaMulti, Function, IntoLua, Lua, LuaString, MetaMethod, Table, UserData, UserDataFields,
    UserDataMethods, UserDataRef, Value,
};
use num_bigint::BigInt;
use num_integer::Integer;
use num_traits::{FromPrimitive, One, Signed, ToPrimitive, Zero};

use crate::errors::BIGINT_OVERFLOW;
use crate::limits;

thread_local! {
    /// Bytes of digits held by live bigints: they live outside the Lua heap, which the memory
    /// limit otherwise covers.
    static HELD: Cell<usize> = const { Cell::new(0) };
    /// Bigints by the address of their userdata, for the value conversion, which walks Lua's
    /// stack with the C API and sees only that address. Entries of collected bigints stay until
    /// pruned; a dead entry never answers, and a new bigint at the same address replaces it.
    static LIVE: RefCell<Registry> = RefCell::new(Registry::default());
}

#[derive(Default)]
struct Registry {
    entries: HashMap<usize, Weak<BigInt>>,
    /// Bigints alive now.
    alive: usize,
}

/// A bigint in Lua.
pub struct Big {
    value: Rc<BigInt>,
}

impl Drop for Big {
    fn drop(&mut self) {
        HELD.with(|held| held.set(held.get().saturating_sub(digit_bytes(&self.value))));
        LIVE.with(|live| live.borrow_mut().alive -= 1);
    }
}

/// The value of the bigint whose userdata is at `address` (`lua_touserdata`), if it is one.
pub fn at_address(address: *const c_void) -> Option<Rc<BigInt>> {
    LIVE.with(|live| live.borrow().entries.get(&(address as usize)).and_then(Weak::upgrade))
}

/// The value of `userdata` if it is a bigint.
pub fn of_userdata(userdata: &AnyUserData) -> Option<Rc<BigInt>> {
    userdata.borrow::<Big>().ok().map(|big| Rc::clone(&big.value))
}

fn digit_bytes(value: &BigInt) -> usize {
    usize::try_from(value.bits().div_ceil(8)).unwrap_or(usize::MAX)
}

/// What bigints need of their Lua state, kept with it.
struct Budget {
    /// The unit's memory limit (0 = none).
    limit: usize,
    /// Whether the bigint metatable's metamethods are wrapped yet ([`WRAPPED_METAMETHODS`]).
    ready: Cell<bool>,
}

/// Registry names: the sandbox's own `error`, kept before any script can replace the global, and
/// the compiled [`WRAPPER`].
const ERROR_KEY: &str = "cu.bigint.error";
const WRAP_KEY: &str = "cu.bigint.wrap";

/// Prepares a Lua state for bigints, whose memory limit is `limit` bytes (0 = none). Cheap: the
/// module and the metatable are made when first used, so units that never use bigints do not
/// pay for them.
pub fn install(lua: &Lua, limit: usize) -> mlua::Result<()> {
    lua.set_app_data(Budget { limit, ready: Cell::new(false) });
    lua.set_named_registry_value(ERROR_KEY, lua.globals().raw_get::<Function>("error")?)
}

/// [`WRAPPER`], compiled once per state.
fn wrapper(lua: &Lua) -> mlua::Result<Function> {
    if let Some(wrap) = lua.named_registry_value::<Option<Function>>(WRAP_KEY)? {
        return Ok(wrap);
    }
    let error: Function = lua.named_registry_value(ERROR_KEY)?;
    let wrap: Function = lua.load(WRAPPER).set_name("=[cu]").call(error)?;
    lua.set_named_registry_value(WRAP_KEY, &wrap)?;
    Ok(wrap)
}

/// Wraps the metamethods of the bigint metatable (which mlua makes with the first bigint) so
/// that they raise plain string errors.
fn wrap_metamethods(lua: &Lua) -> mlua::Result<()> {
    let meta = made(lua, BigInt::zero())?.metatable()?;
    let wrap = wrapper(lua)?;
    for name in WRAPPED_METAMETHODS {
        meta.set(name, wrap.call::<Function>(meta.get::<Function>(name)?)?)?;
    }
    Ok(())
}

/// Fails with a memory limit error unless `bytes` more of digits fit beside the Lua heap and the
/// bigints alive; collects garbage first, since dead bigints free their digits only when
/// collected.
fn reserve(lua: &Lua, bytes: usize) -> mlua::Result<()> {
    let (limit, ready) = lua.app_data_ref::<Budget>().map_or((0, true), |budget| (budget.limit, budget.ready.get()));
    // Every bigint is made after a reservation: the first one readies the metatable (making a
    // bigint itself, without a reservation), and marks it ready only once that has worked.
    if !ready {
        wrap_metamethods(lua)?;
        if let Some(budget) = lua.app_data_ref::<Budget>() {
            budget.ready.set(true);
        }
    }
    let limit = limits::outside_heap(limit);
    let fits = |lua: &Lua| HELD.with(Cell::get).saturating_add(bytes).saturating_add(lua.used_memory()) <= limit;
    if fits(lua) {
        return Ok(());
    }
    lua.gc_collect()?;
    lua.gc_collect()?;
    if fits(lua) {
        return Ok(());
    }
    Err(mlua::Error::MemoryError(format!("{BIGINT_OVERFLOW}: a result of about {bytes} bytes does not fit in {limit}")))
}

/// A new bigint userdata holding `value`, if its digits fit the memory limit.
pub fn push(lua: &Lua, value: BigInt) -> mlua::Result<AnyUserData> {
    reserve(lua, digit_bytes(&value))?;
    made(lua, value)
}

/// A new bigint userdata holding `value`, whose size was checked already.
fn made(lua: &Lua, value: BigInt) -> mlua::Result<AnyUserData> {
    let bytes = digit_bytes(&value);
    let value = Rc::new(value);
    let weak = Rc::downgrade(&value);
    let userdata = lua.create_userdata(Big { value })?;
    HELD.with(|held| held.set(held.get().saturating_add(bytes)));
    LIVE.with(|live| {
        let mut live = live.borrow_mut();
        live.alive += 1;
        live.entries.insert(userdata.to_pointer() as usize, weak);
        // Dead entries are dropped once they outnumber the living.
        if live.entries.len() > 2 * live.alive + 64 {
            live.entries.retain(|_, entry| entry.strong_count() > 0);
        }
    });
    Ok(userdata)
}

/// An operand: a bigint borrowed from Lua or a value converted from a Lua integer or string.
enum Operand {
    Borrowed(UserDataRef<Big>),
    Owned(BigInt),
}

impl std::ops::Deref for Operand {
    type Target = BigInt;

    fn deref(&self) -> &BigInt {
        match self {
            Operand::Borrowed(big) => &big.value,
            Operand::Owned(value) => value,
        }
    }
}

fn error(message: String) -> mlua::Error {
    mlua::Error::RuntimeError(message)
}

/// `value` as an operand of `what`: a bigint, a Lua integer, or a string of a number.
fn operand(value: &Value, what: &str) -> mlua::Result<Operand> {
    match value {
        // One type check: borrowing checks the type.
        Value::UserData(ud) if let Ok(big) = ud.borrow::<Big>() => Ok(Operand::Borrowed(big)),
        Value::Integer(i) => Ok(Operand::Owned(BigInt::from(*i))),
        Value::String(s) => parse(&s.as_bytes(), None, what).map(Operand::Owned),
        Value::Number(n) => Err(error(format!(
            "bigint {what}: {n} is a float; bigints are exact: use an integer, a string, or math.tointeger"
        ))),
        other => Err(error(format!(
            "bigint {what}: expected a bigint, an integer or a numeric string, got {}",
            other.type_name()
        ))),
    }
}

/// Parses `text`: an optional sign, then digits in `base` (default 10, or 16 after `0x`).
fn parse(text: &[u8], base: Option<u32>, what: &str) -> mlua::Result<BigInt> {
    let shown = || String::from_utf8_lossy(text).into_owned();
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
    let magnitude = valid.then(|| BigInt::parse_bytes(digits, base)).flatten();
    let magnitude =
        magnitude.ok_or_else(|| error(format!("bigint {what}: '{}' is not a number in base {base}", shown())))?;
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

fn base_arg(base: Option<i64>, what: &str) -> mlua::Result<Option<u32>> {
    match base {
        None => Ok(None),
        Some(b @ 2..=36) => Ok(Some(b as u32)),
        Some(b) => Err(error(format!("bigint {what}: base {b} is out of range: bases go from 2 to 36"))),
    }
}

/// An upper bound of the bits of a binary operation's result.
type Estimate = fn(&BigInt, &BigInt) -> u64;
/// A binary operation; `None` for a division by zero.
type Operation = fn(&BigInt, &BigInt) -> Option<BigInt>;

/// Runs a binary operation on two operands, checking first that its result's estimated size fits.
fn binary(
    lua: &Lua,
    (a, b): (Value, Value),
    what: &str,
    estimate: Estimate,
    op: Operation,
) -> mlua::Result<AnyUserData> {
    let (a, b) = (operand(&a, what)?, operand(&b, what)?);
    reserve(lua, usize::try_from(estimate(&a, &b).div_ceil(8)).unwrap_or(usize::MAX))?;
    let result = op(&a, &b).ok_or_else(|| error(format!("bigint {what}: division by zero")))?;
    drop((a, b));
    // The estimate bounded the result: checking again would only cost time.
    made(lua, result)
}

fn sum_bits(a: &BigInt, b: &BigInt) -> u64 {
    a.bits().max(b.bits()) + 1
}

fn product_bits(a: &BigInt, b: &BigInt) -> u64 {
    a.bits() + b.bits()
}

fn quotient_bits(a: &BigInt, _: &BigInt) -> u64 {
    a.bits()
}

/// A floored remainder takes the divisor's sign, so it may be as large as the divisor.
fn remainder_bits(a: &BigInt, b: &BigInt) -> u64 {
    a.bits().max(b.bits())
}

fn add(a: &BigInt, b: &BigInt) -> Option<BigInt> {
    Some(a + b)
}

fn sub(a: &BigInt, b: &BigInt) -> Option<BigInt> {
    Some(a - b)
}

fn mul(a: &BigInt, b: &BigInt) -> Option<BigInt> {
    Some(a * b)
}

fn div_trunc(a: &BigInt, b: &BigInt) -> Option<BigInt> {
    (!b.is_zero()).then(|| a / b)
}

fn mod_trunc(a: &BigInt, b: &BigInt) -> Option<BigInt> {
    (!b.is_zero()).then(|| a % b)
}

fn div_floor(a: &BigInt, b: &BigInt) -> Option<BigInt> {
    (!b.is_zero()).then(|| a.div_floor(b))
}

fn mod_floor(a: &BigInt, b: &BigInt) -> Option<BigInt> {
    (!b.is_zero()).then(|| a.mod_floor(b))
}

/// `a ^ b`, after checking that `b` is a small enough non-negative integer and the result fits.
fn pow(lua: &Lua, (a, b): (Value, Value)) -> mlua::Result<AnyUserData> {
    let (base, exponent) = (operand(&a, "pow")?, operand(&b, "pow")?);
    if exponent.is_negative() {
        return Err(error(format!("bigint pow: the exponent {} is negative: bigints have no fractions", *exponent)));
    }
    let exponent = exponent.to_u32().ok_or_else(|| error("bigint pow: the exponent is too large".into()))?;
    let bits = if base.abs().is_one() || base.is_zero() { 1 } else { base.bits().saturating_mul(u64::from(exponent)) };
    reserve(lua, usize::try_from(bits.div_ceil(8)).unwrap_or(usize::MAX))?;
    let result = num_traits::pow::Pow::pow(&*base, exponent);
    drop((base, exponent));
    push(lua, result)
}

fn unary(lua: &Lua, value: Value, what: &str, op: fn(&BigInt) -> BigInt) -> mlua::Result<AnyUserData> {
    let value = operand(&value, what)?;
    let result = op(&value);
    drop(value);
    push(lua, result)
}

fn compare(a: &Value, b: &Value) -> mlua::Result<std::cmp::Ordering> {
    let (a, b) = (operand(a, "comparison")?, operand(b, "comparison")?);
    Ok((*a).cmp(&*b))
}

/// The text of `value` in `base` (2 to 36; 10 by default), with a `-` when negative.
fn text(lua: &Lua, value: &BigInt, base: u32) -> mlua::Result<LuaString> {
    // Each digit is at least one bit, and the text is a Lua string: the heap limit covers it.
    lua.create_string(value.to_str_radix(base))
}

fn to_integer(value: &BigInt) -> mlua::Result<i64> {
    value.to_i64().ok_or_else(|| error(format!("bigint tonumber: {value} does not fit in a Lua integer")))
}

/// Any value as a bigint, for `bigint.new`: also a float with an integral value.
fn new_value(value: &Value, base: Option<u32>) -> mlua::Result<BigInt> {
    match (value, base) {
        (Value::String(s), _) => parse(&s.as_bytes(), base, "new"),
        (_, Some(_)) => Err(error("bigint new: a base goes with a string of digits".into())),
        (Value::Number(n), None) => BigInt::from_f64(*n)
            .filter(|b| b.to_f64() == Some(*n))
            .ok_or_else(|| error(format!("bigint new: {n} is not an integer"))),
        (other, None) => operand(other, "new").map(|o| (*o).clone()),
    }
}

impl UserData for Big {
    fn add_fields<F: UserDataFields<Self>>(fields: &mut F) {
        // The type name in Lua's messages ("attempt to call a bigint value").
        fields.add_meta_field("__name", "bigint");
    }

    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods.add_meta_function(MetaMethod::Add, reported(|lua, args| binary(lua, args, "+", sum_bits, add)));
        methods.add_meta_function(MetaMethod::Sub, reported(|lua, args| binary(lua, args, "-", sum_bits, sub)));
        methods.add_meta_function(MetaMethod::Mul, reported(|lua, args| binary(lua, args, "*", product_bits, mul)));
        methods
            .add_meta_function(MetaMethod::Div, reported(|lua, args| binary(lua, args, "/", quotient_bits, div_trunc)));
        methods.add_meta_function(
            MetaMethod::IDiv,
            reported(|lua, args| binary(lua, args, "//", quotient_bits, div_floor)),
        );
        methods.add_meta_function(
            MetaMethod::Mod,
            reported(|lua, args| binary(lua, args, "%", remainder_bits, mod_floor)),
        );
        methods.add_meta_function(MetaMethod::Pow, reported(pow));
        methods.add_meta_function(
            MetaMethod::Unm,
            reported(|lua, (value, _): (Value, Value)| unary(lua, value, "-", |v| -v)),
        );
        methods.add_meta_function(MetaMethod::Eq, reported(|_, (a, b): (Value, Value)| Ok(compare(&a, &b)?.is_eq())));
        methods.add_meta_function(MetaMethod::Lt, reported(|_, (a, b): (Value, Value)| Ok(compare(&a, &b)?.is_lt())));
        methods.add_meta_function(MetaMethod::Le, reported(|_, (a, b): (Value, Value)| Ok(compare(&a, &b)?.is_le())));
        methods.add_meta_function(
            MetaMethod::ToString,
            reported(|lua, value: Value| text(lua, &*operand(&value, "tostring")?, 10)),
        );
        methods.add_meta_function(
            MetaMethod::Concat,
            reported(|lua, (a, b): (Value, Value)| {
                let piece = |v: &Value| -> mlua::Result<Vec<u8>> {
                    match v {
                        Value::UserData(ud) if ud.is::<Big>() => Ok(ud.borrow::<Big>()?.value.to_string().into_bytes()),
                        Value::String(s) => Ok(s.as_bytes().to_vec()),
                        Value::Integer(i) => Ok(i.to_string().into_bytes()),
                        Value::Number(n) => {
                            Ok(lua.coerce_string(Value::Number(*n))?.map_or_else(Vec::new, |s| s.as_bytes().to_vec()))
                        }
                        other => Err(error(format!("attempt to concatenate a bigint with a {}", other.type_name()))),
                    }
                };
                lua.create_string([piece(&a)?, piece(&b)?].concat())
            }),
        );
    }
}

/// A function answering `(true, value)` or `(false, message)` as one that returns the value or
/// raises the message as a string error at its caller's line.
const WRAPPER: &str = r#"
local error = ...
return function(f)
    return function(...)
        local ok, value = f(...)
        if ok then return value end
        error(value, 2)
    end
end
"#;

/// The metamethods registered through [`reported`], which [`WRAPPER`] turns back into raising ones.
const WRAPPED_METAMETHODS: [MetaMethod; 13] = [
    MetaMethod::Add,
    MetaMethod::Sub,
    MetaMethod::Mul,
    MetaMethod::Div,
    MetaMethod::IDiv,
    MetaMethod::Mod,
    MetaMethod::Pow,
    MetaMethod::Unm,
    MetaMethod::Eq,
    MetaMethod::Lt,
    MetaMethod::Le,
    MetaMethod::Concat,
    MetaMethod::ToString,
];

/// `f` answering `(true, value)`, or `(false, message)` for an error a script should see as a
/// plain string (mlua would hand `pcall` a userdata). Memory errors stay errors, so that they
/// remain memory limit errors.
fn reported<A: FromLuaMulti, R: IntoLua>(
    f: impl Fn(&Lua, A) -> mlua::Result<R>,
) -> impl Fn(&Lua, A) -> mlua::Result<(bool, Value)> {
    move |lua, args| match f(lua, args) {
        Ok(value) => Ok((true, value.into_lua(lua)?)),
        Err(mlua::Error::RuntimeError(message)) => Ok((false, Value::String(lua.create_string(message)?))),
        Err(other) => Err(other),
    }
}

/// The module table `require('bigint')` returns (after [`install`]).
pub fn module(lua: &Lua) -> mlua::Result<Table> {
    let module = lua.create_table()?;
    module.raw_set(
        "new",
        lua.create_function(reported(|lua, (value, base): (Value, Option<i64>)| {
            let base = base_arg(base, "new")?;
            let value = new_value(&value, base)?;
            push(lua, value)
        }))?,
    )?;
    let binaries: [(&str, Estimate, Operation); 5] = [
        ("add", sum_bits, add),
        ("sub", sum_bits, sub),
        ("mul", product_bits, mul),
        ("div", quotient_bits, div_trunc),
        ("mod", remainder_bits, mod_trunc),
    ];
    for (name, estimate, op) in binaries {
        module.raw_set(name, lua.create_function(reported(move |lua, args| binary(lua, args, name, estimate, op)))?)?;
    }
    module.raw_set("pow", lua.create_function(reported(pow))?)?;
    module.raw_set("abs", lua.create_function(reported(|lua, v: Value| unary(lua, v, "abs", BigInt::abs)))?)?;
    module.raw_set("neg", lua.create_function(reported(|lua, v: Value| unary(lua, v, "neg", |v| -v)))?)?;
    module.raw_set("cmp", lua.create_function(reported(|_, (a, b): (Value, Value)| Ok(compare(&a, &b)? as i8)))?)?;
    module.raw_set(
        "tostring",
        lua.create_function(reported(|lua, (value, base): (Value, Option<i64>)| {
            let base = base_arg(base, "tostring")?.unwrap_or(10);
            text(lua, &*operand(&value, "tostring")?, base)
        }))?,
    )?;
    module.raw_set(
        "tonumber",
        lua.create_function(reported(|_, value: Value| to_integer(&*operand(&value, "tonumber")?)))?,
    )?;
    module.raw_set(
        "isbigint",
        lua.create_function(reported(|_, value: Value| Ok(matches!(&value, Value::UserData(ud) if ud.is::<Big>()))))?,
    )?;

    // Everything above answers (ok, value or message); the Lua wrapper raises the message as a
    // plain string error pointing at the caller's line.
    let wrap = wrapper(lua)?;
    for pair in module.clone().pairs::<LuaString, Function>() {
        let (name, function) = pair?;
        module.raw_set(name, wrap.call::<Function>(function)?)?;
    }
    Ok(module)
}
