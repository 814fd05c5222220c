//! Recognisers for the stack-argument instruction forms (r11 = `BPF_REG_PARAMS`) and the
//! up-front register-number check that rejects every other use of r11 and above.
//!
//! kbpf's conservative rule (shared stack-args.md §2.1): only 8-byte `BPF_MEM` accesses at
//! 8-aligned offsets with the right sign are stack-arg instructions. The predicates live here
//! only, so that they can be flipped in one place once the upstream bodies are confirmed.

use crate::error::{PassError, PassErrorKind};
use kbpf_isa::RawInsn;

/// `BPF_REG_PARAMS`: the stack-argument base register.
pub const REG_PARAMS: u8 = 11;

/// `*(u64 *)(r11 - 8k) = imm`: an outgoing store of an immediate.
pub fn is_stack_arg_st(i: &RawInsn) -> bool {
    i.code == 0x7a && i.dst == REG_PARAMS && i.off < 0 && i.off % 8 == 0
}

/// `*(u64 *)(r11 - 8k) = rX`: an outgoing store of a register.
pub fn is_stack_arg_stx(i: &RawInsn) -> bool {
    i.code == 0x7b && i.dst == REG_PARAMS && i.off < 0 && i.off % 8 == 0
}

/// `rX = *(u64 *)(r11 + 8k)`: an incoming load.
pub fn is_stack_arg_ldx(i: &RawInsn) -> bool {
    i.code == 0x79 && i.src == REG_PARAMS && i.off > 0 && i.off % 8 == 0
}

/// Whether the instruction is any of the three stack-argument forms.
pub fn is_stack_arg_insn(i: &RawInsn) -> bool {
    is_stack_arg_st(i) || is_stack_arg_stx(i) || is_stack_arg_ldx(i)
}

/// The register-number check of `check_and_resolve_insns` (dst before src): `R%d is invalid`.
pub fn check_regs(idx: usize, i: &RawInsn) -> Result<(), PassError> {
    if i.dst >= REG_PARAMS && !is_stack_arg_st(i) && !is_stack_arg_stx(i) {
        return Err(PassError::new(idx, PassErrorKind::RegInvalid(i.dst)));
    }
    if i.src >= REG_PARAMS && !is_stack_arg_ldx(i) {
        return Err(PassError::new(idx, PassErrorKind::RegInvalid(i.src)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> RawInsn {
        RawInsn::new(code, dst, src, off, imm)
    }

    #[test]
    fn recognisers() {
        assert!(is_stack_arg_st(&r(0x7a, 11, 0, -8, 6)));
        assert!(is_stack_arg_stx(&r(0x7b, 11, 1, -56, 0)));
        assert!(is_stack_arg_ldx(&r(0x79, 0, 11, 8, 0)));
        // wrong sign, misaligned, narrow
        assert!(!is_stack_arg_st(&r(0x7a, 11, 0, 8, 6)));
        assert!(!is_stack_arg_stx(&r(0x7b, 11, 1, -4, 0)));
        assert!(!is_stack_arg_stx(&r(0x63, 11, 1, -8, 0)));
        assert!(!is_stack_arg_ldx(&r(0x79, 0, 11, -8, 0)));
    }

    #[test]
    fn invalid_registers() {
        let msg = |i: RawInsn| check_regs(0, &i).unwrap_err().to_string();
        assert_eq!(msg(r(0xb7, 11, 0, 0, 1)), "R11 is invalid");
        assert_eq!(msg(r(0xbf, 0, 11, 0, 0)), "R11 is invalid");
        assert_eq!(msg(r(0xb7, 12, 0, 0, 0)), "R12 is invalid");
        assert_eq!(msg(r(0x7b, 10, 11, -8, 0)), "R11 is invalid");
        assert_eq!(msg(r(0x79, 11, 11, 8, 0)), "R11 is invalid");
        assert_eq!(msg(r(0x63, 11, 1, -8, 0)), "R11 is invalid");
        assert_eq!(check_regs(0, &r(0xb7, 11, 0, 0, 1)).unwrap_err().errno(), crate::Errno::EINVAL);
        check_regs(0, &r(0x7b, 11, 1, -8, 0)).unwrap();
        check_regs(0, &r(0x79, 1, 11, 8, 0)).unwrap();
        check_regs(0, &r(0x7a, 11, 0, -16, 3)).unwrap();
    }

    #[test]
    fn no_constant_flows_through_slots() {
        use crate::const_fold::{ConstVal, compute_const_regs};
        // r1 = 7; *(r11-8) = r1; *(r11-16) = 3; r2 = *(r11+8); exit
        let slots = [
            r(0xb7, 1, 0, 0, 7),
            r(0x7b, 11, 1, -8, 0),
            r(0x7a, 11, 0, -16, 3),
            r(0x79, 2, 11, 8, 0),
            r(0x95, 0, 0, 0, 0),
        ];
        let subprogs = crate::subprogs::add_subprogs(&slots).unwrap();
        let po = crate::postorder::compute_postorder(&slots, &subprogs);
        let c = compute_const_regs(&slots, &po);
        // stores change nothing, the load makes its destination unknown
        assert_eq!(c[3][1], ConstVal::Const(7));
        assert_eq!(c[4][1], ConstVal::Const(7));
        assert_eq!(c[4][2], ConstVal::Unknown);
    }
}
