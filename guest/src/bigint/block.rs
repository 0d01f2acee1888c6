//! How a bigint lives in Lua: one userdata block holding a small header and the magnitude's
//! digits. The digits are in the Lua heap, so the memory limit covers them as it covers strings,
//! and a dead bigint is freed by the collector with no finalizer to run.
//!
//! Only this module makes blocks, and it gives each the bigint metatable, which scripts cannot
//! set on a userdata: a userdata with that metatable has this layout.

use std::ffi::{c_int, c_void};
use std::{ptr, slice};

use mlua::ffi::{self, lua_State};
use num_bigint::{BigInt, BigUint, Sign};

/// The start of a block; `len` digits of the magnitude follow, base 2^32, least significant first,
/// with no leading zero digit (zero has none). Lua aligns userdata memory for any C type, so the
/// digits after this 8-byte header are aligned too.
#[repr(C)]
struct Header {
    negative: u32,
    len: u32,
}

unsafe extern "C" {
    /// The memory of the full userdata at `index` if its metatable is the table at `meta`, else
    /// null (c/cu_udata.c).
    fn cu_udata_with_metatable(state: *mut lua_State, index: c_int, meta: c_int) -> *mut c_void;
    /// Pushes a new full userdata of `size` bytes whose metatable is the table at `meta`.
    fn cu_new_udata_with_metatable(state: *mut lua_State, size: usize, meta: c_int) -> *mut c_void;
}

const HEADER: usize = size_of::<Header>();
const DIGIT: usize = size_of::<u32>();

/// A bigint in its block: the digits are borrowed from the Lua heap and stay valid while the
/// value is on the Lua stack.
#[derive(Clone, Copy, Debug)]
pub struct View<'a> {
    pub negative: bool,
    pub digits: &'a [u32],
}

impl View<'_> {
    /// The value as an `i128` when its magnitude is below 2^127: the fast path of every operation.
    #[inline(always)]
    pub fn small(self) -> Option<i128> {
        // Constant indices and shifts: on wasm32 a loop here becomes a call to copy memory, and a
        // shift of a u128 by a variable a library call.
        let digit = |i: usize| u128::from(self.digits[i]);
        let magnitude = match self.digits.len() {
            0 => 0,
            1 => digit(0),
            2 => digit(0) | digit(1) << 32,
            3 => digit(0) | digit(1) << 32 | digit(2) << 64,
            4 if self.digits[3] >> 31 == 0 => digit(0) | digit(1) << 32 | digit(2) << 64 | digit(3) << 96,
            _ => return None,
        } as i128;
        Some(if self.negative { -magnitude } else { magnitude })
    }

    pub fn to_bigint(self) -> BigInt {
        let sign = match (self.digits.is_empty(), self.negative) {
            (true, _) => Sign::NoSign,
            (false, true) => Sign::Minus,
            (false, false) => Sign::Plus,
        };
        BigInt::from_biguint(sign, BigUint::from_slice(self.digits))
    }

    pub fn bits(self) -> u64 {
        self.digits.last().map_or(0, |top| 32 * self.digits.len() as u64 - u64::from(top.leading_zeros()))
    }
}

/// The bigint at `index`, if the value there is a userdata whose metatable is the one at `meta`.
///
/// # Safety
/// `index` is a valid stack index and `meta` a valid index. The view must not outlive the value's
/// place on the stack.
#[inline(always)]
pub unsafe fn view<'a>(state: *mut lua_State, index: c_int, meta: c_int) -> Option<View<'a>> {
    // SAFETY: as the caller promises; a userdata with our metatable was made by `push_block`,
    // which wrote a header and `len` digits into a block of that size.
    unsafe {
        let header = cu_udata_with_metatable(state, index, meta).cast::<Header>();
        if header.is_null() {
            return None;
        }
        let digits = slice::from_raw_parts(header.add(1).cast::<u32>(), (*header).len as usize);
        Some(View { negative: (*header).negative != 0, digits })
    }
}

/// Pushes a new block with room for `len` digits and the metatable at `meta`, and returns where the
/// digits go; the caller writes them and then [`finish`]es the block, which writes its header
/// (nothing reads the block before that: no Lua call comes between). Raises Lua's memory error
/// when the block does not fit, so the caller must own nothing that needs dropping.
///
/// # Safety
/// `meta` is an absolute or pseudo index of the bigint metatable; one stack slot is free.
unsafe fn push_block(state: *mut lua_State, len: usize, meta: c_int) -> *mut u32 {
    // SAFETY: as the caller promises; the block is at least `HEADER` bytes and suitably aligned.
    unsafe {
        let header = cu_new_udata_with_metatable(state, block_size(len), meta).cast::<Header>();
        header.add(1).cast::<u32>()
    }
}

fn block_size(len: usize) -> usize {
    // Past usize, Lua refuses the size with its own "block too big" error.
    len.saturating_mul(DIGIT).saturating_add(HEADER)
}

/// Sets the sign and the length of the block whose digits are at `digits`, once written.
///
/// # Safety
/// `digits` came from [`push_block`] with room for at least `len` digits, all written, the top
/// one non-zero.
unsafe fn finish(digits: *mut u32, negative: bool, len: usize) {
    // SAFETY: the header sits just before the digits.
    unsafe {
        digits.cast::<Header>().sub(1).write(Header { negative: u32::from(negative && len > 0), len: len as u32 })
    }
}

