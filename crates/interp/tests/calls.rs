//! Helpers, callx, kfuncs, bpf-to-bpf frames, stack arguments (r11), limits and kernel-compat.

mod common;
use common::{asm, fold, run, run_insns, try_run, vm_with};
use kbpf_interp::{InterpError, VmOptions};
use kbpf_isa::KernelMsg;
use kbpf_isa::{Insn, LdImm64Src, Reg, Size, Src};

fn set_reg_args() -> String {
    (1..=5).map(|i| format!("mov %r{i}, {i}\n")).collect()
}

/// Outgoing stack-argument stores for arguments 6..=n (argument k holds the value k).
fn store_stack_args(n: usize) -> String {
    (6..=n).map(|k| format!("stdw [%r11-{}], {k}\n", 8 * (k - 5))).collect()
}

#[test]
fn helpers_and_callx() {
    assert_eq!(run(&format!("{}call 1\nexit", set_reg_args())), 15);
    assert_eq!(run("mov %r1, 77\ncall helper 5\nexit"), 77);
    assert_eq!(run(&format!("{}mov %r6, 1\ncall %r6\nexit", set_reg_args())), 15);
    // Registers r1..r5 pass through to the helper, r6..r9 are untouched.
    assert_eq!(run("mov %r6, 9\nmov %r1, 3\ncall 5\nadd %r0, %r6\nexit"), 12);
}

#[test]
fn unknown_calls_fail_at_run_time() {
    let e = try_run("mov %r0, 0\ncall 99\nexit", &mut []).unwrap_err();
    assert_eq!(e, InterpError::UnknownHelper { pc: 1, id: 99 });
    assert_eq!(e.to_string(), "insn 1: invalid func unknown#99");
    let e = try_run("mov %r2, 1000\ncall %r2\nexit", &mut []).unwrap_err();
    assert_eq!(e, InterpError::UnknownHelper { pc: 1, id: 1000 });
    let e = try_run("call runtime 4242\nexit", &mut []).unwrap_err();
    assert_eq!(e, InterpError::UnknownKfunc { pc: 0, btf_id: 4242 });
    // A call to an unknown helper in dead code is harmless.
    assert_eq!(run("mov %r0, 1\nja +1\ncall 99\nexit"), 1);
}

#[test]
fn local_calls_preserve_callee_saved() {
    let src = "mov %r6, 6\nmov %r7, 7\nmov %r8, 8\nmov %r9, 9\nmov %r1, 100\ncall local f\n\
               add %r0, %r6\nadd %r0, %r7\nadd %r0, %r8\nadd %r0, %r9\nexit\n\
               f:\nmov %r0, %r1\nmov %r6, 0\nmov %r7, 0\nmov %r8, 0\nmov %r9, 0\nmov %r10, 0\nexit";
    assert_eq!(run(src), 130);
    // r10 is restored too: the caller's stack is still reachable.
    let fp = "stdw [%r10-8], 3\ncall local f\nldxdw %r0, [%r10-8]\nexit\nf:\nmov %r10, 0\nexit";
    assert_eq!(run(fp), 3);
}

fn chain(frames: usize) -> String {
    // main -> f1 -> ... -> f{frames-1}; the deepest returns 7.
    let mut s = String::from("call local f1\nexit\n");
    for i in 1..frames - 1 {
        s += &format!("f{i}:\ncall local f{}\nexit\n", i + 1);
    }
    s += &format!("f{}:\nmov %r0, 7\nexit\n", frames - 1);
    s
}

#[test]
fn call_depth_limit() {
    assert_eq!(run(&chain(8)), 7);
    let e = try_run(&chain(9), &mut []).unwrap_err();
    // The 8th frame's call (slot 2 + 2 * 6) would make a 9th.
    assert_eq!(e, InterpError::CallTooDeep { pc: 14, frames: 9 });
    let e = try_run("call local f\nexit\nf:\ncall local f\nexit", &mut []).unwrap_err();
    assert_eq!(e, InterpError::CallTooDeep { pc: 2, frames: 9 });
}

/// Caller passes 1..=n; callee folds its arguments in order.
fn stack_arg_program(n: usize) -> String {
    let mut s = set_reg_args() + &store_stack_args(n) + "call local f\nexit\nf:\n";
    s += "mov %r0, 0\n";
    for i in 1..=5 {
        s += &format!("mul %r0, 31\nadd %r0, %r{i}\n");
    }
    for k in 6..=n {
        s += &format!("ldxdw %r1, [%r11+{}]\nmul %r0, 31\nadd %r0, %r1\n", 8 * (k - 5));
    }
    s + "exit"
}

#[test]
fn bpf_to_bpf_stack_args() {
    for n in [6usize, 8, 12] {
        let want = fold(&(1..=n as u64).collect::<Vec<_>>());
        assert_eq!(run(&stack_arg_program(n)), want, "{n} args");
    }
}

