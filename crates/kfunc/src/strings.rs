//! The string helpers: `bpf_strncmp` 182 (the kernel's `strncmp`: -1, 0 or 1) and
//! `bpf_strtol` 105 / `bpf_strtoul` 106, the kernel's integer parsing of a program's buffer
//! (`__bpf_strtoull`): leading white space, a `-`, a radix from the flags (0, 8, 10, 16; 0 and
//! 16 take a `0x` prefix, 0 a leading `0` for octal), at most 63 characters looked at; the
//! result is the number of bytes consumed or a negative errno (`-EINVAL` for no digit,
//! `-ERANGE` for an overflow), and `*res` the number, 0 on an error (6.18 zeroes it first).

use crate::native::{NativeFn, RawNative};
use crate::proto::{ArgKind, ArgProto, MemLen, NativeArg, Proto, RetKind};
use crate::registry::{FuncKind, Registry, RegistryError};
use kbpf_isa::BpfFunc;

const EINVAL: i64 = -22;
const ERANGE: i64 = -34;
/// `BPF_STRTOX_BASE_MASK`.
const BASE_MASK: u64 = 0x1f;

/// The kernel's `isspace` (its ctype table counts 0xa0 too).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0)
}

/// `__bpf_strtoull`: `(consumed, value, negative)` or an errno.
fn strtoull(buf: &[u8], flags: u64) -> Result<(i64, u64, bool), i64> {
    let mut base = (flags & BASE_MASK) as u32;
    if buf.is_empty() || !matches!(base, 0 | 8 | 10 | 16) || flags & !BASE_MASK != 0 {
        return Err(EINVAL);
    }
    let mut at = buf.iter().take_while(|&&b| is_space(b)).count();
    let negative = buf.get(at) == Some(&b'-');
    at += negative as usize;
    if at == buf.len() {
        return Err(EINVAL);
    }
    // a NUL-terminated copy of at most 63 bytes
    let s: Vec<u8> = buf[at..].iter().take(63).copied().take_while(|&b| b != 0).collect();
    let lower = |i: usize| s.get(i).map_or(0, u8::to_ascii_lowercase);
    let mut i = 0;
    if base == 0 {
        base = if s.first() == Some(&b'0') {
            if lower(1) == b'x' && lower(2).is_ascii_hexdigit() { 16 } else { 8 }
        } else {
            10
        };
    }
    if base == 16 && s.first() == Some(&b'0') && lower(1) == b'x' {
        i = 2;
    }
    let start = i;
    let (mut v, mut overflow) = (0u64, false);
    while let Some(d) = s.get(i).and_then(|&c| (c as char).to_digit(16)).filter(|&d| d < base) {
        match v.checked_mul(base as u64).and_then(|x| x.checked_add(d as u64)) {
            Some(x) => v = x,
            None => overflow = true,
        }
        i += 1;
    }
    if overflow {
        return Err(ERANGE);
    }
    if i == start {
        return Err(EINVAL);
    }
    Ok(((at + i) as i64, v, negative))
}

/// `bpf_strtol`: a signed result.
fn strtol(buf: &[u8], flags: u64) -> Result<(i64, i64), i64> {
    let (n, v, negative) = strtoull(buf, flags)?;
    let v = if negative { (v as i64).wrapping_neg() } else { v as i64 };
    if (negative && v > 0) || (!negative && v < 0) {
        return Err(ERANGE);
    }
    Ok((n, v))
}

/// `bpf_strtoul`: a negative number is refused.
fn strtoul(buf: &[u8], flags: u64) -> Result<(i64, u64), i64> {
    match strtoull(buf, flags)? {
        (_, _, true) => Err(EINVAL),
        (n, v, false) => Ok((n, v)),
    }
}

/// # Safety
/// `buf` is readable for `len` bytes, `res` writable for 8 (the contract).
#[allow(unsafe_code)]
unsafe fn call<T: Copy>(buf: u64, len: u64, res: u64, f: impl Fn(&[u8]) -> Result<(i64, T), i64>) -> u64 {
    // SAFETY: the contract.
    let b = unsafe { std::slice::from_raw_parts(buf as *const u8, len as usize) };
    // SAFETY: the contract.
    unsafe { std::ptr::write_unaligned(res as *mut u64, 0) };
    match f(b) {
        Ok((n, v)) => {
            // SAFETY: the contract.
            unsafe { std::ptr::write_unaligned(res as *mut T, v) };
            n as u64
        }
        Err(e) => e as u64,
    }
}

#[allow(unsafe_code)]
unsafe extern "C" fn bpf_strtol(buf: u64, len: u64, flags: u64, res: u64) -> u64 {
    // SAFETY: the contract registered with it.
    unsafe { call(buf, len, res, |b| strtol(b, flags)) }
}

#[allow(unsafe_code)]
unsafe extern "C" fn bpf_strtoul(buf: u64, len: u64, flags: u64, res: u64) -> u64 {
    // SAFETY: the contract registered with it.
    unsafe { call(buf, len, res, |b| strtoul(b, flags)) }
}

