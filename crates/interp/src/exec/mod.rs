//! The run loop.
//!
//! Registers live in a local 16-entry array indexed with `& 15`, so register accesses need no
//! bounds checks; every memory access goes through [`Mem`]. Rare operations (calls, atomics,
//! legacy packet loads) are out of line to keep the dispatch loop small.

use std::cell::Cell;

use kbpf_isa::{AtomicOp, MAX_CALL_FRAMES, MAX_REG_ARGS, MAX_STACK_ARG_SLOTS};

use crate::mem::MAX_FRAMES;
use kbpf_kfunc::maps::HostEnv;

use crate::compile::{K, Op, UNSUPPORTED};
use crate::error::InterpError;
use crate::mem::{Mem, Stack, read_extra, write_extra};
use crate::vm::{BPF_MAX_LOOPS, Vm};

/// Caller state saved by a bpf-to-bpf call.
#[derive(Clone, Copy, Default)]
struct Frame {
    /// Op index to return to.
    ret: usize,
    /// r6..r10 of the caller.
    saved: [u64; 5],
    /// The caller's `may_goto` counter.
    may_goto: u64,
    /// The callee is a callback driver (its frame does not count against `MAX_CALL_FRAMES`).
    driver: bool,
}

/// Per-run state besides registers and memory.
pub(crate) struct Calls {
    frames: [Frame; MAX_FRAMES],
    /// Outgoing stack-argument slots of each frame.
    pub(crate) args: [[u64; MAX_STACK_ARG_SLOTS]; MAX_FRAMES],
    pub(crate) depth: usize,
    /// Live driver frames (`depth - drivers` frames count against `MAX_CALL_FRAMES`).
    pub(crate) drivers: usize,
    /// `may_goto` counter of the current frame.
    pub(crate) may_goto: u64,
}

impl Calls {
    pub(crate) fn new() -> Calls {
        Calls {
            frames: [Frame::default(); MAX_FRAMES],
            args: [[0; MAX_STACK_ARG_SLOTS]; MAX_FRAMES],
            depth: 0,
            drivers: 0,
            may_goto: BPF_MAX_LOOPS,
        }
    }
}

type Regs = [u64; 16];

#[inline(always)]
pub(crate) fn d(op: &Op) -> usize {
    (op.dst & 15) as usize
}

#[inline(always)]
fn s(op: &Op) -> usize {
    (op.src & 15) as usize
}

#[inline(always)]
fn addr(base: u64, op: &Op) -> u64 {
    base.wrapping_add(op.off as i64 as u64)
}

fn div64(a: u64, b: u64) -> u64 {
    a.checked_div(b).unwrap_or(0)
}
fn sdiv64(a: u64, b: u64) -> u64 {
    if b == 0 { 0 } else { (a as i64).wrapping_div(b as i64) as u64 }
}
fn mod64(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { a % b }
}
fn smod64(a: u64, b: u64) -> u64 {
    if b == 0 { a } else { (a as i64).wrapping_rem(b as i64) as u64 }
}
fn div32(a: u64, b: u64) -> u64 {
    let (a, b) = (a as u32, b as u32);
    a.checked_div(b).map_or(0, u64::from)
}
fn sdiv32(a: u64, b: u64) -> u64 {
    let (a, b) = (a as u32 as i32, b as u32 as i32);
    if b == 0 { 0 } else { a.wrapping_div(b) as u32 as u64 }
}
/// Modulo by zero leaves dst; for the 32-bit form that is its zero-extended low half.
fn mod32(a: u64, b: u64) -> u64 {
    let (a, b) = (a as u32, b as u32);
    if b == 0 { a as u64 } else { (a % b) as u64 }
}
fn smod32(a: u64, b: u64) -> u64 {
    let (a, b) = (a as u32 as i32, b as u32 as i32);
    if b == 0 { a as u32 as u64 } else { a.wrapping_rem(b) as u32 as u64 }
}
fn w(v: u32) -> u64 {
    v as u64
}

fn mem_err(vm: &Vm, idx: usize, addr: u64, size: u8) -> InterpError {
    InterpError::MemoryAccess { pc: vm.pc_of(idx), addr, size }
}