#[test]
fn stack_arg_slots_are_per_frame() {
    // f gets 6 from main, passes 1000 to g in its own slot, and still reads 6 afterwards.
    let src = "stdw [%r11-8], 6\ncall local f\nexit\n\
               f:\nstdw [%r11-8], 1000\ncall local g\nldxdw %r1, [%r11+8]\nmul %r0, 10\nadd %r0, %r1\nexit\n\
               g:\nldxdw %r0, [%r11+8]\nexit";
    assert_eq!(run(src), 10_006);
    // main has no caller whose slots it could read.
    let e = try_run("ldxdw %r0, [%r11+8]\nexit", &mut []).unwrap_err();
    assert_eq!(e, InterpError::NoCallerFrame { pc: 0 });
    // A register store works like the immediate form.
    assert_eq!(
        run("mov %r3, 44\nstxdw [%r11-8], %r3\ncall local f\nexit\nf:\nldxdw %r0, [%r11+8]\nexit"),
        44
    );
}

#[test]
fn kfunc_stack_args() {
    for (n, id) in [(6usize, 1006), (8, 1008), (12, 1012)] {
        let src = set_reg_args() + &store_stack_args(n) + &format!("call runtime {id}\nexit");
        let want = fold(&(1..=n as u64).collect::<Vec<_>>());
        assert_eq!(run(&src), want, "kfunc with {n} args");
    }
}

#[test]
fn kfunc_from_callee_uses_callee_slots() {
    let src = set_reg_args()
        + "stdw [%r11-8], 600\ncall local f\nexit\nf:\nstdw [%r11-8], 6\ncall runtime 1006\nexit";
    assert_eq!(run(&src), fold(&[1, 2, 3, 4, 5, 6]));
}

#[test]
fn stack_arg_slot_out_of_range() {
    let mut p = asm("mov %r0, 0\nja +0\nexit");
    p[1] = Insn::Store { size: Size::DW, dst: Reg::R11, off: -64, src: Src::Imm(1) };
    assert_eq!(
        run_insns(p, &mut []),
        Err(InterpError::Unsupported { pc: 1, what: "stack argument slot out of range" })
    );
}

#[test]
fn instruction_budget() {
    let opts = |n| VmOptions { insn_budget: n, ..VmOptions::default() };
    let vm = vm_with(asm("mov %r0, 1\nexit"), opts(2)).unwrap();
    assert_eq!(vm.run(&mut []), Ok(1));
    assert_eq!(vm.run_stats(&mut []).map(|s| s.insns), Ok(2));
    let vm = vm_with(asm("mov %r0, 1\nexit"), opts(1)).unwrap();
    assert_eq!(vm.run(&mut []), Err(InterpError::BudgetExhausted { pc: 1, budget: 1 }));
    let vm = vm_with(asm("mov %r0, 0\nloop:\nadd %r0, 1\nja loop"), opts(1000)).unwrap();
    let e = vm.run(&mut []).unwrap_err();
    assert_eq!(e, InterpError::BudgetExhausted { pc: 2, budget: 1000 });
    assert_eq!(e.to_string(), "insn 2: instruction budget of 1000 exhausted");
}

#[test]
fn kernel_compat_refuses_stack_args_and_kfuncs() {
    let kc = VmOptions { kernel_compat: true, ..VmOptions::default() };
    let e = vm_with(asm(&stack_arg_program(6)), kc).unwrap_err();
    assert_eq!(e, InterpError::KernelCompat { pc: 5, msg: KernelMsg::StackArgsNonJit });
    assert_eq!(e.to_string(), "stack args are not supported in non-JITed programs");
    let e = vm_with(asm("call runtime 1006\nexit"), kc).unwrap_err();
    assert_eq!(e.to_string(), KernelMsg::KfuncNonJit.to_string());
    // Everything else runs as usual.
    let vm = vm_with(asm("mov %r0, 3\ncall local f\nexit\nf:\nmov %r0, 4\nexit"), kc).unwrap();
    assert_eq!(vm.run(&mut []), Ok(4));
    // The same stack-arg program runs without kernel_compat.
    assert!(vm_with(asm(&stack_arg_program(6)), VmOptions::default()).is_ok());
}

#[test]
fn other_run_time_errors() {
    let e = try_run("mov %r0, 1", &mut []).unwrap_err();
    assert_eq!(e, InterpError::FellOffEnd { pc: 0 });
    let mut p = asm("mov %r0, 1\nlddw %r1, 0\nexit");
    p[1] = Insn::LdImm64 { dst: Reg::R1, src: LdImm64Src::MapFd, imm: 3, imm_hi: 0 };
    assert!(matches!(run_insns(p, &mut []), Err(InterpError::Unsupported { pc: 1, .. })));
    let mut p = asm("mov %r0, 1\nja +0\nexit");
    p[1] = Insn::AddrSpaceCast { dst: Reg::R1, src: Reg::R1, dst_as: 0, src_as: 1 };
    let e = run_insns(p, &mut []).unwrap_err();
    assert_eq!(e.pc(), 1);
}

