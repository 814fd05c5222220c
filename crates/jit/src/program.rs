//! A compiled program: executable memory plus the map from BPF instructions to native code.

use crate::error::JitError;
use crate::exec::ExecMemory;

/// Per-run context the generated code reaches through a callee-saved register: where to report
/// a fault, the input buffer (for LD_ABS/LD_IND), and the stack pointer to unwind to.
#[repr(C)]
#[derive(Debug, Default)]
pub struct RunCtx {
    /// 0, or a [`FaultKind`] code in bits 0..8 and the faulting pc in bits 8..40.
    pub status: u64,
    /// Input buffer address (0 if empty).
    pub mem: u64,
    /// Input buffer length.
    pub len: u64,
    /// Native stack pointer inside the entry trampoline, restored on a fault.
    pub saved_sp: u64,
    /// In an skb's test run, the address of its context's host pointers (`data`, `data_end`,
    /// then at +40 and +48 the link-layer and network headers), which `LD_ABS`/`LD_IND` follow
    /// as helpers move the packet; `mem..mem + len` is then the packet's whole buffer, which
    /// every load stays in. 0: the loads read `mem..mem + len` from its start.
    pub pkt: u64,
}

impl RunCtx {
    /// Byte offset of `status`.
    pub const STATUS: i32 = 0;
    /// Byte offset of `mem`.
    pub const MEM: i32 = 8;
    /// Byte offset of `len`.
    pub const LEN: i32 = 16;
    /// Byte offset of `saved_sp`.
    pub const SAVED_SP: i32 = 24;
    /// Byte offset of `pkt`.
    pub const PKT: i32 = 32;
    /// Where the link-layer and network header pointers are after `pkt`.
    pub const PKT_MAC: i32 = 40;
    /// See [`RunCtx::PKT_MAC`].
    pub const PKT_NET: i32 = 48;
    /// `SKF_NET_OFF`: negative offsets from here on count from the network header.
    pub const SKF_NET_OFF: i32 = -0x10_0000;
    /// `SKF_LL_OFF`: from here to `SKF_NET_OFF`, from the link-layer header.
    pub const SKF_LL_OFF: i32 = -0x20_0000;

    /// Where `LD_ABS`/`LD_IND` of `size` bytes at offset `k` read, as the kernel's
    /// `bpf_skb_load_helper_*`: `data + k` for `k >= 0`, from the headers at negative offsets,
    /// never past the packet's tail (`data_end`), never outside `mem..mem + len`; without
    /// `pkt`, `mem + k` up to `mem + len`. `None`: out of bounds.
    pub fn ld_abs_addr(&self, k: i32, size: u64) -> Option<u64> {
        let (lo, hi) = (self.mem, self.mem.checked_add(self.len)?);
        if lo == 0 {
            return None;
        }
        let (from, tail) = if self.pkt == 0 {
            (lo + u64::try_from(k).ok()?, hi)
        } else {
            // SAFETY: `pkt` points to the context's host pointers inside the run's input
            // (`execute_with_frame_unchecked` checked), live for the whole run.
            let rd = |o: i32| unsafe { std::ptr::read_unaligned((self.pkt + o as u64) as *const u64) };
            let (data, tail) = (rd(0), rd(8));
            if data < lo || tail < data || tail > hi {
                return None;
            }
            let at = |header: u64, past: i32| (header >= lo).then(|| header + (k - past) as u64);
            let from = match k {
                0.. => Some(data + k as u64),
                Self::SKF_NET_OFF..0 => at(rd(Self::PKT_NET), Self::SKF_NET_OFF),
                Self::SKF_LL_OFF..Self::SKF_NET_OFF => at(rd(Self::PKT_MAC), Self::SKF_LL_OFF),
                _ => None,
            }?;
            (from, tail)
        };
        (from.checked_add(size)? <= tail).then_some(from)
    }
}

/// What `LD_ABS`/`LD_IND` read in an skb's test run: the packet's whole buffer, and where in
/// the input (the context) its packet pointers are ([`RunCtx::pkt`]).
#[derive(Clone, Copy, Debug)]
pub struct LdAbsFrame<'a> {
    /// The buffer the context's pointers point into.
    pub buf: &'a [u8],
    /// The offset in the input of the context's host pointers (`None`: `buf` is the packet).
    pub ptrs_at: Option<usize>,
}

/// Bytes of an skb context's host pointers `RunCtx::pkt` points to.
const PKT_PTRS: usize = 56;

