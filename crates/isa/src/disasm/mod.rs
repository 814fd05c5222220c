//! Instruction text in the two syntaxes people paste around: the kernel verifier's
//! (`print_bpf_insn`, `kernel/bpf/disasm.c`) and LLVM 19's (`llvm-objdump`, `llvm-mc`).
//!
//! Both printers work from the decoded [`Insn`], so they cannot disagree about what an instruction
//! is, only about how to spell it. Everything printed here is accepted back by [`crate::asm`].
//!
//! Where a syntax has no spelling for an instruction, kbpf prints an extension that the assembler
//! understands (documented on [`Syntax`]); everywhere else the text is the tool's own, byte for
//! byte.

mod kernel;
mod llvm;
mod slot;

use crate::insn::{Insn, RawInsn};
use crate::opcode::LdImm64Src;
use crate::program::Program;
use crate::view::{Decoded, SlotTable};

/// Which disassembly syntax to print.
///
/// kbpf extensions, printed where the syntax itself has no form (both syntaxes):
/// * pseudo `ld_imm64` sources: `r1 = map_fd(5)`, `r1 = map_value(5, 16)`, `r1 = btf_id(7)`,
///   `r1 = func(pc+3)`, `r1 = map_idx(0)`, `r1 = map_idx_value(0, 8)` (a second number after the
///   first is the second slot's `imm` when it is not zero). The kernel prints the resolved map
///   address (or `0x0` when pointers must not leak) and bpftool `map[id:N]`; LLVM prints
///   `ld_pseudo r1, 1, 5`, which kbpf uses in LLVM syntax when the second slot's imm is zero.
/// * kfunc calls in a module BTF (`off != 0`): `call kfunc:ID:OFF`; the kernel prints only the
///   name and id. Kfunc calls in LLVM syntax print `call kfunc:ID` (LLVM writes a relocation).
/// * `callx r1` in kernel syntax (the kernel's printer has no such form).
/// * LLVM syntax: bpf-to-bpf calls print `call pc+N` (LLVM prints the bare imm, which it also
///   uses for helper calls), `LD_IND` with a non-zero imm prints `skb[r3 + 4]`, and
///   `load_acquire`/`store_release` use LLVM 20's spelling (LLVM 19 has none).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Syntax {
    /// The kernel verifier's text: `r2 = *(u64 *)(r10 -8)`, `if r1 > 0x2a goto pc+3`.
    Kernel,
    /// LLVM 19's text: `r2 = *(u64 *)(r10 - 8)`, `if r1 > 42 goto +3`, `r1 = 5 ll`.
    Llvm {
        /// Immediates and offsets in hex (`llvm-objdump`'s default since LLVM 19).
        hex: bool,
    },
}

/// Hooks the kernel's printer takes as callbacks (`cb_call`, `cb_imm`), for callers that know
/// more than the instruction stream: the verifier resolves kfunc names from BTF and prints map
/// addresses. Only [`Syntax::Kernel`] consults them.
pub trait Resolver {
    /// Name of the kfunc with this BTF id (`off` = module BTF index); `None` prints
    /// `kernel-function`, as the kernel does without a callback.
    fn kfunc_name(&self, btf_id: i32, off: i16) -> Option<String> {
        let _ = (btf_id, off);
        None
    }

    /// Right-hand side of an `ld_imm64` (the text after `rN = `); `None` keeps the default.
    fn ld_imm64(&self, insn: &Insn) -> Option<String> {
        let _ = insn;
        None
    }
}

/// The resolver that knows nothing.
struct NoResolver;

impl Resolver for NoResolver {}

/// One instruction's text without a pc or opcode prefix (`r6 = r1`).
///
/// `pc` is the instruction's slot index. Both syntaxes print branch targets relative to the next
/// slot, so the text does not depend on it; it is part of the signature so that callers that
/// annotate absolute targets need no other entry point.
pub fn format_insn(insn: &Insn, pc: usize, syntax: Syntax) -> String {
    format_insn_with(insn, pc, syntax, &NoResolver)
}

/// Like [`format_insn`] with the kernel's opcode prefix, as in verifier logs: `(bf) r6 = r1`.
/// In LLVM syntax there is no such prefix and this equals [`format_insn`].
pub fn format_insn_with_code(insn: &Insn, pc: usize, syntax: Syntax) -> String {
    let text = format_insn(insn, pc, syntax);
    match syntax {
        Syntax::Kernel => format!("({:02x}) {text}", insn.opcode()),
        Syntax::Llvm { .. } => text,
    }
}