/// The kernel's `strncmp` of at most `s1.len()` bytes; `s2` ends at its NUL.
fn strncmp(s1: &[u8], s2: &std::ffi::CStr) -> i64 {
    let s2 = s2.to_bytes_with_nul();
    for (i, &c1) in s1.iter().enumerate() {
        let c2 = s2.get(i).copied().unwrap_or(0);
        if c1 != c2 {
            return if c1 < c2 { -1 } else { 1 };
        }
        if c1 == 0 {
            break;
        }
    }
    0
}

/// # Safety
/// `s1` is readable for `len` bytes and `s2` is a NUL-terminated string (the contract).
#[allow(unsafe_code)]
unsafe extern "C" fn bpf_strncmp(s1: u64, len: u64, s2: u64) -> u64 {
    // SAFETY: the contract.
    let (a, b) = unsafe {
        (
            std::slice::from_raw_parts(s1 as *const u8, len as u32 as usize),
            std::ffi::CStr::from_ptr(s2 as *const _),
        )
    };
    strncmp(a, b) as u64
}

static STRNCMP: [NativeArg; 3] = [NativeArg::mem(1, false, false), NativeArg::V, NativeArg::Str];

static CONTRACT: [NativeArg; 4] = [
    NativeArg::mem(1, false, false),
    NativeArg::V,
    NativeArg::V,
    NativeArg::Mem { len: MemLen::Fixed(8), write: true, nullable: false },
];

/// Adds the two helpers to `r`.
pub fn register(r: &mut Registry) -> Result<(), RegistryError> {
    let arg = |name: &str, kind| ArgProto { name: name.to_string(), kind, nullable: false };
    let args = || {
        vec![
            arg("buf", ArgKind::Mem { size: None, uninit: false }),
            arg("buf_len", ArgKind::MemSize { constant: false }),
            ArgProto::scalar("flags"),
            arg("res", ArgKind::Mem { size: Some(8), uninit: true }),
        ]
    };
    for (f, raw) in
        [(BpfFunc::Strtol, RawNative::A4(bpf_strtol)), (BpfFunc::Strtoul, RawNative::A4(bpf_strtoul))]
    {
        // SAFETY: each reads `buf` for `buf_len` bytes and writes 8 bytes at `res`: the contract.
        #[allow(unsafe_code)]
        let native =
            unsafe { NativeFn::with_contract(raw, &CONTRACT) }.expect("one contract entry per parameter");
        let proto = Proto { args: args(), ret: Some(RetKind::Scalar), ..Proto::default() };
        r.register(FuncKind::Helper, f.id(), f.name(), proto, Some(native))?;
    }
    // SAFETY: reads `s1` for `s1_sz` bytes and `s2` up to its NUL: the contract.
    #[allow(unsafe_code)]
    let native = unsafe { NativeFn::with_contract(RawNative::A3(bpf_strncmp), &STRNCMP) }
        .expect("one contract entry per parameter");
    let args = vec![
        arg("s1", ArgKind::Mem { size: None, uninit: false }),
        arg("s1_sz", ArgKind::MemSize { constant: false }),
        arg("s2", ArgKind::ConstStr),
    ];
    let proto = Proto { args, ret: Some(RetKind::Scalar), ..Proto::default() };
    r.register(FuncKind::Helper, BpfFunc::Strncmp.id(), BpfFunc::Strncmp.name(), proto, Some(native))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_the_kernel() {
        assert_eq!(strtol(b"  -42xyz", 0), Ok((5, -42)));
        assert_eq!(strtol(b"0x1f", 0), Ok((4, 31)));
        assert_eq!(strtol(b"0x", 0), Ok((1, 0)), "octal 0, the x left");
        assert_eq!(strtol(b"017", 0), Ok((3, 15)));
        assert_eq!(strtol(b"ff", 16), Ok((2, 255)));
        assert_eq!(strtol(b"12\x0034", 10), Ok((2, 12)));
        assert_eq!(strtol(b"-", 10), Err(EINVAL));
        assert_eq!(strtol(b"x", 10), Err(EINVAL));
        assert_eq!(strtol(b"1", 7), Err(EINVAL));
        assert_eq!(strtol(b"1", 0x20), Err(EINVAL));
        assert_eq!(strtol(b"99999999999999999999", 10), Err(ERANGE));
        assert_eq!(strtol(b"9223372036854775808", 10), Err(ERANGE));
        assert_eq!(strtol(b"-9223372036854775808", 10), Ok((20, i64::MIN)));
        assert_eq!(strtoul(b"-1", 10), Err(EINVAL));
        assert_eq!(strtoul(b"18446744073709551615", 10), Ok((20, u64::MAX)));
    }

    #[test]
    fn strncmp_stops_at_the_count_or_a_nul() {
        assert_eq!(strncmp(b"abcd", c"abcz"), -1);
        assert_eq!(strncmp(b"abc", c"abcz"), 0);
        assert_eq!(strncmp(b"ab\0x", c"ab"), 0);
        assert_eq!(strncmp(b"abd", c"ab"), 1);
        assert_eq!(strncmp(b"\xff", c"a"), 1);
    }
}
