//! The up-front register-number check that rejects every use of r11 and above outside the
//! stack-argument forms (r11 = `BPF_REG_PARAMS`; the forms are recognised by kbpf-isa's
//! [`RawInsn::is_stack_arg_store`] and [`RawInsn::is_stack_arg_load`]).

use crate::error::{PassError, PassErrorKind};
use kbpf_isa::{RawInsn, Reg};

/// The register-number check of `check_and_resolve_insns` (dst before src): `R%d is invalid`.
pub fn check_regs(idx: usize, i: &RawInsn) -> Result<(), PassError> {
    let params = Reg::PARAMS.num();
    if i.dst >= params && !i.is_stack_arg_store() {
        return Err(PassError::new(idx, PassErrorKind::RegInvalid(i.dst)));
    }
    if i.src >= params && !i.is_stack_arg_load() {
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
}
