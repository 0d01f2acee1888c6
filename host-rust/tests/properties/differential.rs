//! The compiled interpreter against native Lua: random expressions over integers, floats and
//! strings give the same result in cu as in Lua 5.4 built natively by mlua's `vendored` feature
//! from the same lua-src package (5.4.9) the guest compiles. Both are the same C code; what could
//! differ is the compiler and platform (clang for wasm32 against the host's cc, wasi-libc's
//! printf, strtod and libm against glibc's), the guest's patches (its instruction budget), and the
//! sandbox. Each expression runs under `pcall`, so an error is compared too, message included:
//! the messages are Lua's own and name the same chunk (`expr:1:`) in both. One kind of message
//! legitimately differs: when two arguments of a C library function are both wrong, which one
//! `bad argument #n to 'f' (...)` names depends on the order the C compiler evaluates the
//! arguments of a call (unspecified in C: `fmod(luaL_checknumber(L, 1), luaL_checknumber(L, 2))`
//! checks argument 2 first when built by GCC for x86-64, argument 1 first by clang for wasm32),
//! so such a message is compared up to `bad argument`.
//!
//! The math library's transcendental functions are apart: C does not require them to be
//! correctly rounded, and glibc's and wasi-libc's (musl's) differ in the last bit for some
//! arguments: the trigonometric ones come from different sources (`math.atan(-32,
//! math.sin(-9.0))` is -1.5836743175047931 natively, -1.5836743175047934 in cu), and even `pow`,
//! which both take from ARM's optimized routines, rounds differently where glibc uses the x86-64
//! FMA instruction that wasm32 lacks (`2.2250738585072014e-308 ^ 0.03`: 5.894138449664604e-10
//! natively, 5.894138449664605e-10 in cu; found by `cargo xtask fuzz`). So `^`, `exp`, `log`
//! (with any base) and the trigonometric functions are checked on their own, to within two units
//! in the last place, and kept out of the expressions compared exactly.

use std::cell::RefCell;

use cu::Value;
use proptest::prelude::*;

use crate::common;
use crate::generate::same;

fn lua_string(bytes: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in bytes {
        match b {
            b'"' => out.push_str("\\\""),
            b'\\' => out.push_str("\\\\"),
            b' '..=b'~' => out.push(b as char),
            _ => out.push_str(&format!("\\{b:03}")),
        }
    }
    out.push('"');
    out
}

fn int_literal(i: i64) -> String {
    match i {
        i64::MIN => "math.mininteger".into(),
        i if i < 0 => format!("(-{})", -i),
        i => i.to_string(),
    }
}

fn float_literal(f: f64) -> String {
    if f.is_nan() {
        "(0/0)".into()
    } else if f.is_infinite() {
        if f > 0.0 { "math.huge".into() } else { "(-math.huge)".into() }
    } else if f.is_sign_negative() {
        format!("(-{:?})", -f)
    } else {
        // Rust's shortest round-trip form, always with `.` or `e`: Lua reads it as this float.
        format!("{f:?}")
    }
}

fn literal() -> impl Strategy<Value = String> {
    let strings = prop_oneof![
        prop::sample::select(vec![
            "",
            "10",
            "  3.5  ",
            "0x1F",
            "0x1p4",
            "1e2",
            "-7",
            "abc",
            "inf",
            "nan",
            "1e400",
            "0x",
            "9223372036854775807",
            "9223372036854775808",
            "-9223372036854775809",
            "0.1",
            "5e-324",
            " ",
            "%d",
            "\0",
            "\u{e9}",
            "0xffffffffffffffff",
            "1E+2",
            ".5",
            "5.",
            "3 4",
        ])
        .prop_map(|s| lua_string(s.as_bytes())),
        "[a-z0-9 .+-]{0,5}".prop_map(|s| lua_string(s.as_bytes())),
        proptest::collection::vec(any::<u8>(), 0..4).prop_map(|b| lua_string(&b)),
    ];
    prop_oneof![
        3 => (-10i64..10).prop_map(int_literal),
        2 => crate::generate::integer().prop_map(int_literal),
        3 => crate::generate::float().prop_map(float_literal),
        1 => (-100i32..100, 0u32..4).prop_map(|(m, e)| float_literal(f64::from(m) / 10f64.powi(e as i32))),
        3 => strings,
        1 => Just("true".to_string()),
        1 => Just("nil".to_string()),
    ]
}