/// [`format_insn`] with name and immediate hooks (kernel syntax only). A verifier-log line is
/// `format!("{pc}: ({:02x}) {}", insn.opcode(), format_insn_with(insn, pc, Syntax::Kernel, r))`.
pub fn format_insn_with(insn: &Insn, pc: usize, syntax: Syntax, resolver: &dyn Resolver) -> String {
    let _ = pc;
    match syntax {
        Syntax::Kernel => kernel::format(insn, resolver),
        Syntax::Llvm { hex } => llvm::format(insn, hex),
    }
}

/// The text the verifier log prints for one slot (with `next` for `ld_imm64`), without the pc:
/// `(b7) r0 = 42`. Slots that decode print through the kernel printer with `resolver`'s hooks;
/// slots the decoder refuses (junk in a reserved field, a register above r10) print their raw
/// fields, as the kernel's log shows them before its walk rejects them.
pub fn format_slot(raw: &RawInsn, next: Option<&RawInsn>, resolver: &dyn Resolver) -> String {
    match crate::decode::decode_insn(*raw, next.copied()) {
        Ok(insn) => format!("({:02x}) {}", raw.code, kernel::format(&insn, resolver)),
        Err(_) => slot::format(raw, next, resolver),
    }
}

/// [`format_slot`] for slot `pc` of a decoded table, without decoding it again (the verifier
/// prints a slot each time a path reaches it). Empty for a pc outside the table.
pub fn format_table_slot(table: &SlotTable<'_>, pc: usize, resolver: &dyn Resolver) -> String {
    let raw = table.raw();
    match (table.get(pc), raw.get(pc)) {
        (Some(Decoded::Insn(insn)), Some(r)) => {
            format!("({:02x}) {}", r.code, kernel::format(insn, resolver))
        }
        (_, Some(r)) => slot::format(r, raw.get(pc + 1), resolver),
        (_, None) => String::new(),
    }
}

/// A whole program, one instruction per line, each line ending in `\n`.
///
/// Kernel syntax: `pc: (code) text`, as the verifier log prints instructions. LLVM syntax:
/// `llvm-objdump --no-show-raw-insn` lines, the pc right-aligned in eight columns, a colon and a
/// tab. The second slot of an `ld_imm64` gets no line; the next pc skips it.
pub fn disassemble(prog: &Program, syntax: Syntax) -> String {
    let mut out = String::new();
    for (pc, insn) in prog.iter() {
        let line = match syntax {
            Syntax::Kernel => format!("{pc}: {}\n", format_insn_with_code(insn, pc, syntax)),
            Syntax::Llvm { .. } => format!("{pc:>8}:\t{}\n", format_insn(insn, pc, syntax)),
        };
        out.push_str(&line);
    }
    out
}

/// A program with its maps, as assembly the assembler reads back into the same module: the
/// `.map`/`.mapdata` directives, then the instructions (kernel syntax without pc prefixes, or
/// LLVM syntax), map references by name (`r1 = map_fd(counts)`, `r1 = map_value(.rodata, 8)`),
/// branch and call targets relative (`goto pc+3`).
pub fn disassemble_module(prog: &Program, maps: &[crate::maps::MapSpec], syntax: Syntax) -> String {
    let mut out: String = maps.iter().map(|m| m.directives()).collect();
    for (pc, insn) in prog.iter() {
        let named = match *insn {
            Insn::LdImm64 { dst, src, imm, imm_hi }
                if matches!(src, LdImm64Src::MapFd | LdImm64Src::MapValue) =>
            {
                maps.get(imm as usize).map(|m| match src {
                    LdImm64Src::MapFd => format!("{dst} = map_fd({})", m.name),
                    _ => format!("{dst} = map_value({}, {imm_hi})", m.name),
                })
            }
            _ => None,
        };
        out += &named.unwrap_or_else(|| format_insn(insn, pc, syntax));
        out.push('\n');
    }
    out
}

/// The kbpf spelling of a pseudo `ld_imm64` right-hand side (see [`Syntax`]); `None` for plain
/// constants.
fn pseudo_ldimm64(src: LdImm64Src, imm: i32, imm_hi: i32) -> Option<String> {
    let name = pseudo_name(src)?;
    let first = match src {
        LdImm64Src::Func => format!("pc{imm:+}"),
        _ => imm.to_string(),
    };
    let takes_offset = matches!(src, LdImm64Src::MapValue | LdImm64Src::MapIdxValue);
    Some(if takes_offset || imm_hi != 0 {
        format!("{name}({first}, {imm_hi})")
    } else {
        format!("{name}({first})")
    })
}

