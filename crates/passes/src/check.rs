//! Instruction validation and ld_imm64 resolution (the kernel's `resolve_pseudo_ldimm64`).
//!
//! Runs after subprogram checks. Only the checks the kernel does up front live here: reserved LDX
//! fields, ld_imm64 pairing and pseudo sources, the opcode table. Everything else (register
//! numbers, other reserved fields) is reported when the walk reaches the instruction.

use crate::error::{PassError, PassErrorKind as K};
use crate::raw::{self, CLASS_LDX};
use kbpf_isa::RawInsn;

/// An ld_imm64 that names an object the caller must resolve (maps, BTF ids).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PseudoLdImm64 {
    /// Index of the first slot.
    pub insn: usize,
    /// The pseudo source (1 map fd, 2 map value, 3 BTF id, 5 map idx, 6 map idx value).
    pub src: u8,
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
        if raw::class(insn) == CLASS_LDX
            && ((raw::mode(insn) != 0x60 && raw::mode(insn) != 0x80) || insn.imm != 0)
        {
            return Err(PassError::new(i, K::LdxReserved));
        }
        if raw::is_ldimm64(insn) {
            let next = slots.get(i + 1);
            let ok = matches!(next, Some(nx) if nx.code == 0 && nx.dst == 0 && nx.src == 0 && nx.off == 0);
            let Some(next) = next.filter(|_| ok) else {
                return Err(PassError::new(i, K::InvalidLdImm64));
            };
            match insn.src {
                0 | raw::PSEUDO_FUNC => {}
                3 => resolver.resolve(PseudoLdImm64 { insn: i, src: 3, imm: insn.imm, imm_hi: next.imm })?,
                2 | 6 => resolver.resolve(PseudoLdImm64 {
                    insn: i,
                    src: insn.src,
                    imm: insn.imm,
                    imm_hi: next.imm,
                })?,
                1 | 5 if next.imm == 0 => {
                    resolver.resolve(PseudoLdImm64 { insn: i, src: insn.src, imm: insn.imm, imm_hi: 0 })?
                }
                _ => return Err(PassError::new(i, K::UnrecognizedLdImm64)),
            }
            i += 2;
            continue;
        }
        if !raw::opcode_in_table(insn.code) {
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
