//! Instruction validation and ld_imm64 resolution (the kernel's `resolve_pseudo_ldimm64`).
//!
//! Runs after subprogram checks. Only the checks the kernel does up front live here: reserved LDX
//! fields, ld_imm64 pairing and pseudo sources, the opcode table. Everything else (register
//! numbers, other reserved fields) is reported when the walk reaches the instruction.

use crate::error::{PassError, PassErrorKind as K};
use kbpf_isa::{Class, Decoded, Insn, LdImm64Src, Mode, RawInsn, SlotTable};

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
pub fn check_and_resolve_insns(slots: &SlotTable<'_>, resolver: &mut dyn Resolver) -> Result<(), PassError> {
    check_and_resolve_insns_abi(slots, resolver, true)
}

/// [`check_and_resolve_insns`]; `stack_args` = the stack-argument ABI's up-front register check
/// (`R%d is invalid` for every r11 use outside the stack-arg forms). Without it (Linux 6.18
/// before the series) register numbers are checked only when the walk reaches them.
///
/// A decoded `ld_imm64` is resolved from its [`Insn`] fields. The opcode table is a check of the
/// opcode byte itself (the kernel's `bpf_opcode_in_insntable`; the decoder accepts `callx`,
/// which it refuses), so it reads the raw slot. A decoded instruction names no register above
/// r10 outside the stack-argument forms, so the register check (`R%d is invalid`) only reads
/// slots the table could not decode; those are read raw throughout ([`check_raw`]), as the
/// kernel reads them.
pub fn check_and_resolve_insns_abi(
    slots: &SlotTable<'_>,
    resolver: &mut dyn Resolver,
    stack_args: bool,
) -> Result<(), PassError> {
    let n = slots.len();
    let raw = slots.raw();
    let mut i = 0;
    while i < n {
        match slots.get(i) {
            Some(Decoded::Insn(Insn::LdImm64 { src, imm, imm_hi, .. })) => {
                resolve(i, *src, *imm, *imm_hi, resolver)?;
                i += 2;
                continue;
            }
            // a decoded LDX has its reserved fields clear and its registers in range
            Some(Decoded::Insn(_)) => {
                let insn = &raw[i];
                if !insn.in_insn_table() {
                    return Err(PassError::new(i, K::UnknownOpcode(insn.code)));
                }
            }
            _ => {
                if check_raw(i, raw, resolver)? {
                    i += 2;
                    continue;
                }
                let insn = &raw[i];
                if !insn.in_insn_table() {
                    return Err(PassError::new(i, K::UnknownOpcode(insn.code)));
                }
                if stack_args {
                    crate::stack_arg::check_regs(i, insn)?;
                }
            }
        }
        i += 1;
    }
    Ok(())
}

/// A decoded `ld_imm64`'s pseudo source: resolved, or the kernel's refusal.
fn resolve(
    i: usize,
    src: LdImm64Src,
    imm: i32,
    imm_hi: i32,
    resolver: &mut dyn Resolver,
) -> Result<(), PassError> {
    use LdImm64Src as S;
    match src {
        S::Imm | S::Func => Ok(()),
        S::BtfId | S::MapValue | S::MapIdxValue => {
            resolver.resolve(PseudoLdImm64 { insn: i, src, imm, imm_hi })
        }
        S::MapFd | S::MapIdx if imm_hi == 0 => {
            resolver.resolve(PseudoLdImm64 { insn: i, src, imm, imm_hi: 0 })
        }
        _ => Err(PassError::new(i, K::UnrecognizedLdImm64)),
    }
}

/// The raw reading of a slot the table could not decode (the one place this pass reads slot
/// fields beyond the encoding checks): LDX reserved fields, then an `ld_imm64` pair. `Ok(true)`
/// when the slot began a well-formed pair (resolved, two slots consumed).
fn check_raw(i: usize, slots: &[RawInsn], resolver: &mut dyn Resolver) -> Result<bool, PassError> {
    let insn = &slots[i];
    if insn.class() == Class::Ldx && (!matches!(insn.mode(), Some(Mode::Mem | Mode::MemSx)) || insn.imm != 0)
    {
        return Err(PassError::new(i, K::LdxReserved));
    }
    if !insn.is_ldimm64() {
        return Ok(false);
    }
    let Some(next) = slots.get(i + 1).filter(|nx| nx.is_ldimm64_tail()) else {
        return Err(PassError::new(i, K::InvalidLdImm64));
    };
    // a pair whose first slot has junk the walk refuses later (offset, register) still resolves
    match LdImm64Src::from_u8(insn.src) {
        Some(src) => resolve(i, src, insn.imm, next.imm, resolver)?,
        None => return Err(PassError::new(i, K::UnrecognizedLdImm64)),
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(slots: &[RawInsn]) -> SlotTable<'_> {
        SlotTable::new(slots)
    }

    fn r(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> RawInsn {
        RawInsn::new(code, dst, src, off, imm)
    }

    #[test]
    fn messages_in_order() {
        let exit = r(0x95, 0, 0, 0, 0);
        let e = check_and_resolve_insns(&t(&[r(0xff, 0, 0, 0, 0), exit]), &mut NoMaps).unwrap_err();
        assert_eq!(e.to_string(), "unknown opcode ff");
        let e = check_and_resolve_insns(&t(&[r(0x79, 0, 1, 0, 5), exit]), &mut NoMaps).unwrap_err();
        assert_eq!(e.to_string(), "BPF_LDX uses reserved fields");
        let e = check_and_resolve_insns(&t(&[r(0x18, 0, 0, 0, 1), r(0, 1, 0, 0, 0), exit]), &mut NoMaps)
            .unwrap_err();
        assert_eq!(e.to_string(), "invalid bpf_ld_imm64 insn");
        let e = check_and_resolve_insns(&t(&[r(0x18, 0, 7, 0, 1), r(0, 0, 0, 0, 0), exit]), &mut NoMaps)
            .unwrap_err();
        assert_eq!(e.to_string(), "unrecognized bpf_ld_imm64 insn");
        let e = check_and_resolve_insns(&t(&[r(0x18, 0, 1, 0, 9), r(0, 0, 0, 0, 0), exit]), &mut NoMaps)
            .unwrap_err();
        assert_eq!(e.to_string(), "fd 9 is not pointing to valid bpf_map");
        assert_eq!(e.errno(), crate::Errno::EBADF);
        // A plain ld_imm64 with junk in the second slot's imm is fine.
        check_and_resolve_insns(&t(&[r(0x18, 0, 0, 0, 1), r(0, 0, 0, 0, 7), exit]), &mut NoMaps).unwrap();
    }

    /// A slot the table decodes always passes the register check: only raw slots need it.
    #[test]
    fn decoded_slots_name_no_invalid_register() {
        let tail = r(0, 0, 0, 0, 0);
        for code in 0..=255u8 {
            for dst in 0..16u8 {
                for src in 0..16u8 {
                    for (off, imm) in [(0, 0), (-8, 0), (8, 0), (-16, 3), (1, 0), (0, 1), (8, 1), (16, 0)] {
                        let slots = [r(code, dst, src, off, imm), tail];
                        if let Some(Decoded::Insn(_)) = SlotTable::new(&slots).get(0) {
                            assert!(crate::stack_arg::check_regs(0, &slots[0]).is_ok(), "{:?}", slots[0]);
                        }
                    }
                }
            }
        }
    }
}