/// Extension keyword of each pseudo `ld_imm64` source.
pub(crate) fn pseudo_name(src: LdImm64Src) -> Option<&'static str> {
    Some(match src {
        LdImm64Src::Imm => return None,
        LdImm64Src::MapFd => "map_fd",
        LdImm64Src::MapValue => "map_value",
        LdImm64Src::BtfId => "btf_id",
        LdImm64Src::Func => "func",
        LdImm64Src::MapIdx => "map_idx",
        LdImm64Src::MapIdxValue => "map_idx_value",
    })
}

/// Register name with the width prefix (`r3` or `w3`).
fn reg_name(wide: bool, reg: crate::Reg) -> String {
    format!("{}{}", if wide { 'r' } else { 'w' }, reg.num())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asm::assemble;

    fn one(line: &str) -> Insn {
        assemble(line).expect("assembles")[0]
    }

    #[test]
    fn llvm_numbers() {
        let hex = Syntax::Llvm { hex: true };
        let dec = Syntax::Llvm { hex: false };
        let i = one("if w3 s< -5 goto +5");
        assert_eq!(format_insn(&i, 0, hex), "if w3 s< -0x5 goto +0x5");
        assert_eq!(format_insn(&i, 0, dec), "if w3 s< -5 goto +5");
        assert_eq!(format_insn(&i, 0, Syntax::Kernel), "if w3 s< 0xfffffffb goto pc+5");
        let i = one("*(u64 *)(r10 -8) = r2");
        assert_eq!(format_insn(&i, 0, hex), "*(u64 *)(r10 - 0x8) = r2");
        assert_eq!(format_insn(&i, 0, Syntax::Kernel), "*(u64 *)(r10 -8) = r2");
        let i = one("r2 = 0x1122334455667788 ll");
        assert_eq!(format_insn(&i, 0, dec), "r2 = 1234605616436508552 ll");
        assert_eq!(format_insn(&i, 0, hex), "r2 = 0x1122334455667788 ll");
        assert_eq!(format_insn(&one("r1 = -1 ll"), 0, hex), "r1 = -0x1 ll");
        assert_eq!(format_insn(&one("r1 = -1 ll"), 0, Syntax::Kernel), "r1 = 0xffffffffffffffff");
        assert_eq!(
            format_insn(&one("lock *(u32 *)(r10 -16) |= r3"), 0, dec),
            "lock *(u32 *)(r10 - 16) |= w3"
        );
        assert_eq!(format_insn(&one("call 7"), 0, hex), "call 0x7");
        assert_eq!(format_insn(&one("call 7"), 0, Syntax::Kernel), "call bpf_get_prandom_u32#7");
        assert_eq!(format_insn(&one("call -3"), 0, Syntax::Kernel), "call unknown#-3");
    }

    struct Log;

    impl Resolver for Log {
        fn kfunc_name(&self, btf_id: i32, _off: i16) -> Option<String> {
            (btf_id == 64242).then(|| "bpf_iter_num_new".to_string())
        }

        fn ld_imm64(&self, insn: &Insn) -> Option<String> {
            matches!(insn, Insn::LdImm64 { src: LdImm64Src::MapFd, .. })
                .then(|| "0xffff8881af9d3400".to_string())
        }
    }

    #[test]
    fn resolver_hooks() {
        let k = |line: &str| format_insn_with(&one(line), 0, Syntax::Kernel, &Log);
        assert_eq!(k("call kfunc:64242"), "call bpf_iter_num_new#64242");
        assert_eq!(k("call kfunc:5"), "call kernel-function#5");
        assert_eq!(k("r1 = map_fd(3)"), "r1 = 0xffff8881af9d3400");
        assert_eq!(k("r1 = 5 ll"), "r1 = 0x5");
        // LLVM syntax does not consult the hooks.
        let l = format_insn_with(&one("call kfunc:64242"), 0, Syntax::Llvm { hex: false }, &Log);
        assert_eq!(l, "call kfunc:64242");
    }

    #[test]
    fn listing_formats() {
        let prog = crate::asm::assemble_program("r1 = 1 ll\nexit").expect("assembles");
        assert_eq!(disassemble(&prog, Syntax::Kernel), "0: (18) r1 = 0x1\n2: (95) exit\n");
        assert_eq!(
            disassemble(&prog, Syntax::Llvm { hex: true }),
            "       0:\tr1 = 0x1 ll\n       2:\texit\n"
        );
    }
}