static REGION_ADDR: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

extern "C" fn lookup() -> u64 {
    REGION_ADDR.load(std::sync::atomic::Ordering::Relaxed)
}

#[test]
fn helper_returned_memory_is_checked_against_regions() {
    let mut reg = common::registry();
    reg.add_helper(50, "lookup", kbpf_kfunc::NativeFn::A0(lookup)).unwrap();
    let prog = kbpf_isa::Program::new(asm("call 50\nldxdw %r1, [%r0+8]\nstdw [%r0], 99\nmov %r0, %r1\nexit"))
        .unwrap();
    let vm = kbpf_interp::Vm::new(&prog, &reg, VmOptions::default()).unwrap();
    let mut value = [0u8; 16];
    value[8] = 7;
    REGION_ADDR.store(value.as_ptr() as u64, std::sync::atomic::Ordering::Relaxed);
    let stats = vm.run_with_regions(&mut [], &mut [&mut value]).unwrap();
    assert_eq!(stats.r0, 7);
    // The retried accesses count once each, like any other instruction.
    assert_eq!(stats.insns, 5);
    assert_eq!(value[0], 99);
    // Sign-extending loads, narrow stores and atomics reach the region too.
    let src = "call 50\nmov %r6, %r0\nldxsb %r1, [%r6+8]\nstb [%r6+1], 0x80\nldxh %r2, [%r6]\n\
               mov %r3, 5\nlock fetch add [%r6+8], %r3\nldxdw %r4, [%r6+8]\n\
               mov %r0, %r1\nxor %r0, %r2\nxor %r0, %r3\nxor %r0, %r4\nexit";
    let vm2 =
        kbpf_interp::Vm::new(&kbpf_isa::Program::new(asm(src)).unwrap(), &reg, VmOptions::default()).unwrap();
    value = [0u8; 16];
    value[8] = 0xfe;
    REGION_ADDR.store(value.as_ptr() as u64, std::sync::atomic::Ordering::Relaxed);
    let r0 = vm2.run_with_regions(&mut [], &mut [&mut value]).unwrap().r0;
    // r1 = -2 (sign-extended 0xfe), r2 = 0x8000, r3 = old 0xfe, r4 = 0xfe + 5.
    assert_eq!(r0, (-2i64 as u64) ^ 0x8000 ^ 0xfe ^ 0x103);
    assert_eq!(value[8], 0x03);
    assert_eq!(value[9], 0x01);
    // Out of the region by one byte.
    let e = vm.run_with_regions(&mut [], &mut [&mut value[..15]]).unwrap_err();
    assert!(matches!(e, InterpError::MemoryAccess { pc: 1, size: 8, .. }), "{e}");
    // Without the region the same pointer is a wild one.
    let e = vm.run(&mut []).unwrap_err();
    assert!(matches!(e, InterpError::MemoryAccess { pc: 1, size: 8, .. }), "{e}");
}

#[test]
fn threaded_jumps_count_and_exhaust_exactly() {
    let opts = |n| VmOptions { insn_budget: n, ..VmOptions::default() };
    // a loop whose latch jumps to a `ja +0` header (threaded past it) and a chain of `ja`s
    let lp = "mov %r0, 0\nmov %r1, 5\nhead:\nja next\nnext:\nadd %r0, 1\nsub %r1, 1\njne %r1, 0, head\n\
              ja a\na:\nja b\nb:\nexit";
    let vm = vm_with(asm(lp), opts(1 << 20)).unwrap();
    assert_eq!(vm.run_stats(&mut []).map(|s| (s.r0, s.insns)), Ok((5, 2 + 5 * 4 + 3)));
    // every budget short of the full count stops at the instruction an unthreaded run stops at
    let pcs = [0, 1, 2, 3, 4, 5, 2, 3, 4, 5, 2, 3, 4, 5, 2, 3, 4, 5, 2, 3, 4, 5, 6, 7, 8];
    for (budget, &pc) in pcs.iter().enumerate() {
        let vm = vm_with(asm(lp), opts(budget as u64)).unwrap();
        let want = InterpError::BudgetExhausted { pc, budget: budget as u64 };
        assert_eq!(vm.run(&mut []), Err(want), "budget {budget}");
    }
    let vm = vm_with(asm(lp), opts(pcs.len() as u64)).unwrap();
    assert_eq!(vm.run(&mut []), Ok(5));
}