/// Why the loop stopped.
enum Stop {
    /// `exit` of the main function (or a failed legacy packet load), with `r0`.
    Exit(u64),
    Error(InterpError),
    /// A map or timer helper, tail call, `callx` or native call with pointer arguments at op
    /// index `.0`, run outside the loop against all regions and the environment; `pc` already
    /// points past it.
    Host(usize),
    /// The load, store or atomic at op index `.0` missed the input buffer and the live stacks.
    /// Nothing of it has happened yet; `pc` already points past it.
    Fault(usize),
    /// `LD_ABS`/`LD_IND` at op index `.0` on the packet region ([`crate::VmOptions::ld_abs_region`]);
    /// `pc` already points past it.
    PacketLoad(usize),
}

/// Everything a run needs to be resumed after a [`Stop::Fault`].
pub(crate) struct State {
    pub(crate) r: Regs,
    pub(crate) pc: usize,
    pub(crate) fuel: u64,
    pub(crate) calls: Calls,
    /// Tail calls taken so far (`tail_call_cnt`).
    pub(crate) tail_calls: u32,
}

/// Runs the program; returns `r0` and the number of instructions executed.
///
/// Accesses that miss the input buffer and the stacks leave the hot loop, are retried against
/// the caller's `extra` regions, and the loop resumes. Keeping the extra regions out of the loop
/// entirely matters: any reference to them in there costs 30-50% (register pressure).
pub(crate) fn run(
    vm: &Vm,
    input: &mut [u8],
    extra: &mut [&mut [u8]],
    env: Option<&dyn HostEnv>,
    entry: usize,
) -> Result<(u64, u64), InterpError> {
    // A run inside a native of another run (re-entry) finds no spare and allocates its own.
    let mut stack = SPARE.try_with(Cell::take).ok().flatten().unwrap_or_else(|| Box::new(Stack::new()));
    let res = run_on(vm, input, extra, env, entry, &mut stack);
    let _ = SPARE.try_with(|s| s.set(Some(stack)));
    res
}

thread_local! {
    /// The stack of this thread's last run, kept so that a run does not allocate or clear
    /// 4 KiB ([`Mem`] zeroes the frames a run reaches).
    static SPARE: Cell<Option<Box<Stack>>> = const { Cell::new(None) };
}

/// The packet `LD_ABS`/`LD_IND` read: region [`crate::VmOptions::ld_abs_region`] as the
/// context describes it ([`crate::VmOptions::ld_abs_ctx`]), or the whole region.
fn ld_abs_view<'a>(vm: &Vm, input: &[u8], extra: &'a [&mut [u8]]) -> Option<LdAbsView<'a>> {
    let region: &[u8] = extra.get(vm.opts.ld_abs_region?)?;
    match vm.opts.ld_abs_ctx {
        Some(at) => LdAbsView::of_ctx(input, at, region),
        None => Some(LdAbsView::plain(region)),
    }
}

fn run_on(
    vm: &Vm,
    input: &mut [u8],
    extra: &mut [&mut [u8]],
    env: Option<&dyn HostEnv>,
    entry: usize,
    stack: &mut Stack,
) -> Result<(u64, u64), InterpError> {
    let mut mem = Mem::new(input, stack);
    let mut st =
        State { tail_calls: 0, r: [0; 16], pc: entry, fuel: vm.opts.insn_budget, calls: Calls::new() };
    st.r[1] = mem.input_addr();
    st.r[2] = mem.input_len();
    st.r[10] = mem.frame_pointer(0);
    loop {
        let (stop, m) = run_loop(vm, mem, &mut st);
        mem = m;
        match stop {
            Stop::Exit(r0) => return Ok((r0, vm.opts.insn_budget - st.fuel)),
            Stop::Error(e) => return Err(e),
            Stop::Fault(cur) => retry_in_extra(vm, cur, &mut st.r, &mut Both { mem: &mut mem, extra, env })?,
            Stop::Host(cur) => {
                crate::host::host_call(vm, cur, &mut st, &mut Both { mem: &mut mem, extra, env })?
            }
            Stop::PacketLoad(cur) => {
                let view = ld_abs_view(vm, mem.input(), extra);
                match vm.ops.get(cur).and_then(|op| view.and_then(|v| packet_load(v, &st.r, op))) {
                    Some(v) => st.r[0] = v,
                    None => return Ok((0, vm.opts.insn_budget - st.fuel)),
                }
            }
        }
    }
}

