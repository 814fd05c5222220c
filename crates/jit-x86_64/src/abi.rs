//! Frames, prologues, epilogues, calls and stack arguments (stack-args.md §5.1).
//!
//! Frame of one BPF function, high to low:
//!
//! ```text
//!  | incoming arg 7..12   [rbp+16], [rbp+24], ...   (caller's outgoing area)
//!  | return address       [rbp+8]
//!  | saved rbp            [rbp]          (only when the function needs rbp)
//!  | BPF stack            [rbp-depth, rbp)   r10 = rbp (zeroed by the prologue)
//!  | may_goto counter     [rbp-depth-8]  (only with may_goto)
//!  | callee-saved         rbx, r13, r14, r15 as mentioned (not in a trampolined main)
//!  | padding              keeps rsp 16-byte aligned at calls
//!  | outgoing arg 8..12   [rsp+8] ...
//!  | outgoing arg 7       [rsp]
//! ```
//!
//! Arg 6 travels in r9 both ways. A program that can fault or tail-call is entered through a
//! trampoline that saves every SysV callee-saved register and the stack pointer (for fault
//! unwinding), so its main function saves none itself; any other program is entered at its
//! main function, which saves the callee-saved registers it uses, like the kernel's JIT.

use dynasmrt::{DynamicLabel, DynasmApi, DynasmLabelApi, VecAssembler, dynasm, x64::X64Relocation};
use kbpf_jit::{FuncPlan, MAY_GOTO_BUDGET, RunCtx};

use crate::regs::{AUX, CTX, x};

/// The assembler every emitting function writes into.
pub type Ops = VecAssembler<X64Relocation>;

/// Native layout of one function, derived from its [`FuncPlan`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Frame {
    /// Whether rbp is set up (r10 used, incoming args 7+, or a may_goto counter).
    pub need_rbp: bool,
    /// Bytes below rbp: BPF stack plus the may_goto counter.
    pub local: u32,
    /// Native callee-saved registers pushed, in push order.
    pub saved: Vec<u8>,
    /// Outgoing stack-argument area plus alignment padding, subtracted after the pushes.
    pub below: u32,
    /// rbp-relative offset of the may_goto counter.
    pub counter_off: i32,
    /// BPF stack depth.
    pub depth: u32,
    /// The kernel JIT's layout ([`kbpf_jit::JitOptions::kernel_image`]).
    pub kernel: bool,
}

impl Frame {
    /// The kernel JIT's frame for `plan`: rbp always, the depth as planned, the callee-saved
    /// registers used, nothing else.
    pub fn kernel(plan: &FuncPlan) -> Frame {
        Frame {
            need_rbp: true,
            local: plan.stack_depth,
            saved: plan.callee_saved.iter().map(|&r| x(r)).collect(),
            below: 0,
            counter_off: 0,
            depth: plan.stack_depth,
            kernel: true,
        }
    }

    /// Layout for `plan`; `main` functions rely on the trampoline for callee-saved registers.
    pub fn new(plan: &FuncPlan, main: bool) -> Frame {
        let need_rbp = plan.uses_fp || plan.in_stack_args >= 2 || plan.may_goto;
        let local = plan.stack_depth + if plan.may_goto { 8 } else { 0 };
        let saved: Vec<u8> =
            if main { Vec::new() } else { plan.callee_saved.iter().map(|&r| x(r)).collect() };
        let out = kbpf_jit::StackArgAbi::X86_64.area_bytes(plan.out_stack_args as usize);
        // Bytes pushed since the caller's aligned rsp: return address, rbp, locals, saves, out.
        let used = 8 + if need_rbp { 8 } else { 0 } + local + 8 * saved.len() as u32 + out;
        let pad = if plan.needs_align { (16 - used % 16) % 16 } else { 0 };
        Frame {
            need_rbp,
            local,
            saved,
            below: out + pad,
            counter_off: -(plan.stack_depth as i32) - 8,
            depth: plan.stack_depth,
            kernel: false,
        }
    }

    /// Function entry.
    pub fn prologue(&self, ops: &mut Ops) {
        if self.kernel {
            // the nop ftrace patches into a call, the tail-call counter's slot (a nop when no
            // tail call reaches the program), the frame
            dynasm!(ops ; .arch x64
                ; .bytes [0x0f, 0x1f, 0x44, 0x00, 0x00, 0x0f, 0x1f, 0x00]
                ; push rbp ; mov rbp, rsp
            );
            if self.local > 0 {
                dynasm!(ops ; .arch x64 ; sub rsp, DWORD self.local as i32);
            }
            for &r in &self.saved {
                push_pop(ops, 0x50, r);
            }
            return;
        }
        if self.need_rbp {
            dynasm!(ops ; .arch x64 ; push rbp ; mov rbp, rsp);
            if self.local > 0 {
                sub_rsp(ops, self.local as i32);
            }
        }
        for &r in &self.saved {
            dynasm!(ops ; .arch x64 ; push Rq(r));
        }
        if self.below > 0 {
            sub_rsp(ops, self.below as i32);
        }
        if self.local > self.depth {
            dynasm!(ops ; .arch x64 ; mov QWORD [rbp + self.counter_off], MAY_GOTO_BUDGET as i32);
        }
        self.zero_stack(ops);
    }

