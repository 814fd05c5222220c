//! Kernel-syntax text of a raw slot the decoder refuses: the verifier log prints every slot its
//! walk reaches before checking registers and reserved fields (`print_bpf_insn` reads the
//! fields as they are), so a slot with junk in a reserved field or a register above r10 still
//! gets its line. The fields are read through the kernel view of [`RawInsn`].

use super::Resolver;
use super::kernel::{fetch_name, lock_operator};
use crate::helper_names::helper_name;
use crate::insn::RawInsn;
use crate::opcode::{AluOp, AtomicOp, Class, Mode, Size};
use crate::view::{AluCode, JmpOp};

/// `(code) text` of a refused slot; the kernel's `BUG_..` markers (without the code prefix)
/// for encodings its printer has no text for.
pub(super) fn format(raw: &RawInsn, next: Option<&RawInsn>, resolver: &dyn Resolver) -> String {
    let c = raw.code;
    let body = match raw.class() {
        Class::Alu | Class::Alu64 => alu(raw),
        Class::Stx => match raw.mode() {
            Some(Mode::Mem) => {
                Some(format!("*{}{} = r{}", cast(raw.size(), false), mem(raw.dst, raw.off), raw.src))
            }
            Some(Mode::Atomic) => atomic(raw),
            _ => None,
        },
        Class::St => match raw.mode() {
            Some(Mode::Mem) => {
                Some(format!("*{}{} = {}", cast(raw.size(), false), mem(raw.dst, raw.off), raw.imm))
            }
            _ => return format!("BUG_st_{c:02x}"),
        },
        Class::Ldx => match raw.mode() {
            Some(m @ (Mode::Mem | Mode::MemSx)) => Some(format!(
                "r{} = *{}{}",
                raw.dst,
                cast(raw.size(), m == Mode::MemSx),
                mem(raw.src, raw.off)
            )),
            _ => return format!("BUG_ldx_{c:02x}"),
        },
        Class::Ld => match raw.mode() {
            Some(Mode::Abs) => Some(format!("r0 = *{}skb[{}]", cast(raw.size(), false), raw.imm)),
            Some(Mode::Ind) => {
                Some(format!("r0 = *{}skb[r{} + {}]", cast(raw.size(), false), raw.src, raw.imm))
            }
            Some(Mode::Imm) if raw.size() == Size::DW => {
                let hi = next.map_or(0, |n| n.imm);
                Some(format!("r{} = {:#x}", raw.dst, crate::Insn::imm64(raw.imm, hi)))
            }
            _ => return format!("BUG_ld_{c:02x}"),
        },
        Class::Jmp | Class::Jmp32 => jmp(raw, resolver),
    };
    match body {
        Some(b) => format!("({c:02x}) {b}"),
        None => format!("BUG_{c:02x}"),
    }
}

/// The `off` of a 64-bit register move that the kernel prints as a per-CPU address
/// (`BPF_ADDR_PERCPU`).
const ADDR_PERCPU: i16 = -1;

fn reg(wide: bool, n: u8) -> String {
    format!("{}{n}", if wide { 'r' } else { 'w' })
}

fn mem(base: u8, off: i16) -> String {
    format!("(r{base} {off:+})")
}

fn cast(size: Size, signed: bool) -> String {
    format!("({} *)", if signed { size.c_signed() } else { size.c_unsigned() })
}

fn alu(raw: &RawInsn) -> Option<String> {
    let wide = raw.class() == Class::Alu64;
    let (d, s) = (reg(wide, raw.dst), reg(wide, raw.src));
    let x = raw.is_reg_src();
    Some(match raw.alu_code()? {
        AluCode::End if wide => format!("r{0} = bswap{1} r{0}", raw.dst, raw.imm),
        AluCode::End => format!("r{0} = {1}{2} r{0}", raw.dst, if x { "be" } else { "le" }, raw.imm),
        AluCode::Neg => format!("{d} = -{d}"),
        AluCode::Bin(AluOp::Mov) if x && wide && raw.off == 1 => {
            format!(
                "r{} = addr_space_cast(r{}, {}, {})",
                raw.dst,
                raw.src,
                raw.imm as u32 >> 16,
                raw.imm as u16
            )
        }
        // `BPF_ADDR_PERCPU`: the kernel's own rewrite of a per-CPU address, printed as such
        AluCode::Bin(AluOp::Mov) if x && wide && raw.off == ADDR_PERCPU => {
            format!("r{} = &(void __percpu *)(r{})", raw.dst, raw.src)
        }
        // `is_movsx`: only the three sign-extension widths print as such; any other value in
        // the offset is a reserved field the plain move's text ignores
        AluCode::Bin(AluOp::Mov) if x && matches!(raw.off, 8 | 16 | 32) => format!("{d} = (s{}){s}", raw.off),
        code => {
            let op = match code {
                AluCode::Bin(op) => op.operator(),
                _ => "",
            };
            if x { format!("{d} {op} {s}") } else { format!("{d} {op} {}", raw.imm) }
        }
    })
}