/// The interpreter loop proper. `mem` is moved in and out so that its fields can stay in
/// registers.
fn run_loop<'a>(vm: &Vm, mut mem: Mem<'a>, st: &mut State) -> (Stop, Mem<'a>) {
    let mut r = st.r;
    let mut pc = st.pc;
    let mut fuel = st.fuel;
    let calls = &mut st.calls;
    let ops = &vm.ops[..];

    macro_rules! stop {
        ($why:expr) => {{
            st.r = r;
            st.pc = pc;
            st.fuel = fuel;
            return ($why, mem);
        }};
    }
    macro_rules! load {
        ($op:expr, $cur:expr, $t:ty, $n:literal) => {{
            let a = addr(r[s($op)], $op);
            match mem.read::<$n>(a) {
                Some(b) => <$t>::from_le_bytes(b),
                None => stop!(Stop::Fault($cur)),
            }
        }};
    }
    macro_rules! store {
        ($op:expr, $cur:expr, $v:expr, $t:ty, $n:literal) => {{
            let a = addr(r[d($op)], $op);
            if mem.write::<$n>(a, ($v as $t).to_le_bytes()).is_none() {
                stop!(Stop::Fault($cur));
            }
        }};
    }
    // A taken jump also pays for the `ja`s threading skipped; short of budget, it goes to its
    // original target and the chain runs (and exhausts the budget) one `ja` at a time.
    macro_rules! jump {
        ($op:expr, $cur:expr) => {
            match fuel.checked_sub($op.aux as u64) {
                Some(f) => {
                    fuel = f;
                    pc = $op.off as usize;
                }
                None => pc = unthreaded($op, vm, $cur),
            }
        };
    }
    macro_rules! br {
        ($op:expr, $cur:expr, $c:expr) => {
            if $c {
                jump!($op, $cur);
            }
        };
    }

    loop {
        let cur = pc;
        let Some(op) = ops.get(cur) else {
            stop!(Stop::Error(InterpError::FellOffEnd { pc: vm.pc_of(cur.saturating_sub(1)) }));
        };
        if fuel == 0 {
            stop!(Stop::Error(InterpError::BudgetExhausted {
                pc: vm.pc_of(cur),
                budget: vm.opts.insn_budget
            }));
        }
        fuel -= 1;
        pc += 1;
        let (di, si) = (d(op), s(op));
        let imm = op.imm;
        match op.k {
            K::Add64I => r[di] = r[di].wrapping_add(imm),
            K::Add64R => r[di] = r[di].wrapping_add(r[si]),
            K::Sub64I => r[di] = r[di].wrapping_sub(imm),
            K::Sub64R => r[di] = r[di].wrapping_sub(r[si]),
            K::Mul64I => r[di] = r[di].wrapping_mul(imm),
            K::Mul64R => r[di] = r[di].wrapping_mul(r[si]),
            K::Div64I => r[di] = div64(r[di], imm),
            K::Div64R => r[di] = div64(r[di], r[si]),
            K::SDiv64I => r[di] = sdiv64(r[di], imm),
            K::SDiv64R => r[di] = sdiv64(r[di], r[si]),
            K::Mod64I => r[di] = mod64(r[di], imm),
            K::Mod64R => r[di] = mod64(r[di], r[si]),
            K::SMod64I => r[di] = smod64(r[di], imm),
            K::SMod64R => r[di] = smod64(r[di], r[si]),
            K::Or64I => r[di] |= imm,
            K::Or64R => r[di] |= r[si],
            K::And64I => r[di] &= imm,
            K::And64R => r[di] &= r[si],
            K::Xor64I => r[di] ^= imm,
            K::Xor64R => r[di] ^= r[si],
            K::Lsh64I => r[di] <<= imm & 63,
            K::Lsh64R => r[di] <<= r[si] & 63,
            K::Rsh64I => r[di] >>= imm & 63,
            K::Rsh64R => r[di] >>= r[si] & 63,
            K::Arsh64I => r[di] = ((r[di] as i64) >> (imm & 63)) as u64,
            K::Arsh64R => r[di] = ((r[di] as i64) >> (r[si] & 63)) as u64,
            K::Mov64I => r[di] = imm,
            K::Mov64R => r[di] = r[si],
            K::Add32I => r[di] = w((r[di] as u32).wrapping_add(imm as u32)),
            K::Add32R => r[di] = w((r[di] as u32).wrapping_add(r[si] as u32)),
            K::Sub32I => r[di] = w((r[di] as u32).wrapping_sub(imm as u32)),
            K::Sub32R => r[di] = w((r[di] as u32).wrapping_sub(r[si] as u32)),
            K::Mul32I => r[di] = w((r[di] as u32).wrapping_mul(imm as u32)),
            K::Mul32R => r[di] = w((r[di] as u32).wrapping_mul(r[si] as u32)),
            K::Div32I => r[di] = div32(r[di], imm),
            K::Div32R => r[di] = div32(r[di], r[si]),
            K::SDiv32I => r[di] = sdiv32(r[di], imm),
            K::SDiv32R => r[di] = sdiv32(r[di], r[si]),
            K::Mod32I => r[di] = mod32(r[di], imm),
            K::Mod32R => r[di] = mod32(r[di], r[si]),
            K::SMod32I => r[di] = smod32(r[di], imm),
            K::SMod32R => r[di] = smod32(r[di], r[si]),
            K::Or32I => r[di] = w(r[di] as u32 | imm as u32),
            K::Or32R => r[di] = w(r[di] as u32 | r[si] as u32),
            K::And32I => r[di] = w(r[di] as u32 & imm as u32),
            K::And32R => r[di] = w(r[di] as u32 & r[si] as u32),
            K::Xor32I => r[di] = w(r[di] as u32 ^ imm as u32),
            K::Xor32R => r[di] = w(r[di] as u32 ^ r[si] as u32),
            K::Lsh32I => r[di] = w((r[di] as u32) << (imm & 31)),
            K::Lsh32R => r[di] = w((r[di] as u32) << (r[si] & 31)),
            K::Rsh32I => r[di] = w((r[di] as u32) >> (imm & 31)),
            K::Rsh32R => r[di] = w((r[di] as u32) >> (r[si] & 31)),
            K::Arsh32I => r[di] = w(((r[di] as i32) >> (imm & 31)) as u32),
            K::Arsh32R => r[di] = w(((r[di] as i32) >> (r[si] & 31)) as u32),
            K::Mov32I => r[di] = imm,
            K::Mov32R => r[di] = w(r[si] as u32),
            K::Neg64 => r[di] = r[di].wrapping_neg(),
            K::Neg32 => r[di] = w((r[di] as u32).wrapping_neg()),
            K::MovSx64 => {
                r[di] = match imm {
                    8 => r[si] as i8 as i64 as u64,
                    16 => r[si] as i16 as i64 as u64,
                    _ => r[si] as i32 as i64 as u64,
                }
            }
            K::MovSx32 => {
                r[di] = match imm {
                    8 => w(r[si] as i8 as i32 as u32),
                    16 => w(r[si] as i16 as i32 as u32),
                    // Not decodable; a plain 32-bit move for hand-built instructions.
                    _ => w(r[si] as u32),
                }
            }
            K::Le => {
                r[di] = match imm {
                    16 => r[di] as u16 as u64,
                    32 => r[di] as u32 as u64,
                    _ => r[di],
                }
            }
            K::Be | K::Swap => {
                r[di] = match imm {
                    16 => (r[di] as u16).swap_bytes() as u64,
                    32 => w((r[di] as u32).swap_bytes()),
                    _ => r[di].swap_bytes(),
                }
            }
            K::Ja => jump!(op, cur),
            K::Jeq64I => br!(op, cur, r[di] == imm),
            K::Jeq64R => br!(op, cur, r[di] == r[si]),
            K::Jne64I => br!(op, cur, r[di] != imm),
            K::Jne64R => br!(op, cur, r[di] != r[si]),
            K::Jgt64I => br!(op, cur, r[di] > imm),
            K::Jgt64R => br!(op, cur, r[di] > r[si]),
            K::Jge64I => br!(op, cur, r[di] >= imm),
            K::Jge64R => br!(op, cur, r[di] >= r[si]),
            K::Jlt64I => br!(op, cur, r[di] < imm),
            K::Jlt64R => br!(op, cur, r[di] < r[si]),
            K::Jle64I => br!(op, cur, r[di] <= imm),
            K::Jle64R => br!(op, cur, r[di] <= r[si]),
            K::Jsgt64I => br!(op, cur, (r[di] as i64) > imm as i64),
            K::Jsgt64R => br!(op, cur, (r[di] as i64) > r[si] as i64),
            K::Jsge64I => br!(op, cur, (r[di] as i64) >= imm as i64),
            K::Jsge64R => br!(op, cur, (r[di] as i64) >= r[si] as i64),
            K::Jslt64I => br!(op, cur, (r[di] as i64) < imm as i64),
            K::Jslt64R => br!(op, cur, (r[di] as i64) < r[si] as i64),
            K::Jsle64I => br!(op, cur, (r[di] as i64) <= imm as i64),
            K::Jsle64R => br!(op, cur, (r[di] as i64) <= r[si] as i64),
            K::Jset64I => br!(op, cur, r[di] & imm != 0),
            K::Jset64R => br!(op, cur, r[di] & r[si] != 0),
            K::Jeq32I => br!(op, cur, r[di] as u32 == imm as u32),
            K::Jeq32R => br!(op, cur, r[di] as u32 == r[si] as u32),
            K::Jne32I => br!(op, cur, r[di] as u32 != imm as u32),
            K::Jne32R => br!(op, cur, r[di] as u32 != r[si] as u32),
            K::Jgt32I => br!(op, cur, r[di] as u32 > imm as u32),
            K::Jgt32R => br!(op, cur, r[di] as u32 > r[si] as u32),
            K::Jge32I => br!(op, cur, r[di] as u32 >= imm as u32),
            K::Jge32R => br!(op, cur, r[di] as u32 >= r[si] as u32),
            K::Jlt32I => br!(op, cur, (r[di] as u32) < imm as u32),
            K::Jlt32R => br!(op, cur, (r[di] as u32) < r[si] as u32),
            K::Jle32I => br!(op, cur, r[di] as u32 <= imm as u32),
            K::Jle32R => br!(op, cur, r[di] as u32 <= r[si] as u32),
            K::Jsgt32I => br!(op, cur, r[di] as i32 > imm as i32),
            K::Jsgt32R => br!(op, cur, r[di] as i32 > r[si] as i32),
            K::Jsge32I => br!(op, cur, r[di] as i32 >= imm as i32),
            K::Jsge32R => br!(op, cur, r[di] as i32 >= r[si] as i32),
            K::Jslt32I => br!(op, cur, (r[di] as i32) < imm as i32),
            K::Jslt32R => br!(op, cur, (r[di] as i32) < r[si] as i32),
            K::Jsle32I => br!(op, cur, r[di] as i32 <= imm as i32),
            K::Jsle32R => br!(op, cur, r[di] as i32 <= r[si] as i32),
            K::Jset32I => br!(op, cur, r[di] as u32 & imm as u32 != 0),
            K::Jset32R => br!(op, cur, r[di] as u32 & r[si] as u32 != 0),
            K::MayGoto => {
                // The kernel's expansion: jump once the counter is zero, otherwise count down.
                if calls.may_goto == 0 {
                    pc = op.off as usize;
                } else {
                    calls.may_goto -= 1;
                }
            }
            K::LdImm64 => r[di] = imm,
            K::Ldx8 => r[di] = load!(op, cur, u8, 1) as u64,
            K::Ldx16 => r[di] = load!(op, cur, u16, 2) as u64,
            K::Ldx32 => r[di] = load!(op, cur, u32, 4) as u64,
            K::Ldx64 => r[di] = load!(op, cur, u64, 8),
            K::Ldxs8 => r[di] = load!(op, cur, i8, 1) as i64 as u64,
            K::Ldxs16 => r[di] = load!(op, cur, i16, 2) as i64 as u64,
            K::Ldxs32 => r[di] = load!(op, cur, i32, 4) as i64 as u64,
            K::St8 => store!(op, cur, imm, u8, 1),
            K::St16 => store!(op, cur, imm, u16, 2),
            K::St32 => store!(op, cur, imm, u32, 4),
            K::St64 => store!(op, cur, imm, u64, 8),
            K::Stx8 => store!(op, cur, r[si], u8, 1),
            K::Stx16 => store!(op, cur, r[si], u16, 2),
            K::Stx32 => store!(op, cur, r[si], u32, 4),
            K::Stx64 => store!(op, cur, r[si], u64, 8),
            K::StArgI => calls.args[calls.depth][op.off as usize % MAX_STACK_ARG_SLOTS] = imm,
            K::StArgR => calls.args[calls.depth][op.off as usize % MAX_STACK_ARG_SLOTS] = r[si],
            K::LdArg => {
                let Some(caller) = calls.depth.checked_sub(1) else {
                    stop!(Stop::Error(InterpError::NoCallerFrame { pc: vm.pc_of(cur) }));
                };
                r[di] = calls.args[caller][op.off as usize % MAX_STACK_ARG_SLOTS];
            }
            K::Atomic => {
                if atomic(&mut mem, &mut r, op).is_none() {
                    stop!(Stop::Fault(cur));
                }
            }
            K::LdAbs | K::LdInd if vm.opts.ld_abs_region.is_some() => stop!(Stop::PacketLoad(cur)),
            K::LdAbs | K::LdInd => match packet_load(LdAbsView::plain(mem.input()), &r, op) {
                Some(v) => r[0] = v,
                // The kernel's rewrite exits the program with r0 = 0 on an out-of-bounds load.
                None => stop!(Stop::Exit(0)),
            },
            K::CallNative => r[0] = crate::args::call_plain(vm, native_args(&r, calls), imm as usize),
            K::CallLocal => {
                let depth = calls.depth + 1;
                let driver = op.aux != 0;
                let counted = depth - calls.drivers - usize::from(driver);
                if counted >= MAX_CALL_FRAMES || depth >= MAX_FRAMES {
                    stop!(Stop::Error(InterpError::CallTooDeep { pc: vm.pc_of(cur), frames: counted + 1 }));
                }
                let mut saved = [0u64; 5];
                saved.copy_from_slice(&r[6..=10]);
                calls.frames[calls.depth] = Frame { ret: pc, saved, may_goto: calls.may_goto, driver };
                calls.drivers += usize::from(driver);
                calls.depth = depth;
                calls.may_goto = BPF_MAX_LOOPS;
                mem.enter_frame(depth);
                r[10] = mem.frame_pointer(depth);
                pc = op.off as usize;
            }
            K::Exit => {
                let Some(caller) = calls.depth.checked_sub(1) else {
                    stop!(Stop::Exit(r[0]));
                };
                let f = calls.frames[caller];
                calls.drivers -= usize::from(f.driver);
                r[6..=10].copy_from_slice(&f.saved);
                calls.may_goto = f.may_goto;
                calls.depth = caller;
                mem.set_depth(caller);
                pc = f.ret;
            }
            K::MapCall | K::TailCall | K::TimerCall | K::CallChecked | K::Callx | K::Throw => {
                stop!(Stop::Host(cur))
            }
            K::FellOff => stop!(Stop::Error(InterpError::FellOffEnd { pc: vm.pc_of(cur) })),
            K::CallMissing => {
                let (at, id) = (vm.pc_of(cur), imm as i64);
                stop!(Stop::Error(if op.aux == 0 {
                    InterpError::UnknownHelper { pc: at, id }
                } else {
                    InterpError::UnknownKfunc { pc: at, btf_id: id }
                }));
            }
            K::Unsupported => {
                let what = UNSUPPORTED.get(imm as usize).copied().unwrap_or("instruction");
                stop!(Stop::Error(InterpError::Unsupported { pc: vm.pc_of(cur), what }));
            }
        }
    }
}