const BINARY: &[&str] =
    &["+", "-", "*", "/", "//", "%", "&", "|", "~", "<<", ">>", "..", "==", "~=", "<", "<=", ">", ">=", "and", "or"];
const UNARY: &[&str] = &["-", "not", "#", "~"];
const ONE: &[&str] = &[
    "math.floor",
    "math.ceil",
    "math.abs",
    "math.sqrt",
    "math.modf",
    "math.tointeger",
    "math.type",
    "tostring",
    "tonumber",
    "string.len",
    "string.upper",
    "string.lower",
    "string.reverse",
    "string.byte",
    "string.char",
    "utf8.char",
    "utf8.len",
    "type",
];
const TWO: &[&str] = &["math.max", "math.min", "math.fmod", "math.ult", "string.byte", "select"];
const FORMATS: &[&str] = &[
    "%d", "%5d", "%-5d|", "%x", "%X", "%#x", "%o", "%i", "%c", "%g", "%.3g", "%.14g", "%.20g", "%.3f", "%10.4e",
    "%+.2f", "% f", "%s", "%.2s", "%5s|", "%%%d", "%.99f",
];

/// A Lua expression, at most three levels of operators and calls over literals.
pub fn expression() -> impl Strategy<Value = String> {
    literal().prop_recursive(3, 24, 3, |inner| {
        prop_oneof![
            4 => (inner.clone(), prop::sample::select(BINARY), inner.clone()).prop_map(|(a, op, b)| format!("({a} {op} {b})")),
            1 => (prop::sample::select(UNARY), inner.clone()).prop_map(|(op, a)| format!("({op} {a})")),
            2 => (prop::sample::select(ONE), inner.clone()).prop_map(|(f, a)| format!("{f}({a})")),
            1 => (prop::sample::select(TWO), inner.clone(), inner.clone()).prop_map(|(f, a, b)| format!("{f}({a}, {b})")),
            1 => (prop::sample::select(FORMATS), inner.clone())
                .prop_map(|(f, a)| format!("string.format({}, {a})", lua_string(f.as_bytes()))),
            // `%a` read back: C leaves the first hex digit of a subnormal to the library (glibc
            // writes 5e-324 as 0x0.0000000000001p-1022, wasi-libc as 0x1p-1074), not its value.
            // `%q` writes a float with `%a`, so it too is read back.
            1 => inner.clone().prop_map(|a| format!("tonumber(string.format('%a', {a}))")),
            1 => inner.clone().prop_map(|a| format!("load('return ' .. string.format('%q', {a}))()")),
            1 => (inner.clone(), 0..4).prop_map(|(a, n)| format!("string.rep({a}, {n})")),
            1 => (inner.clone(), -4i64..5, -4i64..5)
                .prop_map(|(a, i, j)| format!("string.sub({a}, {}, {})", int_literal(i), int_literal(j))),
            1 => (inner.clone(), 2u32..37).prop_map(|(a, base)| format!("tonumber({a}, {base})")),
            1 => (inner.clone(), inner).prop_map(|(a, b)| format!("math.floor({a} / {b})")),
        ]
    })
}

/// The chunk both sides run: the expression's result with its Lua type, or the error message.
fn chunk(expression: &str) -> String {
    format!("local ok, v = pcall(function() return {expression} end) return ok, math.type(v) or type(v), v")
}

/// `value` cut after `bad argument` when it is such a message (see the module's comment).
fn without_argument_number(value: &Value) -> Value {
    let Value::String(bytes) = value else { return value.clone() };
    let needle = b"bad argument #".as_slice();
    match bytes.windows(needle.len()).position(|w| w == needle) {
        Some(at) => Value::String(bytes[..at + needle.len()].to_vec()),
        None => value.clone(),
    }
}

/// Values as Lua-like text, for a failure's message.
fn text(values: &[Value]) -> String {
    values.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")
}