fn atomic(raw: &RawInsn) -> Option<String> {
    let op = raw.atomic_op()?;
    let ty = cast(raw.size(), false);
    let m = mem(raw.dst, raw.off);
    let (d, s) = (raw.dst, raw.src);
    let w64 = if raw.size() == Size::DW { "64" } else { "" };
    Some(match op {
        AtomicOp::Add | AtomicOp::Or | AtomicOp::And | AtomicOp::Xor => {
            format!("lock *{ty}{m} {} r{s}", lock_operator(op)?)
        }
        AtomicOp::FetchAdd | AtomicOp::FetchOr | AtomicOp::FetchAnd | AtomicOp::FetchXor => {
            format!("r{s} = atomic{w64}_fetch_{}({ty}{m}, r{s})", fetch_name(op)?)
        }
        AtomicOp::Xchg => format!("r{s} = atomic{w64}_xchg({ty}{m}, r{s})"),
        AtomicOp::Cmpxchg => format!("r0 = atomic{w64}_cmpxchg({ty}{m}, r0, r{s})"),
        AtomicOp::LoadAcquire => format!("r{d} = load_acquire({ty}{})", mem(s, raw.off)),
        AtomicOp::StoreRelease => format!("store_release({ty}{m}, r{s})"),
    })
}

fn jmp(raw: &RawInsn, resolver: &dyn Resolver) -> Option<String> {
    let wide = raw.class() == Class::Jmp;
    Some(match raw.jmp_op()? {
        JmpOp::Call => match raw.src {
            1 => format!("call pc{:+}", raw.imm),
            2 => match resolver.kfunc_name(raw.imm, raw.off) {
                Some(name) => format!("call {name}#{}", raw.imm),
                None => format!("call kernel-function#{}", raw.imm),
            },
            _ => format!("call {}#{}", helper_name(raw.imm).unwrap_or("unknown"), raw.imm),
        },
        JmpOp::Exit => "exit".to_string(),
        JmpOp::Ja if !wide => format!("gotol pc{:+}", raw.imm),
        JmpOp::Ja => format!("goto pc{:+}", raw.off),
        JmpOp::Jcond => format!("may_goto pc{:+}", raw.off),
        JmpOp::Cond(cond) => {
            let rhs = if raw.is_reg_src() { reg(wide, raw.src) } else { format!("{:#x}", raw.imm as u32) };
            format!("if {} {} {rhs} goto pc{:+}", reg(wide, raw.dst), cond.operator(), raw.off)
        }
        JmpOp::Unknown => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::super::{NoResolver, format_slot};
    use crate::insn::RawInsn;

    fn t(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> String {
        format_slot(&RawInsn::new(code, dst, src, off, imm), None, &NoResolver)
    }

    #[test]
    fn kernel_examples() {
        assert_eq!(t(0xb7, 0, 0, 0, 42), "(b7) r0 = 42");
        assert_eq!(t(0x07, 2, 0, 0, -8), "(07) r2 += -8");
        assert_eq!(t(0x14, 2, 0, 0, 3), "(14) w2 -= 3");
        assert_eq!(t(0x3f, 2, 3, 1, 0), "(3f) r2 s/= r3");
        assert_eq!(t(0xbf, 4, 2, 8, 0), "(bf) r4 = (s8)r2");
        assert_eq!(t(0x87, 2, 0, 0, 0), "(87) r2 = -r2");
        assert_eq!(t(0xdc, 2, 0, 0, 16), "(dc) r2 = be16 r2");
        assert_eq!(t(0xd7, 2, 0, 0, 64), "(d7) r2 = bswap64 r2");
        assert_eq!(t(0x79, 5, 10, -8, 0), "(79) r5 = *(u64 *)(r10 -8)");
        assert_eq!(t(0x61, 1, 0, 0, 0), "(61) r1 = *(u32 *)(r0 +0)");
        assert_eq!(t(0x91, 5, 10, -8, 0), "(91) r5 = *(s8 *)(r10 -8)");
        assert_eq!(t(0x7b, 10, 2, -8, 0), "(7b) *(u64 *)(r10 -8) = r2");
        assert_eq!(t(0x62, 10, 0, -16, 0), "(62) *(u32 *)(r10 -16) = 0");
        assert_eq!(t(0xdb, 10, 2, -8, 0), "(db) lock *(u64 *)(r10 -8) += r2");
        assert_eq!(t(0xdb, 10, 2, -8, 1), "(db) r2 = atomic64_fetch_add((u64 *)(r10 -8), r2)");
        assert_eq!(t(0xc3, 10, 2, -16, 0x51), "(c3) r2 = atomic_fetch_and((u32 *)(r10 -16), r2)");
        assert_eq!(t(0xdb, 10, 2, -8, 0xf1), "(db) r0 = atomic64_cmpxchg((u64 *)(r10 -8), r0, r2)");
        assert_eq!(t(0x25, 2, 0, 0, 42), "(25) if r2 > 0x2a goto pc+0");
        assert_eq!(t(0x65, 2, 0, 0, -5), "(65) if r2 s> 0xfffffffb goto pc+0");
        assert_eq!(t(0xce, 2, 3, 0, 0), "(ce) if w2 s< w3 goto pc+0");
        assert_eq!(t(0x05, 0, 0, -3, 0), "(05) goto pc-3");
        assert_eq!(t(0x06, 0, 0, 0, 0), "(06) gotol pc+0");
        assert_eq!(t(0xe5, 0, 0, 2, 0), "(e5) may_goto pc+2");
        assert_eq!(t(0x85, 0, 0, 0, 1), "(85) call bpf_map_lookup_elem#1");
        assert_eq!(t(0x85, 0, 0, 0, 10000), "(85) call unknown#10000");
        assert_eq!(t(0x85, 0, 1, 0, 1), "(85) call pc+1");
        assert_eq!(t(0x95, 0, 0, 0, 0), "(95) exit");
        assert_eq!(t(0x30, 0, 0, 0, 12), "(30) r0 = *(u8 *)skb[12]");
        assert_eq!(t(0x48, 0, 7, 0, 0), "(48) r0 = *(u16 *)skb[r7 + 0]");
        let hi = RawInsn::new(0, 0, 0, 0, 0x11223344);
        let ld = RawInsn::new(0x18, 1, 0, 0, 0x55667788);
        assert_eq!(format_slot(&ld, Some(&hi), &NoResolver), "(18) r1 = 0x1122334455667788");
    }

    #[test]
    fn refused_slots_print_their_fields() {
        // junk in reserved fields and registers above r10 print as the kernel's log shows them
        assert_eq!(t(0xb7, 0, 3, 0, 42), "(b7) r0 = 42");
        assert_eq!(t(0xbf, 12, 1, 0, 0), "(bf) r12 = r1");
        assert_eq!(t(0x95, 1, 0, 0, 0), "(95) exit");
        assert_eq!(t(0x05, 0, 0, 2, 7), "(05) goto pc+2");
        assert_eq!(t(0x85, 0, 1, 3, 1), "(85) call pc+1");
        assert_eq!(t(0x61, 1, 13, 0, 0), "(61) r1 = *(u32 *)(r13 +0)");
        assert_eq!(t(0xdb, 10, 2, -8, 0x33), "BUG_db");
        assert_eq!(t(0x9f, 1, 2, 1, 5), "(9f) r1 s%= r2");
        assert_eq!(t(0xbf, 0, 2, -1, 0), "(bf) r0 = &(void __percpu *)(r2)");
        // only offsets 8, 16 and 32 are sign extensions (`is_movsx`); the running kernel prints
        // `r0 = r2` for a move with 0x7fff in its offset
        assert_eq!(t(0xbc, 0, 2, -1, 0), "(bc) w0 = w2");
        assert_eq!(t(0xbf, 0, 2, 0x7fff, 0), "(bf) r0 = r2");
        assert_eq!(t(0xbf, 0, 2, 16, 0), "(bf) r0 = (s16)r2");
    }
}