/// Why a run ended early. Generated code returns 0 in r0 for every fault, like the kernel does
/// for an out-of-bounds LD_ABS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FaultKind {
    /// LD_ABS/LD_IND outside the input buffer.
    LdAbsOutOfBounds = 1,
    /// `callx` with a value that is no registered helper id.
    UnknownCallx = 2,
    /// Refused before running: the input buffer is smaller than the context the program was
    /// verified for ([`Input::AtLeast`]).
    InputTooShort = 3,
    /// Refused before running: the program's context holds pointers (packet program types), so
    /// only a caller that builds it may run the code, through
    /// [`JitProgram::execute_unchecked`] ([`Input::BuiltContext`]).
    ContextRequired = 4,
}

/// What input a program may be run on safely, decided when it is compiled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Input {
    /// Compiled through an `unsafe` entry: the caller vouched for every run.
    Unchecked,
    /// Verified with a context of this many bytes: a shorter buffer is refused.
    AtLeast(usize),
    /// Verified with a context that holds pointers (socket filter, tc, xdp): safe runs are
    /// refused; the test run builds the context and runs it with `execute_unchecked`.
    BuiltContext,
}

impl FaultKind {
    /// Code stored in [`RunCtx::status`] for a fault at `pc`.
    pub fn status(self, pc: usize) -> u64 {
        self as u64 | ((pc as u64 & 0xffff_ffff) << 8)
    }
}

/// A fault reported by [`JitProgram::execute`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("insn {pc}: {kind:?}")]
pub struct JitFault {
    /// What happened.
    pub kind: FaultKind,
    /// Instruction.
    pub pc: usize,
}

/// Native entry: `(mem, len, ctx) -> r0`.
type Entry = unsafe extern "C" fn(*mut u8, u64, *mut RunCtx) -> u64;

/// The bare native entry of a program that needs no run context, for a caller that keeps the
/// program alive itself (a handle owning it): a length check and the call.
#[derive(Clone, Copy, Debug)]
pub struct BareEntry {
    f: Entry,
    min_len: usize,
}

impl BareEntry {
    /// Runs the program on `mem` (r1 = its address or 0 when empty, r2 = its length); `None`
    /// when `mem` is shorter than the context the program was verified for.
    ///
    /// # Safety
    ///
    /// The [`JitProgram`] this entry came from is alive.
    #[inline]
    pub unsafe fn run(&self, mem: &mut [u8]) -> Option<u64> {
        if mem.len() < self.min_len {
            return None;
        }
        let (ptr, len) =
            if mem.is_empty() { (std::ptr::null_mut(), 0) } else { (mem.as_mut_ptr(), mem.len() as u64) };
        // SAFETY: the program is alive (our contract) and its code never reads the run context
        // (`JitProgram::bare_entry`); `mem` satisfies its input contract, checked above.
        Some(unsafe { (self.f)(ptr, len, std::ptr::null_mut()) })
    }
}

/// Machine code of one program, ready to run.
#[derive(Debug)]
pub struct JitProgram {
    mem: ExecMemory,
    entry: usize,
    insn_offsets: Vec<u32>,
    func_offsets: Vec<u32>,
    _data: Vec<Box<[u64]>>,
    input: Input,
    /// Whether the code reads the [`RunCtx`] (its third argument): fault stubs, LD_ABS.
    run_ctx: bool,
}

impl JitProgram {
    /// Wraps finished code. `entry` is the offset of a trampoline with the [`Entry`] signature
    /// (C convention: input address, length, `*mut RunCtx`); `insn_offsets[i]` is where
    /// instruction index `i` starts; `data` are tables the code points into (kept alive here).
    ///
    /// # Safety
    ///
    /// `code` becomes executable and [`JitProgram::run`] (a safe function) jumps to `entry`.
    /// The caller guarantees that `code` is machine code for this host whose `entry` follows
    /// the [`Entry`] signature and C ABI, and that every run of it on any input buffer only
    /// accesses that buffer, its own stack, `data` and memory that outlives the returned
    /// program, calls only functions that are sound for the arguments it passes, and returns.
    pub unsafe fn new(
        code: &[u8],
        entry: usize,
        insn_offsets: Vec<u32>,
        func_offsets: Vec<u32>,
        data: Vec<Box<[u64]>>,
    ) -> Result<JitProgram, JitError> {
        if entry >= code.len() {
            return Err(JitError::Assembler(format!(
                "entry offset {entry} outside {} bytes of code",
                code.len()
            )));
        }
        Ok(JitProgram {
            mem: ExecMemory::new(code)?,
            entry,
            insn_offsets,
            func_offsets,
            _data: data,
            input: Input::Unchecked,
            run_ctx: true,
        })
    }

