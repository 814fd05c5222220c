//! Calls into natives: the one place the interpreter leaves safe Rust.
//!
//! A native dereferences the integers it is given, so before each call every argument is
//! checked against what the native's prototype says it does with it ([`NativeArg`]) and against
//! the memory live at that moment: the input buffer, the stacks of the live frames, the caller's
//! extra regions and the environment's map values. A pointer and its size must lie inside one
//! of them (writable when the native writes), a string must end in a NUL inside its memory, a
//! dynptr's own view must lie in live memory, a context must be the run's, with packet pointers
//! that are live. Anything else is [`InterpError::BadArgument`] and the native is not called;
//! this is what `NativeFn::call`'s safety contract asks for, for any program, verified or not.

use kbpf_kfunc::maps::MemRights;
use kbpf_kfunc::packet_helpers;
use kbpf_kfunc::vmlinux::dynptr_view;
use kbpf_kfunc::{MemLen, NativeArg};

use crate::compile::Native;
use crate::error::InterpError;
use crate::exec::Both;
use crate::mem::span_extra;
use crate::vm::Vm;

/// Bytes of `struct bpf_dynptr`.
const DYNPTR_SIZE: u64 = 16;

/// Calls native `idx`, a safe native (no contract: the compiler checked).
#[inline(never)]
pub(crate) fn call_plain(vm: &Vm, a: [u64; 12], idx: usize) -> u64 {
    match vm.natives.get(idx) {
        // SAFETY: `plain`: the native is a safe fn without a contract (`NativeFn::A0`..`A12`),
        // so any values satisfy `NativeFn::call`'s requirements.
        #[allow(unsafe_code)]
        Some(n) if n.plain => unsafe { n.f.call(&a) },
        _ => 0,
    }
}

/// Checks every argument of native `idx` against live memory, then calls it.
pub(crate) fn call_checked(
    vm: &Vm,
    pc: usize,
    idx: usize,
    a: [u64; 12],
    m: &Both<'_, '_, '_, '_, '_>,
) -> Result<u64, InterpError> {
    let n = vm.natives.get(idx).ok_or(InterpError::FellOffEnd { pc })?;
    for (i, kind) in n.args.iter().enumerate() {
        check(kind, &a, i, m).map_err(|why| bad(n, pc, i, why))?;
    }
    // SAFETY: every argument was checked just above against the memory live now, which stays
    // live and unmoved during the call (the run loop is suspended; the natives touch nothing
    // else), so the native's contract (`NativeFn::call`) holds.
    #[allow(unsafe_code)]
    Ok(unsafe { n.f.call(&a) })
}

fn bad(n: &Native, pc: usize, i: usize, why: String) -> InterpError {
    InterpError::BadArgument {
        pc,
        func: n.name.to_string(),
        arg: i + 1,
        name: n.params.get(i).cloned().unwrap_or_default(),
        why,
    }
}

/// What the program may do with `[addr, addr + len)`, if it lies inside one live region.
fn rights(m: &Both<'_, '_, '_, '_, '_>, addr: u64, len: u64) -> Option<MemRights> {
    const RW: MemRights = MemRights { read: true, write: true };
    if m.mem.span(addr, len) || span_extra(m.extra, addr, len) {
        return Some(RW);
    }
    m.env?.region(addr, len)
}

/// `[addr, addr + len)` must be live memory the native may read (and write, when `write`).
fn need(m: &Both<'_, '_, '_, '_, '_>, addr: u64, len: u64, write: bool) -> Result<(), String> {
    let what = if write { "writable" } else { "readable" };
    match rights(m, addr, len) {
        Some(r) if (if write { r.write } else { r.read }) => Ok(()),
        Some(_) => Err(format!("{len} bytes at {addr:#x} are not {what} by the program")),
        None => Err(format!("{len} bytes at {addr:#x} are not inside live memory")),
    }
}

fn check(kind: &NativeArg, a: &[u64; 12], i: usize, m: &Both<'_, '_, '_, '_, '_>) -> Result<(), String> {
    let v = a.get(i).copied().unwrap_or(0);
    match *kind {
        NativeArg::Value => Ok(()),
        NativeArg::Mem { len, write, nullable } => {
            let len = match len {
                MemLen::Fixed(n) => n as u64,
                MemLen::Arg(j) => a.get(j).copied().unwrap_or(u64::MAX),
            };
            if v == 0 && nullable {
                return Ok(());
            }
            need(m, v, len, write)
        }
        NativeArg::Str => check_str(m, v),
        NativeArg::Dynptr { init } => {
            need(m, v, DYNPTR_SIZE, true)?;
            if init { check_dynptr(m, v) } else { Ok(()) }
        }
        NativeArg::Iter { size } => need(m, v, size as u64, true),
        NativeArg::Ctx { packet_at } => check_ctx(m, v, packet_at),
        NativeArg::PacketCtx { at } => check_packet_ctx(m, v, at),
        NativeArg::AnyPacketCtx => {
            let not_built = || "the context is not a packet context built by the test run".to_string();
            let tag = v.wrapping_add(packet_helpers::CTX_KIND_OFF);
            need(m, tag, 8, false).map_err(|_| not_built())?;
            let at = m.load(tag, 8).and_then(packet_helpers::ctx_kind_at).ok_or_else(not_built)?;
            check_packet_ctx(m, v, at)
        }
        NativeArg::Map => match m.env.and_then(|e| e.map(v)) {
            Some(_) => Ok(()),
            None => Err(format!("{v:#x} is not a map of this run")),
        },
        NativeArg::MapValue { map, nullable } => {
            if v == 0 && nullable {
                return Ok(());
            }
            let owner = a.get(map).copied().unwrap_or(0);
            let m_ = m
                .env
                .and_then(|e| e.map(owner))
                .ok_or_else(|| format!("{owner:#x} is not a map of this run"))?;
            need(m, v, m_.spec().value_size as u64, false)
        }
        NativeArg::Timer => match m.env {
            Some(e) if e.is_timer(v) => Ok(()),
            _ => Err(format!("{v:#x} is not a bpf_timer in a map value of this run")),
        },
        NativeArg::Unchecked(what) => Err(format!("the interpreter cannot check a {what}")),
    }
}

