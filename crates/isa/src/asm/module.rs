//! Whole-module assembly: instructions plus `.func` declarations, with `call NAME` resolved
//! against a kfunc registry (stack-args.md §7b).
//!
//! `.func NAME, NARGS[, global]` declares that the label `NAME` starts a function of `NARGS`
//! `u64` parameters, as BTF `FUNC`/`FUNC_PROTO` would; it may stand anywhere in the file. The
//! entry function is declared implicitly (no parameters count beyond the context).
//!
//! `.mem HEX...` declares the input a plain run hands the program (r1 points to it, r2 holds its
//! length), in the form of the CLI's `--mem`: hex bytes, white space allowed between them.

use super::{AsmError, Lines, assemble_lines_with, lexer, map_names, maps, program_of, slots_of, strip_line};
use crate::func::FuncDecl;
use crate::insn::RawInsn;
use crate::maps::MapSpec;
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
    /// Maps (`.map`), indexed by the `imm` of map references.
    pub maps: Vec<MapSpec>,
    /// Name of the main program (`.prog NAME` before its first instruction; empty if none).
    pub name: String,
    /// Further programs (`.prog NAME` sections after the main program): tail-call targets,
    /// program id = position + 1 (the main program is id 0).
    pub progs: Vec<AsmProgram>,
    /// The run input the source declares (`.mem`), if any.
    pub input: Option<Vec<u8>>,
}

/// One more program of a module (a `.prog NAME` section).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AsmProgram {
    /// Its name.
    pub name: String,
    /// Its instructions.
    pub program: Program,
    /// Its declared functions.
    pub funcs: Vec<FuncDecl>,
}

/// An assembled module whose main program is kept as slots, which need not decode (see
/// [`assemble_module_slots`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AssembledSlots {
    /// The main program's slots as written.
    pub slots: Vec<RawInsn>,
    /// Source line of each slot.
    pub lines: Vec<usize>,
    /// The main program's declared functions in slot order.
    pub funcs: Vec<FuncDecl>,
    /// Maps (`.map`), indexed by the `imm` of map references.
    pub maps: Vec<MapSpec>,
    /// Name of the main program.
    pub name: String,
    /// Further programs (decoded: they are tail-call targets the engines run).
    pub progs: Vec<AsmProgram>,
    /// The run input the source declares (`.mem`), if any.
    pub input: Option<Vec<u8>>,
}

impl AssembledSlots {
    /// Decodes the main program, with decode and branch-target errors on their source lines.
    pub fn program(&self) -> Result<Program, AsmError> {
        program_of(&self.slots, &self.lines)
    }
}

/// Assembles a module: instructions, `.func` declarations, kfunc names through `kfuncs`, maps
/// (`.map`, `.mapdata`) and programs (`.prog NAME` starts one; lines before the first `.prog`
/// that hold instructions form the main program).
pub fn assemble_module(src: &str, kfuncs: &dyn KfuncResolver) -> Result<Assembled, AsmError> {
    let m = assemble(src, kfuncs, false)?;
    Ok(Assembled {
        program: m.program()?,
        funcs: m.funcs,
        maps: m.maps,
        name: m.name,
        progs: m.progs,
        input: m.input,
    })
}

/// Like [`assemble_module`], but keeps the main program's instructions that encode yet do not
/// decode (r11 outside its stack-argument forms) and `.insn` slots, so the verifier can judge
/// malformed programs.
pub fn assemble_module_slots(src: &str, kfuncs: &dyn KfuncResolver) -> Result<AssembledSlots, AsmError> {
    assemble(src, kfuncs, true)
}

