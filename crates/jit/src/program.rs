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
}

/// Why a run ended early. Generated code returns 0 in r0 for every fault, like the kernel does
/// for an out-of-bounds LD_ABS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum FaultKind {
    /// LD_ABS/LD_IND outside the input buffer.
    LdAbsOutOfBounds = 1,
    /// `callx` with a value that is no registered helper id.
    UnknownCallx = 2,
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

/// Machine code of one program, ready to run.
#[derive(Debug)]
pub struct JitProgram {
    mem: ExecMemory,
    entry: usize,
    insn_offsets: Vec<u32>,
    func_offsets: Vec<u32>,
    _data: Vec<Box<[u64]>>,
}

impl JitProgram {
    /// Wraps finished code. `entry` is the offset of a trampoline with the [`Entry`] signature
    /// (C convention: input address, length, `*mut RunCtx`); `insn_offsets[i]` is where
    /// instruction index `i` starts; `data` are tables the code points into (kept alive here).
    pub fn new(
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
        Ok(JitProgram { mem: ExecMemory::new(code)?, entry, insn_offsets, func_offsets, _data: data })
    }

    /// Runs the program on `mem` (r1 = its address or 0 when empty, r2 = its length) and
    /// returns r0; 0 after a fault.
    ///
    /// Memory safety of the BPF code itself is the verifier's job, exactly as for the kernel JIT:
    /// an unverified program that dereferences a wild pointer crashes the process.
    pub fn run(&self, mem: &mut [u8]) -> u64 {
        self.execute(mem).unwrap_or(0)
    }

    /// Like [`JitProgram::run`], reporting faults.
    pub fn execute(&self, mem: &mut [u8]) -> Result<u64, JitFault> {
        let (ptr, len) =
            if mem.is_empty() { (std::ptr::null_mut(), 0) } else { (mem.as_mut_ptr(), mem.len() as u64) };
        self.enter(ptr, len, RunCtx { status: 0, mem: ptr as u64, len, saved_sp: 0 })
    }

    /// Like [`JitProgram::execute`], with `LD_ABS`/`LD_IND` reading `packet` instead of `mem`:
    /// an skb program's test run, where r1 points to the context and the legacy packet loads
    /// read `skb->data` (the generated code reaches them only through a bounds-checked native,
    /// [`RunCtx::mem`] and [`RunCtx::len`]).
    pub fn execute_with_packet(&self, mem: &mut [u8], packet: &[u8]) -> Result<u64, JitFault> {
        let (ptr, len) =
            if mem.is_empty() { (std::ptr::null_mut(), 0) } else { (mem.as_mut_ptr(), mem.len() as u64) };
        let base = if packet.is_empty() { 0 } else { packet.as_ptr() as u64 };
        self.enter(ptr, len, RunCtx { status: 0, mem: base, len: packet.len() as u64, saved_sp: 0 })
    }

    /// Calls the entry trampoline with r1 = `ptr`, r2 = `len` and the run context `ctx`.
    fn enter(&self, ptr: *mut u8, len: u64, mut ctx: RunCtx) -> Result<u64, JitFault> {
        // SAFETY: `entry` lies inside the read-execute mapping owned by `self` and was produced
        // by a backend as a trampoline with the `Entry` signature.
        let f: Entry = unsafe { std::mem::transmute::<*const u8, Entry>(self.mem.as_ptr().add(self.entry)) };
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
