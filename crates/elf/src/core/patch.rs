//! Writing a relocation's value into its instruction, with libbpf's checks of the value clang
//! wrote, or poisoning the instruction when the relocation could not be resolved.

use kbpf_isa::{CallTarget, Class, Insn, RawInsn, Size};

use super::Errno;
use super::calc::Res;

/// The helper id of a poisoned instruction: `0xbad2310`, "bad relo". The kernel's verifier
/// refuses it, where reachable, with `invalid func unknown#195896080`.
pub const POISON_HELPER: i32 = 0xbad2310;

/// What patching did, for the log.
pub(super) struct Patched {
    pub poisoned: bool,
    pub log: Vec<String>,
}

/// A patch failure: libbpf's errno and warning.
pub(super) type PatchErr = (Errno, String);

fn poison_slot() -> RawInsn {
    Insn::Call(CallTarget::Helper(POISON_HELPER)).encode()[0]
}

/// `bpf_core_patch_insn` on `insns[idx]` (and its second slot for `ld_imm64`).
pub(super) fn patch(insns: &mut [RawInsn], idx: usize, res: &Res, who: &str) -> Result<Patched, PatchErr> {
    let mut log = Vec::new();
    let insn = *insns.get(idx).ok_or((Errno::Inval, format!("{who}: insn #{idx} outside the program")))?;
    let (orig, new) = (res.orig_val, res.new_val);
    let mut poison = res.poison;
    match insn.class() {
        _ if poison => {}
        Class::Alu | Class::Alu64 => {
            if insn.is_reg_src() {
                return Err((Errno::Inval, String::new()));
            }
            if res.validate && insn.imm as i64 as u64 != orig {
                return Err((
                    Errno::Inval,
                    format!(
                        "{who}: unexpected insn #{idx} (ALU/ALU64) value: got {}, exp {orig} -> {new}",
                        insn.imm as u32
                    ),
                ));
            }
            insns[idx].imm = new as i32;
            log.push(format!(
                "{who}: patched insn #{idx} (ALU/ALU64) imm {} -> {new}",
                insn.imm as i64 as u64
            ));
        }
        Class::Ldx | Class::St | Class::Stx => {
            if res.validate && insn.off as i64 as u64 != orig {
                return Err((
                    Errno::Inval,
                    format!(
                        "{who}: unexpected insn #{idx} (LDX/ST/STX) value: got {}, exp {orig} -> {new}",
                        insn.off as i32 as u32
                    ),
                ));
            }
            if new > i16::MAX as u64 {
                return Err((Errno::Range, format!("{who}: insn #{idx} (LDX/ST/STX) value too big: {new}")));
            }
            if res.fail_memsz_adjust {
                log.push(format!(
                    "{who}: insn #{idx} (LDX/ST/STX) accesses field incorrectly. Make sure you are accessing \
                     pointers, unsigned integers, or fields of matching type and size."
                ));
                poison = true;
            } else {
                insns[idx].off = new as i16;
                log.push(format!(
                    "{who}: patched insn #{idx} (LDX/ST/STX) off {} -> {new}",
                    insn.off as i64 as u64
                ));
                if res.new_sz != res.orig_sz {
                    let have = insn.size().bytes();
                    if have != res.orig_sz {
                        return Err((
                            Errno::Inval,
                            format!(
                                "{who}: insn #{idx} (LDX/ST/STX) unexpected mem size: got {have}, exp {}",
                                res.orig_sz
                            ),
                        ));
                    }
                    let size = Size::from_bytes(res.new_sz).ok_or_else(|| {
                        (
                            Errno::Inval,
                            format!("{who}: insn #{idx} (LDX/ST/STX) invalid new mem size: {}", res.new_sz),
                        )
                    })?;
                    insns[idx] = insns[idx].with_size(size);
                    log.push(format!(
                        "{who}: patched insn #{idx} (LDX/ST/STX) mem_sz {} -> {}",
                        res.orig_sz, res.new_sz
                    ));
                }
            }
        }
        Class::Ld => {
            let tail = insns.get(idx + 1).copied();
            let ok = insn.is_ldimm64()
                && insn.src == 0
                && insn.off == 0
                && tail.is_some_and(|t| t.is_ldimm64_tail());
            let Some(tail) = tail.filter(|_| ok) else {
                return Err((Errno::Inval, format!("{who}: insn #{idx} (LDIMM64) has unexpected form")));
            };
            let imm = Insn::imm64(insn.imm, tail.imm);
            if res.validate && imm != orig {
                return Err((
                    Errno::Inval,
                    format!("{who}: unexpected insn #{idx} (LDIMM64) value: got {imm}, exp {orig} -> {new}"),
                ));
            }
            insns[idx].imm = new as i32;
            insns[idx + 1].imm = (new >> 32) as i32;
            log.push(format!("{who}: patched insn #{idx} (LDIMM64) imm64 {imm} -> {new}"));
        }
        _ => {
            return Err((
                Errno::Inval,
                format!(
                    "{who}: trying to relocate unrecognized insn #{idx}, code:{:#x}, src:{:#x}, dst:{:#x}, off:{:#x}, imm:{:#x}",
                    insn.code, insn.src, insn.dst, insn.off, insn.imm
                ),
            ));
        }
    }
    if poison {
        // both slots of an ld_imm64, so the verifier does not stop at "unknown opcode 00"
        if insn.is_ldimm64() {
            if idx + 1 >= insns.len() {
                return Err((Errno::Inval, format!("{who}: insn #{idx} (LDIMM64) is the last slot")));
            }
            log.push(format!("{who}: substituting insn #{} w/ invalid insn", idx + 1));
            insns[idx + 1] = poison_slot();
        }
        log.push(format!("{who}: substituting insn #{idx} w/ invalid insn"));
        insns[idx] = poison_slot();
    }
    Ok(Patched { poisoned: poison, log })
}