    /// Zeroes the BPF stack `[rbp - depth, rbp)`: a privileged program may read stack it never
    /// wrote, which the kernel leaves undefined; every kbpf engine gives it zeros (the
    /// interpreter zeroes each frame it enters), so they agree. AUX is scratch here.
    fn zero_stack(&self, ops: &mut Ops) {
        if !self.need_rbp || self.depth == 0 {
            return;
        }
        dynasm!(ops ; .arch x64 ; xor Rd(AUX), Rd(AUX));
        let mut off = self.depth as i32;
        while off >= 8 {
            dynasm!(ops ; .arch x64 ; mov QWORD [rbp + (-off)], Rq(AUX));
            off -= 8;
        }
        if off > 0 {
            // a depth that is not a multiple of 8 (a frame plan always rounds, but stay exact)
            for b in (1..=off).rev() {
                dynasm!(ops ; .arch x64 ; mov BYTE [rbp + (-b)], Rb(AUX));
            }
        }
    }

    /// The kernel JIT's exit: callee-saved registers, `leave`, and a jump to the return thunk.
    pub fn kernel_epilogue(&self, ops: &mut Ops, thunk: DynamicLabel) {
        for &r in self.saved.iter().rev() {
            push_pop(ops, 0x58, r);
        }
        dynasm!(ops ; .arch x64 ; leave ; jmp =>thunk);
    }

    /// Function exit (result already in rax).
    pub fn epilogue(&self, ops: &mut Ops) {
        self.teardown(ops);
        dynasm!(ops ; .arch x64 ; ret);
    }

    /// The epilogue without its `ret`: rsp back at the return address, callee-saved registers
    /// restored (a tail call then jumps to the next program's main function).
    pub fn teardown(&self, ops: &mut Ops) {
        if self.below > 0 {
            match i8::try_from(self.below) {
                Ok(b) => dynasm!(ops ; .arch x64 ; add rsp, BYTE b as _),
                Err(_) => dynasm!(ops ; .arch x64 ; add rsp, DWORD self.below as i32),
            }
        }
        for &r in self.saved.iter().rev() {
            dynasm!(ops ; .arch x64 ; pop Rq(r));
        }
        if self.need_rbp {
            dynasm!(ops ; .arch x64 ; leave);
        }
    }
}

/// `push`/`pop` (`op` 0x50/0x58) of `r` in its short form, REX only for r8..r15 (dynasm's
/// register-operand form always has one).
fn push_pop(ops: &mut Ops, op: u8, r: u8) {
    if r >= 8 {
        ops.push(0x41);
    }
    ops.push(op + (r & 7));
}

fn sub_rsp(ops: &mut Ops, n: i32) {
    match i8::try_from(n) {
        Ok(b) => dynasm!(ops ; .arch x64 ; sub rsp, BYTE b as _),
        Err(_) => dynasm!(ops ; .arch x64 ; sub rsp, DWORD n),
    }
}

/// Emits the entry trampoline `(mem: rdi, len: rsi, ctx: rdx) -> rax`, the fault exit
/// (`abort`) and, for a program that throws, the exit `bpf_throw` takes (`unwind`: every
/// frame dropped, rax kept). `main`
/// is the main function's label; returns the trampoline's label.
pub fn trampoline(
    ops: &mut Ops,
    main: DynamicLabel,
    abort: DynamicLabel,
    unwind: Option<DynamicLabel>,
) -> DynamicLabel {
    let entry = ops.new_dynamic_label();
    let ret = ops.new_dynamic_label();
    // Six pushes leave rsp 8 off alignment; the extra 8 makes it 16-aligned at the call.
    dynasm!(ops ; .arch x64
        ; =>entry
        ; push rbp ; push rbx ; push r12 ; push r13 ; push r14 ; push r15
        ; sub rsp, 8
        ; mov Rq(CTX), rdx
        ; mov [Rq(CTX) + RunCtx::SAVED_SP], rsp
        ; call =>main
        ; =>ret
        ; add rsp, 8
        ; pop r15 ; pop r14 ; pop r13 ; pop r12 ; pop rbx ; pop rbp
        ; ret
        ; =>abort
        ; mov rsp, [Rq(CTX) + RunCtx::SAVED_SP]
        ; xor eax, eax
        ; jmp =>ret
    );
    if let Some(unwind) = unwind {
        dynasm!(ops ; .arch x64
            ; =>unwind
            ; mov rsp, [Rq(CTX) + RunCtx::SAVED_SP]
            ; jmp =>ret
        );
    }
    entry
}

/// Loads `addr` into rax and calls it (r0 is clobbered by the result anyway).
pub fn call_abs(ops: &mut Ops, addr: u64) {
    dynasm!(ops ; .arch x64 ; mov rax, QWORD addr as i64 ; call rax);
}