fn assemble(src: &str, kfuncs: &dyn KfuncResolver, lenient: bool) -> Result<AssembledSlots, AsmError> {
    let names = map_names(src);
    let mut map_specs: Vec<MapSpec> = Vec::new();
    let mut input = None;
    // Map directives first (in source order), so that `.mapdata` may follow its `.map` anywhere.
    for (i, raw) in src.lines().enumerate() {
        let err = |message: String| AsmError { line: i + 1, message };
        let text = strip_line(raw).trim();
        if let Some(rest) = text.strip_prefix(".mapdata") {
            maps::apply_mapdata(rest, &mut map_specs).map_err(err)?;
        } else if maps::map_name(text).is_some() {
            let spec = maps::parse_map(&text[".map".len()..]).map_err(err)?;
            if map_specs.iter().any(|m| m.name == spec.name) {
                return Err(err(format!("map `{}` declared twice", spec.name)));
            }
            map_specs.push(spec);
        } else if let Some(rest) = text.strip_prefix(".mem").filter(|_| super::is_mem_directive(text)) {
            if input.is_some() {
                return Err(err("`.mem` given twice".into()));
            }
            input = Some(parse_mem(rest).map_err(err)?);
        } else if text.starts_with(".map ") || text == ".map" {
            return Err(err(
                "expected `.map NAME, TYPE, KEY_SIZE, VALUE_SIZE, MAX_ENTRIES[, FLAG...]`".into()
            ));
        }
    }
    for m in &mut map_specs {
        // Zeros past the given data are implied; keep the canonical (shortest) form.
        let end = m.data.iter().rposition(|&b| b != 0).map_or(0, |p| p + 1);
        m.data.truncate(end);
    }
    // Program sections: each is assembled on its own, other sections' lines blanked so that
    // line numbers stay those of the file.
    let lines: Vec<&str> = src.lines().collect();
    let mut starts: Vec<(usize, String)> = Vec::new();
    for (i, raw) in lines.iter().enumerate() {
        let t = strip_comment_prog(raw);
        if let Some(rest) = t.strip_prefix(".prog") {
            let name = rest.trim();
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(AsmError { line: i + 1, message: "expected `.prog NAME`".into() });
            }
            starts.push((i, name.to_string()));
        }
    }
    let mut sections: Vec<(String, std::ops::Range<usize>)> = Vec::new();
    let first = starts.first().map_or(lines.len(), |s| s.0);
    let main_has_code = lines[..first].iter().any(|l| is_code(l));
    if main_has_code || starts.is_empty() {
        sections.push((String::new(), 0..first));
    }
    for (k, (at, name)) in starts.iter().enumerate() {
        let end = starts.get(k + 1).map_or(lines.len(), |s| s.0);
        if sections.iter().any(|(n, _)| n == name) {
            return Err(AsmError { line: at + 1, message: format!("program `{name}` defined twice") });
        }
        sections.push((name.clone(), *at..end));
    }
    let mut built = Vec::new();
    for (k, (name, range)) in sections.into_iter().enumerate() {
        let text: String = lines
            .iter()
            .enumerate()
            .map(|(i, l)| if range.contains(&i) && !is_prog_line(l) { *l } else { "" })
            .collect::<Vec<_>>()
            .join("\n");
        // only the main program may be malformed (for the verifier); tail-call targets run
        built.push((name, assemble_one(&text, kfuncs, &names, lenient && k == 0)?));
    }
    for m in &map_specs {
        for (_, p) in &m.progs {
            if !built.iter().any(|b| &b.0 == p) {
                let line =
                    src.lines().position(|l| l.contains(".mapdata") && l.contains(p.as_str())).unwrap_or(0);
                return Err(AsmError {
                    line: line + 1,
                    message: format!("no program `{p}` (declare it with `.prog`)"),
                });
            }
        }
    }
    let mut it = built.into_iter();
    let (name, main) = it.next().ok_or_else(|| AsmError { line: 1, message: "no program".into() })?;
    let progs = it
        .map(|(name, s)| Ok(AsmProgram { name, program: program_of(&s.slots, &s.lines)?, funcs: s.funcs }))
        .collect::<Result<Vec<_>, AsmError>>()?;
    Ok(AssembledSlots {
        slots: main.slots,
        lines: main.lines,
        funcs: main.funcs,
        maps: map_specs,
        name,
        progs,
        input,
    })
}

/// The bytes of a `.mem` directive: hex digit pairs, white space allowed between bytes.
fn parse_mem(text: &str) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    for word in text.split_whitespace() {
        let digits = word.strip_prefix("0x").unwrap_or(word);
        if digits.is_empty() || digits.len() % 2 != 0 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("`.mem`: `{word}` is not hex bytes"));
        }
        for pair in digits.as_bytes().chunks(2) {
            let hex = std::str::from_utf8(pair).map_err(|e| e.to_string())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|e| e.to_string())?);
        }
    }
    Ok(out)
}

fn strip_comment_prog(raw: &str) -> &str {
    super::strip_comment(raw).trim()
}

fn is_prog_line(raw: &str) -> bool {
    strip_comment_prog(raw).starts_with(".prog")
}

/// Whether a line holds an instruction or a label (not only a directive or a comment).
fn is_code(raw: &str) -> bool {
    let t = strip_line(raw).trim();
    !t.is_empty() && !t.starts_with('.')
}

/// One assembled program section: slots, the source line of each, declared functions.
struct Section {
    slots: Vec<RawInsn>,
    lines: Vec<usize>,
    funcs: Vec<FuncDecl>,
}

/// One program section: instructions and `.func` declarations.
fn assemble_one(
    src: &str,
    kfuncs: &dyn KfuncResolver,
    maps: &[&str],
    lenient: bool,
) -> Result<Section, AsmError> {
    let Lines { insns, labels, directives } = assemble_lines_with(src, kfuncs, maps, lenient)?;
    let mut funcs = Vec::new();
    for (line, text) in directives {
        let err = |message: String| AsmError { line, message };
        if text.starts_with(".map") || super::is_mem_directive(text) {
            continue;
        }
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
        funcs.push(FuncDecl {
            pc,
            name: name.to_string(),
            nargs,
            global,
            ret_scalar: true,
            exception_cb: false,
            params: Vec::new(),
        });
    }
    funcs.sort_by_key(|f| f.pc);
    let (slots, lines) = slots_of(insns);
    Ok(Section { slots, lines, funcs })
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
    fn mem_directive() {
        let m = assemble_module(".mem 6a 0200 0x00 # input\nr0 = 0\nexit\n", &NoKfuncs).unwrap();
        assert_eq!(m.input, Some(vec![0x6a, 0x02, 0x00, 0x00]));
        assert_eq!(assemble_module("r0 = 0\nexit\n", &NoKfuncs).unwrap().input, None);
        let e = assemble_module(".mem 6\nexit\n", &NoKfuncs).unwrap_err();
        assert_eq!((e.line, e.message.as_str()), (1, "`.mem`: `6` is not hex bytes"));
        let e = assemble_module(".mem 00\n.mem 01\nexit\n", &NoKfuncs).unwrap_err();
        assert_eq!(e.line, 2);
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