/// A string must be NUL-terminated inside the one region it starts in.
fn check_str(m: &Both<'_, '_, '_, '_, '_>, p: u64) -> Result<(), String> {
    need(m, p, 1, false)?;
    let mut len = 1u64;
    loop {
        let at = p.wrapping_add(len - 1);
        if m.load(at, 1) == Some(0) {
            return Ok(());
        }
        if rights(m, p, len + 1).is_none_or(|r| !r.read) {
            return Err(format!("the string at {p:#x} is not NUL-terminated inside its memory"));
        }
        len += 1;
    }
}

/// An initialized dynptr's view must be live memory, writable unless it is marked read-only.
fn check_dynptr(m: &Both<'_, '_, '_, '_, '_>, p: u64) -> Result<(), String> {
    let lo = m.load(p, 8).ok_or("unreadable dynptr")?;
    let hi = m.load(p.wrapping_add(8), 8).ok_or("unreadable dynptr")?;
    let mut raw = [0u8; 16];
    raw[..8].copy_from_slice(&lo.to_le_bytes());
    raw[8..].copy_from_slice(&hi.to_le_bytes());
    let Some(view) = dynptr_view(raw) else { return Ok(()) };
    match rights(m, view.addr, view.len) {
        Some(r) if r.read && (r.write || view.rdonly) => Ok(()),
        Some(_) => Err(format!(
            "the dynptr's {} bytes at {:#x} are not {} by the program",
            view.len,
            view.addr,
            if view.rdonly { "readable" } else { "readable and writable" }
        )),
        None => {
            Err(format!("the dynptr's {} bytes at {:#x} are not inside live memory", view.len, view.addr))
        }
    }
}

/// The context must be the run's (r1 at entry); a native that reads packet pointers from it
/// needs a context the test run built, whose pointers describe live memory.
fn check_ctx(m: &Both<'_, '_, '_, '_, '_>, ctx: u64, packet_at: Option<u64>) -> Result<(), String> {
    if ctx == 0 || ctx != m.mem.input_addr() {
        return Err(format!("{ctx:#x} is not the program's context"));
    }
    let Some(off) = packet_at else { return Ok(()) };
    let fields = ctx.wrapping_add(off);
    let not_built =
        || "the context is a plain buffer, not a packet context built by the test run".to_string();
    need(m, fields, 16, false).map_err(|_| not_built())?;
    let (data, end) =
        (m.load(fields, 8).ok_or_else(not_built)?, m.load(fields + 8, 8).ok_or_else(not_built)?);
    if data == 0 || end < data {
        return Err(not_built());
    }
    match rights(m, data, end - data) {
        Some(r) if r.read && r.write => Ok(()),
        _ => Err(format!("the context's packet {data:#x}..{end:#x} is not live writable memory")),
    }
}

/// A context whose packet the native may move: the run's, with its five packet pointers
/// ordered `head <= data_meta <= data <= data_end <= end` and `head..end` live writable memory.
fn check_packet_ctx(m: &Both<'_, '_, '_, '_, '_>, ctx: u64, at: u64) -> Result<(), String> {
    if ctx == 0 || ctx != m.mem.input_addr() {
        return Err(format!("{ctx:#x} is not the program's context"));
    }
    let fields = ctx.wrapping_add(at);
    let not_built =
        || "the context is a plain buffer, not a packet context built by the test run".to_string();
    need(m, fields, 40, false).map_err(|_| not_built())?;
    let mut p = [0u64; 5];
    for (k, v) in p.iter_mut().enumerate() {
        *v = m.load(fields + 8 * k as u64, 8).ok_or_else(not_built)?;
    }
    let [data, data_end, meta, head, end] = p;
    if head == 0 || !(head <= meta && meta <= data && data <= data_end && data_end <= end) {
        return Err(not_built());
    }
    match rights(m, head, end - head) {
        Some(r) if r.read && r.write => Ok(()),
        _ => Err(format!("the context's packet buffer {head:#x}..{end:#x} is not live writable memory")),
    }
}