/// The target of the jump at op `cur` before threading.
#[cold]
#[inline(never)]
fn unthreaded(op: &Op, vm: &Vm, cur: usize) -> usize {
    vm.unthreaded.get(cur).map_or(op.off as usize, |&t| t as usize)
}

/// The arguments of a helper or kfunc call: r1..r5, then the current frame's outgoing
/// stack-argument slots (which only kfuncs read: helpers have at most five parameters).
#[inline(always)]
pub(crate) fn native_args(r: &Regs, calls: &Calls) -> [u64; 12] {
    let mut a = [0u64; 12];
    a[..MAX_REG_ARGS].copy_from_slice(&r[1..=MAX_REG_ARGS]);
    a[MAX_REG_ARGS..].copy_from_slice(&calls.args[calls.depth]);
    a
}

mod access;
mod observe;
pub(crate) use access::Both;
use access::{LdAbsView, atomic, packet_load, retry_in_extra};
pub use observe::{Observer, Step};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn division_helpers() {
        assert_eq!(div64(7, 0), 0);
        assert_eq!(sdiv64(i64::MIN as u64, u64::MAX), i64::MIN as u64);
        assert_eq!(smod64(i64::MIN as u64, u64::MAX), 0);
        assert_eq!(mod64(7, 0), 7);
        assert_eq!(div32(0x1_0000_0007, 0x1_0000_0000), 0);
        assert_eq!(mod32(0x1_0000_0007, 0x1_0000_0000), 7);
        assert_eq!(sdiv32(0x8000_0000, 0xffff_ffff), 0x8000_0000);
        assert_eq!(smod32(0xffff_ffff_8000_0000, 0), 0x8000_0000);
        assert_eq!(smod32(-7i64 as u64, 2), 0xffff_ffff);
    }
}