fn from_mlua(value: mlua::Value) -> Result<Value, TestCaseError> {
    Ok(match value {
        mlua::Value::Nil => Value::Nil,
        mlua::Value::Boolean(b) => Value::Boolean(b),
        mlua::Value::Integer(i) => Value::Integer(i),
        mlua::Value::Number(f) => Value::Float(f),
        mlua::Value::String(s) => Value::String(s.as_bytes().to_vec()),
        other => return Err(TestCaseError::fail(format!("native Lua gave a {}", other.type_name()))),
    })
}

#[test]
fn expressions_evaluate_as_in_native_lua() {
    let unit = RefCell::new(common::unit());
    let native = mlua::Lua::new();
    crate::check("lua_differential", 2048, expression(), |expression| {
        let code = chunk(&expression);
        let expected: Vec<Value> = native
            .load(code.as_str())
            .set_name("=expr")
            .call::<mlua::MultiValue>(())
            .map_err(|e| TestCaseError::fail(format!("native Lua: {e}")))?
            .into_iter()
            .map(from_mlua)
            .collect::<Result<_, _>>()?;
        let actual = match unit.borrow_mut().compute_named("expr", &code) {
            Ok(outcome) => outcome.values,
            Err(error) => return Err(TestCaseError::fail(format!("cu: {error:?}"))),
        };
        let agree = actual.len() == expected.len()
            && actual
                .iter()
                .zip(&expected)
                .all(|(a, b)| same(&without_argument_number(a), &without_argument_number(b)));
        prop_assert!(agree, "{}\n  cu:     {}\n  native: {}", expression, text(&actual), text(&expected));
        Ok(())
    });
}

const TRIGONOMETRIC: &[&str] = &["math.sin", "math.cos", "math.tan", "math.asin", "math.acos", "math.atan"];
/// `math.log`'s bases: natural, and the two C has functions of its own for.
const LOGARITHMS: &[&str] = &["", ", 2", ", 10"];

/// Units in the last place between two floats of the same sign (`u64::MAX` across zero or NaN).
fn ulps(a: f64, b: f64) -> u64 {
    if a.is_nan() || b.is_nan() || a.is_sign_negative() != b.is_sign_negative() {
        return if a == b || (a.is_nan() && b.is_nan()) { 0 } else { u64::MAX };
    }
    a.to_bits().abs_diff(b.to_bits())
}

#[test]
fn transcendental_functions_are_within_two_ulps_of_native_lua() {
    let unit = RefCell::new(common::unit());
    let native = mlua::Lua::new();
    let argument = || {
        prop_oneof![
            crate::generate::float().prop_map(float_literal),
            (-2000i32..2000).prop_map(|m| float_literal(f64::from(m) / 100.0)),
            (-10i64..10).prop_map(int_literal),
        ]
    };
    let call = prop_oneof![
        (prop::sample::select(TRIGONOMETRIC), argument()).prop_map(|(f, x)| format!("{f}({x})")),
        (argument(), argument()).prop_map(|(y, x)| format!("math.atan({y}, {x})")),
        (prop::sample::select(LOGARITHMS), argument()).prop_map(|(base, x)| format!("math.log({x}{base})")),
        argument().prop_map(|x| format!("math.exp({x})")),
        (argument(), argument()).prop_map(|(x, y)| format!("({x}) ^ ({y})")),
    ];
    crate::check("lua_libm", 512, call, |expression| {
        let code = format!("return {expression}");
        let expected: f64 =
            native.load(code.as_str()).call(()).map_err(|e| TestCaseError::fail(format!("native Lua: {e}")))?;
        let actual = match unit.borrow_mut().compute(&code) {
            Ok(outcome) => outcome.values,
            Err(error) => return Err(TestCaseError::fail(format!("cu: {error:?}"))),
        };
        let [Value::Float(actual)] = actual[..] else {
            return Err(TestCaseError::fail(format!("{expression}: cu gave {actual:?}")));
        };
        prop_assert!(ulps(actual, expected) <= 2, "{}: cu {:e}, native {:e}", expression, actual, expected);
        Ok(())
    });
}