    /// Declares that the code never reads its [`RunCtx`] argument, so runs pass none and skip
    /// the fault check.
    ///
    /// # Safety
    ///
    /// The code at `entry` must never dereference its third argument nor report a fault.
    pub unsafe fn without_run_ctx(mut self) -> JitProgram {
        self.run_ctx = false;
        self
    }

    /// Narrows the inputs safe runs accept (the verified entry sets it from the witness).
    pub(crate) fn set_input(&mut self, input: Input) {
        self.input = input;
    }

    /// What safe runs accept.
    pub fn input(&self) -> Input {
        self.input
    }

    /// The bare entry of code that needs no run context and was compiled from a verifier's
    /// witness for a plain context ([`Input::AtLeast`]); `None` otherwise.
    pub fn bare_entry(&self) -> Option<BareEntry> {
        let Input::AtLeast(min_len) = self.input else { return None };
        if self.run_ctx {
            return None;
        }
        // SAFETY: `entry` lies inside the read-execute mapping owned by `self` and was produced
        // by a backend as a trampoline with the `Entry` signature; the returned value is only
        // called under `BareEntry::run`'s contract that `self` is alive.
        let f: Entry = unsafe { std::mem::transmute::<*const u8, Entry>(self.mem.as_ptr().add(self.entry)) };
        Some(BareEntry { f, min_len })
    }

    /// Runs the program on `mem` (r1 = its address or 0 when empty, r2 = its length) and
    /// returns r0; 0 after a fault, or when [`JitProgram::input`] refuses `mem`.
    ///
    /// Memory safety of the BPF code itself comes from the verifier (the program was compiled
    /// from a `Verified` witness) or from the caller of the `unsafe` entry that compiled it.
    #[inline]
    pub fn run(&self, mem: &mut [u8]) -> u64 {
        self.execute(mem).unwrap_or(0)
    }

    /// Like [`JitProgram::run`], reporting faults and refused inputs (pc 0).
    #[inline]
    pub fn execute(&self, mem: &mut [u8]) -> Result<u64, JitFault> {
        self.admit(mem)?;
        // SAFETY: `mem` satisfies the input contract checked above; the rest is the compile
        // entry's guarantee.
        unsafe { self.execute_unchecked(mem) }
    }

    /// The input contract of safe runs.
    #[inline]
    fn admit(&self, mem: &[u8]) -> Result<(), JitFault> {
        let refused = |kind| Err(JitFault { kind, pc: 0 });
        match self.input {
            Input::Unchecked => Ok(()),
            Input::AtLeast(n) if mem.len() >= n => Ok(()),
            Input::AtLeast(_) => refused(FaultKind::InputTooShort),
            Input::BuiltContext => refused(FaultKind::ContextRequired),
        }
    }

    /// Runs without checking [`JitProgram::input`].
    ///
    /// # Safety
    ///
    /// `mem` must be an input the program was compiled to accept: for code compiled from a
    /// witness, a context as the verifier assumed it for the program type (for the packet
    /// types: built by the test run around a live packet, with its data pointers valid for the
    /// run).
    #[inline]
    pub unsafe fn execute_unchecked(&self, mem: &mut [u8]) -> Result<u64, JitFault> {
        let (ptr, len) =
            if mem.is_empty() { (std::ptr::null_mut(), 0) } else { (mem.as_mut_ptr(), mem.len() as u64) };
        self.enter(ptr, len, RunCtx { mem: ptr as u64, len, ..RunCtx::default() })
    }

    /// Like [`JitProgram::execute`], with `LD_ABS`/`LD_IND` reading `packet` instead of `mem`:
    /// an skb program's test run, where r1 points to the context and the legacy packet loads
    /// read `skb->data` (the generated code reaches them only through a bounds-checked native,
    /// [`RunCtx::mem`] and [`RunCtx::len`]). Checks the input contract like `execute`.
    pub fn execute_with_packet(&self, mem: &mut [u8], packet: &[u8]) -> Result<u64, JitFault> {
        self.admit(mem)?;
        // SAFETY: `mem` satisfies the input contract checked above; LD_ABS reads `packet`
        // through the bounds-checked native only.
        unsafe { self.execute_with_packet_unchecked(mem, packet) }
    }

