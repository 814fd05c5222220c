//! Whole-module assembly: instructions plus `.func` declarations, with `call NAME` resolved
//! against a kfunc registry (stack-args.md §7b).
//!
//! `.func NAME, NARGS[, global]` declares that the label `NAME` starts a function of `NARGS`
//! `u64` parameters, as BTF `FUNC`/`FUNC_PROTO` would; it may stand anywhere in the file. The
//! entry function is declared implicitly (no parameters count beyond the context).

use super::{AsmError, Lines, assemble_lines, lexer, program_of, slots_of};
use crate::func::FuncDecl;
use crate::insn::RawInsn;
use crate::program::Program;

/// Names kfuncs for `call NAME` (the ISA knows helpers itself, but not the registry).
pub trait KfuncResolver {
    /// BTF id of the kfunc called `name`.
    fn kfunc_id(&self, name: &str) -> Option<i32>;
}

/// A resolver that knows no kfunc.
pub struct NoKfuncs;

impl KfuncResolver for NoKfuncs {
    fn kfunc_id(&self, _name: &str) -> Option<i32> {
        None
    }
}

impl<F: Fn(&str) -> Option<i32>> KfuncResolver for F {
    fn kfunc_id(&self, name: &str) -> Option<i32> {
        self(name)
    }
}

/// An assembled module.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Assembled {
    /// The instructions, branch targets checked.
    pub program: Program,
    /// Declared functions in slot order.
    pub funcs: Vec<FuncDecl>,
}

/// An assembled module as slots, which need not decode (see [`assemble_module_slots`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssembledSlots {
    /// The slots as written.
    pub slots: Vec<RawInsn>,
    /// Source line of each slot.
    pub lines: Vec<usize>,
    /// Declared functions in slot order.
    pub funcs: Vec<FuncDecl>,
}

impl AssembledSlots {
    /// Decodes the slots, with decode and branch-target errors on their source lines.
    pub fn program(&self) -> Result<Program, AsmError> {
        program_of(&self.slots, &self.lines)
    }
}

/// Assembles a module: instructions, `.func` declarations, kfunc names through `kfuncs`.
pub fn assemble_module(src: &str, kfuncs: &dyn KfuncResolver) -> Result<Assembled, AsmError> {
    let m = assemble(src, kfuncs, false)?;
    Ok(Assembled { program: m.program()?, funcs: m.funcs })
}

/// Like [`assemble_module`], but keeps instructions that encode yet do not decode (r11 outside
/// its stack-argument forms) and `.insn` slots, so the verifier can judge malformed programs.
pub fn assemble_module_slots(src: &str, kfuncs: &dyn KfuncResolver) -> Result<AssembledSlots, AsmError> {
    assemble(src, kfuncs, true)
}

