//! Instruction validation and ld_imm64 resolution (the kernel's `resolve_pseudo_ldimm64`).
//!
//! Runs after subprogram checks. Only the checks the kernel does up front live here: reserved LDX
//! fields, ld_imm64 pairing and pseudo sources, the opcode table. Everything else (register
//! numbers, other reserved fields) is reported when the walk reaches the instruction.

use crate::error::{PassError, PassErrorKind as K};
use kbpf_isa::{Class, LdImm64Src, Mode, RawInsn};

/// An ld_imm64 that names an object the caller must resolve (maps, BTF ids).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PseudoLdImm64 {
    /// Index of the first slot.
    pub insn: usize,
    /// The pseudo source (never `Imm` or `Func`).
    pub src: LdImm64Src,
    /// First slot's imm (fd or index).
    pub imm: i32,
    /// Second slot's imm (value offset for the value forms).
    pub imm_hi: i32,
}

/// Resolves map references while the instructions are checked, so errors keep the kernel's order.
pub trait Resolver {
    /// Called for each ld_imm64 with a map or BTF pseudo source.
    fn resolve(&mut self, ld: PseudoLdImm64) -> Result<(), PassError>;
}

/// A resolver that accepts nothing: every map reference is an invalid fd.
pub struct NoMaps;

impl Resolver for NoMaps {
    fn resolve(&mut self, ld: PseudoLdImm64) -> Result<(), PassError> {
        Err(PassError::new(ld.insn, K::Resolve(crate::ResolveError::BadMapFd(ld.imm))))
    }
}

/// Checks every slot in order, stopping at the first rejection (with the stack-argument ABI).
pub fn check_and_resolve_insns(slots: &[RawInsn], resolver: &mut dyn Resolver) -> Result<(), PassError> {
    check_and_resolve_insns_abi(slots, resolver, true)
}

/// [`check_and_resolve_insns`]; `stack_args` = the stack-argument ABI's up-front register check
/// (`R%d is invalid` for every r11 use outside the stack-arg forms). Without it (Linux 6.18
/// before the series) register numbers are checked only when the walk reaches them.
pub fn check_and_resolve_insns_abi(
    slots: &[RawInsn],
    resolver: &mut dyn Resolver,
    stack_args: bool,
) -> Result<(), PassError> {
    let n = slots.len();
    let mut i = 0;
    while i < n {
        let insn = &slots[i];
        if insn.class() == Class::Ldx
            && (!matches!(insn.mode(), Some(Mode::Mem | Mode::MemSx)) || insn.imm != 0)
        {
            return Err(PassError::new(i, K::LdxReserved));
        }
        if insn.is_ldimm64() {
            let next = slots.get(i + 1);
            let ok = next.is_some_and(|nx| nx.is_ldimm64_tail());
            let Some(next) = next.filter(|_| ok) else {
                return Err(PassError::new(i, K::InvalidLdImm64));
            };
            use LdImm64Src as S;
            match LdImm64Src::from_u8(insn.src) {
                Some(S::Imm | S::Func) => {}
                Some(src @ (S::BtfId | S::MapValue | S::MapIdxValue)) => {
                    resolver.resolve(PseudoLdImm64 { insn: i, src, imm: insn.imm, imm_hi: next.imm })?
                }
                Some(src @ (S::MapFd | S::MapIdx)) if next.imm == 0 => {
                    resolver.resolve(PseudoLdImm64 { insn: i, src, imm: insn.imm, imm_hi: 0 })?
                }
                _ => return Err(PassError::new(i, K::UnrecognizedLdImm64)),
            }
            i += 2;
            continue;
        }
        if !insn.in_insn_table() {
            return Err(PassError::new(i, K::UnknownOpcode(insn.code)));
        }
        if stack_args {
            crate::stack_arg::check_regs(i, insn)?;
        }
        i += 1;
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
    fn messages_in_order() {
        let exit = r(0x95, 0, 0, 0, 0);
        let e = check_and_resolve_insns(&[r(0xff, 0, 0, 0, 0), exit], &mut NoMaps).unwrap_err();
        assert_eq!(e.to_string(), "unknown opcode ff");
        let e = check_and_resolve_insns(&[r(0x79, 0, 1, 0, 5), exit], &mut NoMaps).unwrap_err();
        assert_eq!(e.to_string(), "BPF_LDX uses reserved fields");
        let e =
            check_and_resolve_insns(&[r(0x18, 0, 0, 0, 1), r(0, 1, 0, 0, 0), exit], &mut NoMaps).unwrap_err();
        assert_eq!(e.to_string(), "invalid bpf_ld_imm64 insn");
        let e =
            check_and_resolve_insns(&[r(0x18, 0, 7, 0, 1), r(0, 0, 0, 0, 0), exit], &mut NoMaps).unwrap_err();
        assert_eq!(e.to_string(), "unrecognized bpf_ld_imm64 insn");
        let e =
            check_and_resolve_insns(&[r(0x18, 0, 1, 0, 9), r(0, 0, 0, 0, 0), exit], &mut NoMaps).unwrap_err();
        assert_eq!(e.to_string(), "fd 9 is not pointing to valid bpf_map");
        assert_eq!(e.errno(), crate::Errno::EBADF);
        // A plain ld_imm64 with junk in the second slot's imm is fine.
        check_and_resolve_insns(&[r(0x18, 0, 0, 0, 1), r(0, 0, 0, 0, 7), exit], &mut NoMaps).unwrap();
    }
}
