//! The function declarations of a program that passes stack arguments. The kernel takes a
//! callee's argument count from its BTF prototype (`func_info`), so a program with r11
//! accesses needs one per function; the harness derives them from the instructions (a callee
//! takes as many stack arguments as the farthest slot its body reads), so that a generated
//! program and a case file stay plain instructions.

use kbpf_isa::{CallTarget, FuncDecl, Insn, MAX_REG_ARGS, Program};

/// One declaration per function (the main one at 0, then every bpf-to-bpf call target), or
/// none when the program never touches r11 (it is then verified without `func_info`, as before).
pub fn declared(prog: &Program) -> Vec<FuncDecl> {
    if !prog.iter().any(|(_, i)| i.is_stack_arg()) {
        return Vec::new();
    }
    let mut starts: Vec<usize> = vec![0];
    for (pc, insn) in prog.iter() {
        if let Insn::Call(CallTarget::Local(off)) = insn {
            let t = pc as i64 + 1 + *off as i64;
            if t > 0 && (t as usize) < prog.len_slots() {
                starts.push(t as usize);
            }
        }
    }
    starts.sort_unstable();
    starts.dedup();
    let mut funcs = Vec::with_capacity(starts.len());
    for (k, &start) in starts.iter().enumerate() {
        let end = starts.get(k + 1).copied().unwrap_or(usize::MAX);
        let stack_in = prog
            .iter()
            .filter(|&(pc, _)| pc >= start && pc < end)
            .filter_map(|(_, i)| match i {
                Insn::StackArgLoad { pos, .. } => pos.slot().map(|s| s.index() + 1),
                _ => None,
            })
            .max()
            .unwrap_or(0);
        let nargs = if start == 0 { 1 } else { (MAX_REG_ARGS + stack_in) as u32 };
        funcs.push(FuncDecl {
            pc: start,
            name: if start == 0 { "main".to_string() } else { format!("f{k}") },
            nargs,
            global: false,
            ret_scalar: true,
            exception_cb: false,
            params: Vec::new(),
        });
    }
    funcs
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbpf_isa::{Reg, Src, StackArgPos, StackArgSlot};

    #[test]
    fn a_callee_takes_its_farthest_slot() {
        let pos = |k| StackArgPos::from(StackArgSlot::new(k).unwrap());
        let prog = Program::new(vec![
            Insn::StackArgStore { pos: pos(0), src: Src::Imm(1) },
            Insn::StackArgStore { pos: pos(1), src: Src::Imm(2) },
            Insn::Call(CallTarget::Local(2)),
            Insn::Alu {
                width: kbpf_isa::Width::W64,
                op: kbpf_isa::AluOp::Mov,
                dst: Reg::R0,
                src: Src::Imm(0),
            },
            Insn::Exit,
            Insn::StackArgLoad { dst: Reg::R2, pos: pos(1) },
            Insn::Alu {
                width: kbpf_isa::Width::W64,
                op: kbpf_isa::AluOp::Mov,
                dst: Reg::R0,
                src: Src::Reg(Reg::R2),
            },
            Insn::Exit,
        ])
        .unwrap();
        let f = declared(&prog);
        assert_eq!(f.iter().map(|f| (f.pc, f.nargs)).collect::<Vec<_>>(), vec![(0, 1), (5, 7)]);
    }

    #[test]
    fn no_r11_no_declarations() {
        let prog = Program::new(vec![Insn::Exit]).unwrap();
        assert!(declared(&prog).is_empty());
    }
}