    /// [`JitProgram::execute_with_packet`] without the input check.
    ///
    /// # Safety
    ///
    /// As [`JitProgram::execute_unchecked`].
    pub unsafe fn execute_with_packet_unchecked(
        &self,
        mem: &mut [u8],
        packet: &[u8],
    ) -> Result<u64, JitFault> {
        // SAFETY: forwarded.
        unsafe { self.execute_with_frame_unchecked(mem, LdAbsFrame { buf: packet, ptrs_at: None }) }
    }

    /// [`JitProgram::execute_with_packet_unchecked`] for an skb test run whose legacy packet
    /// loads follow the context's packet pointers at `frame.ptrs_at` of `mem` (helpers may move
    /// the packet inside `frame.buf`) and read its headers at negative `SKF_LL_OFF`/`SKF_NET_OFF`
    /// offsets. Pointers at an offset past `mem` leave nothing readable.
    ///
    /// # Safety
    ///
    /// As [`JitProgram::execute_unchecked`].
    pub unsafe fn execute_with_frame_unchecked(
        &self,
        mem: &mut [u8],
        frame: LdAbsFrame<'_>,
    ) -> Result<u64, JitFault> {
        let (ptr, len) =
            if mem.is_empty() { (std::ptr::null_mut(), 0) } else { (mem.as_mut_ptr(), mem.len() as u64) };
        let mut run =
            RunCtx { mem: frame.buf.as_ptr() as u64, len: frame.buf.len() as u64, ..RunCtx::default() };
        match frame.ptrs_at {
            // the pointers lie inside the input, which lives for the run
            Some(at) if at.checked_add(PKT_PTRS).is_some_and(|e| e <= mem.len()) => {
                run.pkt = ptr as u64 + at as u64
            }
            Some(_) => run.mem = 0,
            None => {}
        }
        if frame.buf.is_empty() {
            run.mem = 0;
        }
        self.enter(ptr, len, run)
    }

    /// Calls the entry trampoline with r1 = `ptr`, r2 = `len` and the run context `ctx`.
    #[inline]
    fn enter(&self, ptr: *mut u8, len: u64, mut ctx: RunCtx) -> Result<u64, JitFault> {
        // SAFETY: `entry` lies inside the read-execute mapping owned by `self` and was produced
        // by a backend as a trampoline with the `Entry` signature.
        let f: Entry = unsafe { std::mem::transmute::<*const u8, Entry>(self.mem.as_ptr().add(self.entry)) };
        if !self.run_ctx {
            // SAFETY: as below; the code never reads its third argument (`without_run_ctx`).
            return Ok(unsafe { f(ptr, len, std::ptr::null_mut()) });
        }
        // SAFETY: the generated code follows the C ABI, touches only `mem`, its own stack
        // frames and `ctx` (given the verifier's guarantees), and returns normally.
        let r0 = unsafe { f(ptr, len, &mut ctx) };
        if ctx.status == 0 {
            return Ok(r0);
        }
        let kind = match ctx.status & 0xff {
            1 => FaultKind::LdAbsOutOfBounds,
            _ => FaultKind::UnknownCallx,
        };
        // (codes 3 and 4 are never written by generated code)
        Err(JitFault { kind, pc: ((ctx.status >> 8) & 0xffff_ffff) as usize })
    }

    /// The machine code.
    pub fn code(&self) -> &[u8] {
        self.mem.bytes()
    }

    /// Address of the code (for disassembly with real addresses).
    pub fn code_addr(&self) -> usize {
        self.mem.as_ptr() as usize
    }

    /// Native offset of instruction index `idx`.
    pub fn insn_offset(&self, idx: usize) -> Option<usize> {
        self.insn_offsets.get(idx).map(|&o| o as usize)
    }

    /// Native offsets of every instruction index.
    pub fn insn_offsets(&self) -> &[u32] {
        &self.insn_offsets
    }

    /// Native offsets of each function's first byte (prologue), function 0 first.
    pub fn func_offsets(&self) -> &[u32] {
        &self.func_offsets
    }

    /// Offset of the entry trampoline.
    pub fn entry_offset(&self) -> usize {
        self.entry
    }

    /// Host address of the main function (not the trampoline): where a tail call into this
    /// program jumps.
    pub fn main_addr(&self) -> u64 {
        self.code_addr() as u64 + self.func_offsets.first().copied().unwrap_or(0) as u64
    }
}