fn assemble(src: &str, kfuncs: &dyn KfuncResolver, lenient: bool) -> Result<AssembledSlots, AsmError> {
    let Lines { insns, labels, directives } = assemble_lines(src, kfuncs, lenient)?;
    let mut funcs = Vec::new();
    for (line, text) in directives {
        let err = |message: String| AsmError { line, message };
        let toks = lexer::lex(text).map_err(err)?;
        use lexer::Tok::{Ident, Num, Sym};
        let (name, nargs, global) = match toks.as_slice() {
            [Ident(".func"), Ident(name), Sym(","), Num(n)] => (*name, *n, false),
            [Ident(".func"), Ident(name), Sym(","), Num(n), Sym(","), Ident("global")] => (*name, *n, true),
            [Ident(".func"), Ident(name), Sym(","), Num(n), Sym(","), Ident("static")] => (*name, *n, false),
            [Ident(".func"), ..] => return Err(err("expected `.func NAME, NARGS[, global]`".into())),
            // Other directives (`.text`, `.globl`, `.section`) carry nothing kbpf needs.
            _ => continue,
        };
        let pc = *labels.get(name).ok_or_else(|| err(format!(".func names `{name}`, which is no label")))?;
        let nargs = u32::try_from(nargs).map_err(|_| err(format!("{nargs} parameters")))?;
        if funcs.iter().any(|f: &FuncDecl| f.pc == pc) {
            return Err(err(format!("function at `{name}` declared twice")));
        }
        funcs.push(FuncDecl { pc, name: name.to_string(), nargs, global });
    }
    funcs.sort_by_key(|f| f.pc);
    let (slots, lines) = slots_of(insns);
    Ok(AssembledSlots { slots, lines, funcs })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::insn::{CallTarget, Insn};

    #[test]
    fn func_directives_and_kfunc_names() {
        let src = "
            r1 = 1
            *(u64 *)(r11 -8) = 6
            call sub6
            call my_kfunc
            call bpf_get_prandom_u32
            exit
        .func sub6, 6
        sub6:
            r0 = *(u64 *)(r11 +8)
            exit
        .func g, 2, global
        g:  r0 = 0
            exit
        ";
        let kf = |n: &str| (n == "my_kfunc").then_some(77);
        let m = assemble_module(src, &kf).unwrap();
        let decl: Vec<(usize, &str, u32, bool)> =
            m.funcs.iter().map(|f| (f.pc, f.name.as_str(), f.nargs, f.global)).collect();
        assert_eq!(decl, [(6, "sub6", 6, false), (8, "g", 2, true)]);
        assert_eq!(m.program.at(2), Some(&Insn::Call(CallTarget::Local(3))));
        assert_eq!(m.program.at(3), Some(&Insn::Call(CallTarget::Kfunc { btf_id: 77, off: 0 })));
        assert_eq!(m.program.at(4), Some(&Insn::Call(CallTarget::Helper(7))));
    }

    #[test]
    fn bad_directives() {
        let e = assemble_module(".func nowhere, 3\nexit\n", &NoKfuncs).unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (1, ".func names `nowhere`, which is no label"));
        let e = assemble_module(".func f\nf: exit\n", &NoKfuncs).unwrap_err();
        assert_eq!(e.line, 1);
    }

    #[test]
    fn malformed_programs_assemble_only_as_slots() {
        let src = "r0 = r11\n.insn 0xb7, r12, 0, -1, 0xffffffff\nexit\n";
        let e = assemble_module(src, &NoKfuncs).unwrap_err();
        assert_eq!(e.line, 1);
        let m = assemble_module_slots(src, &NoKfuncs).unwrap();
        assert_eq!(m.slots.len(), 3);
        assert_eq!((m.slots[0].code, m.slots[0].dst, m.slots[0].src), (0xbf, 0, 11));
        let raw = m.slots[1];
        assert_eq!((raw.code, raw.dst, raw.src, raw.off, raw.imm), (0xb7, 12, 0, -1, -1));
        assert_eq!(m.lines, [1, 2, 3]);
        assert_eq!(m.program().unwrap_err().line, 1);
        // A decodable `.insn` is an ordinary instruction, labels count it as one slot.
        let m = assemble_module(".insn 0xb7, 0, 0, 0, 7\ngoto l\nl: exit\n", &NoKfuncs).unwrap();
        assert_eq!(
            m.program.to_slots()[0],
            crate::asm::assemble_module("r0 = 7", &NoKfuncs).unwrap().program.to_slots()[0]
        );
        assert_eq!(m.program.len_slots(), 3);
    }

    #[test]
    fn bad_raw_insns() {
        let bad = [
            ".insn 0x1b7, 0, 0, 0, 0",
            ".insn 0xb7, 16, 0, 0, 0",
            ".insn 0xb7, 0, 0, 0",
            ".insn 0xb7, 0, 0, 70000, 0",
        ];
        for bad in bad {
            let e = assemble_module_slots(bad, &NoKfuncs).unwrap_err();
            assert_eq!(e.line, 1, "{bad}");
        }
    }
}