/// Pushes a bigint of `value`. May raise a memory error: the caller owns nothing to drop.
///
/// # Safety
/// As [`push_block`].
pub unsafe fn push_small(state: *mut lua_State, value: i128, meta: c_int) {
    let magnitude = value.unsigned_abs();
    let quad = [magnitude as u32, (magnitude >> 32) as u32, (magnitude >> 64) as u32, (magnitude >> 96) as u32];
    let len = 4 - quad.iter().rev().take_while(|&&digit| digit == 0).count();
    // SAFETY: as the caller promises. The block always has room for four digits, so that they
    // are written by four stores rather than a copy of variable length.
    unsafe {
        let digits = push_block(state, quad.len(), meta);
        for (i, digit) in quad.into_iter().enumerate() {
            digits.add(i).write(digit);
        }
        finish(digits, value < 0, len);
    }
}

/// Pushes a copy of `view` with the sign `negative`. May raise a memory error: the caller owns
/// nothing to drop.
///
/// # Safety
/// As [`push_block`]; `view` borrows a value that stays on the stack.
pub unsafe fn push_copy(state: *mut lua_State, view: View<'_>, negative: bool, meta: c_int) {
    // SAFETY: as the caller promises; the new block has room for every digit, and the collector
    // never moves the old one.
    unsafe {
        let digits = push_block(state, view.digits.len(), meta);
        ptr::copy_nonoverlapping(view.digits.as_ptr(), digits, view.digits.len());
        finish(digits, negative, view.digits.len());
    }
}

/// Pushes `view × factor`, negated when `negative`: a running product (a factorial) multiplies a
/// large bigint by a small integer again and again, and this takes one pass over the digits where
/// num-bigint would need them copied out and back. May raise a memory error: the caller owns
/// nothing to drop.
///
/// # Safety
/// As [`push_copy`].
pub unsafe fn push_scaled(state: *mut lua_State, view: View<'_>, factor: u32, negative: bool, meta: c_int) {
    let len = view.digits.len();
    // SAFETY: as the caller promises; the new block has room for one more digit than `view`.
    unsafe {
        let digits = push_block(state, len + 1, meta);
        let mut carry = 0u64;
        for (i, &digit) in view.digits.iter().enumerate() {
            let product = u64::from(digit) * u64::from(factor) + carry;
            digits.add(i).write(product as u32);
            carry = product >> 32;
        }
        digits.add(len).write(carry as u32);
        let len = if factor == 0 { 0 } else { len + usize::from(carry != 0) };
        finish(digits, negative, len);
    }
}

/// Pushes a bigint of `value`, which the caller owns: the block is allocated in protected mode,
/// so that a memory error leaves the error object on the stack and returns `Err(status)` for
/// the caller to raise once it has dropped what it owns.
///
/// # Safety
/// As [`push_block`], with three stack slots free.
pub unsafe fn push_owned(state: *mut lua_State, value: &BigInt, meta: c_int) -> Result<(), c_int> {
    let len = value.magnitude().bits().div_ceil(32) as usize;
    // SAFETY: as the caller promises; the protected call pushes a block of `len` digits.
    unsafe {
        protected(state, ptr::null(), block_size(len), allocate)?;
        ffi::lua_pushvalue(state, meta);
        ffi::lua_setmetatable(state, -2);
        let digits = ffi::lua_touserdata(state, -1).cast::<Header>().add(1).cast::<u32>();
        for (i, digit) in value.iter_u32_digits().enumerate() {
            digits.add(i).write(digit);
        }
        finish(digits, value.sign() == Sign::Minus, len);
    }
    Ok(())
}

/// Pushes the bytes of `text`, which the caller owns, as a Lua string; as [`push_owned`].
///
/// # Safety
/// Three stack slots are free.
pub unsafe fn push_owned_text(state: *mut lua_State, text: &[u8]) -> Result<(), c_int> {
    // SAFETY: `text` outlives the protected call, which only reads it.
    unsafe { protected(state, text.as_ptr().cast(), text.len(), push_text) }
}

/// Calls `push(data, len)` in protected mode: `Ok` with its one result on the stack, or the error
/// status with the error object there instead.
unsafe fn protected(
    state: *mut lua_State,
    data: *const c_void,
    len: usize,
    push: ffi::lua_CFunction,
) -> Result<(), c_int> {
    // SAFETY: pushing a light C function, a light userdata and an integer allocates nothing.
    unsafe {
        ffi::lua_pushcfunction(state, push);
        ffi::lua_pushlightuserdata(state, data.cast_mut());
        ffi::lua_pushinteger(state, len as ffi::lua_Integer);
        match ffi::lua_pcall(state, 2, 1, 0) {
            ffi::LUA_OK => Ok(()),
            status => Err(status),
        }
    }
}

/// An uninitialized userdata of `len` bytes (argument 2), for [`protected`].
unsafe extern "C-unwind" fn allocate(state: *mut lua_State) -> c_int {
    // SAFETY: called by `protected` with an integer as argument 2.
    unsafe {
        ffi::lua_newuserdatauv(state, ffi::lua_tointegerx(state, 2, ptr::null_mut()) as usize, 0);
    }
    1
}

/// The string of `len` (argument 2) bytes at argument 1, for [`protected`].
unsafe extern "C-unwind" fn push_text(state: *mut lua_State) -> c_int {
    // SAFETY: called by `protected` with a pointer to `len` readable bytes.
    unsafe {
        let len = ffi::lua_tointegerx(state, 2, ptr::null_mut()) as usize;
        ffi::lua_pushlstring(state, ffi::lua_touserdata(state, 1).cast(), len);
    }
    1
}
