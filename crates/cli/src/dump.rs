//! `kbpf dump xlated|jited`: a verified program after the kernel's fixups, in `bpftool prog
//! dump xlated|jited`'s formats (`; source` lines from line info, `--opcodes`, `--linum`,
//! `--json` with bpftool's keys).
//!
//! Where bpftool prints kernel addresses kbpf has none: a helper call prints the kernel
//! function it calls followed by `#` and the helper id (bpftool: the call's offset from
//! `__bpf_call_base`), a map reference `map[id:N]` with N the map's index in the object.

use std::fmt::Write;
use std::process::ExitCode;

use clap::{Args, Subcommand};
use kbpf::isa::disasm::{self, Resolver, Syntax};
use kbpf::isa::{Insn, LdImm64Src};
use kbpf::verifier::fixups::{CtxTarget, Xlated, xlate};
use kbpf::verifier::{LineInfo, VerifyOptions};

use crate::ArchArg;
use crate::input::Input;
use crate::listing::json_str;

#[derive(Args)]
pub struct DumpArgs {
    #[command(subcommand)]
    what: What,
}

#[derive(Subcommand)]
enum What {
    /// The program after verification and the kernel's fixups (`bpftool prog dump xlated`).
    Xlated {
        #[command(flatten)]
        common: Common,
    },
    /// The native code the JIT makes of exactly that program (`bpftool prog dump jited`).
    Jited {
        #[command(flatten)]
        common: Common,
        /// Target architecture.
        #[arg(long, value_enum, default_value = "x86_64")]
        arch: ArchArg,
    },
}

#[derive(Args)]
struct Common {
    #[command(flatten)]
    input: Input,
    /// Program type (default: the ELF section's, else socket_filter).
    #[arg(long)]
    prog_type: Option<String>,
    /// Print the instruction bytes.
    #[arg(long)]
    opcodes: bool,
    /// Source lines with `[file:F line_num:N line_col:C]`.
    #[arg(long)]
    linum: bool,
    /// bpftool's JSON (`-j`).
    #[arg(long)]
    json: bool,
}

/// Runs `kbpf dump`. Exit 0 printed, 1 rejected by the verifier, 2 bad input, 3 a rewrite kbpf
/// cannot make yet.
pub fn run(args: DumpArgs) -> ExitCode {
    let (common, arch) = match args.what {
        What::Xlated { common } => (common, None),
        What::Jited { common, arch } => (common, Some(arch)),
    };
    let registry = kbpf::kfunc::profiles::testmod();
    let module = match common.input.read_as(&registry, common.prog_type.as_deref()) {
        Ok(m) => m,
        Err(e) => return crate::fail(e),
    };
    let prog_type = match (&common.prog_type, module.section.as_deref()) {
        (Some(n), _) => kbpf::prog_type_by_name(n, 64).map_err(|e| e.to_string()),
        (None, Some(s)) if module.elf.is_some() => kbpf::prog_type_for_section(s).map_err(|e| e.to_string()),
        (None, _) => Ok(kbpf::verifier::ProgType::SocketFilter),
    };
    let prog_type = match prog_type {
        Ok(p) => p,
        Err(e) => return crate::fail(e),
    };
    // what the kernel runs: a privileged load for its JIT, Linux 6.18 without stack arguments
    let opts = VerifyOptions {
        prog_type,
        kfuncs: kbpf::kfunc_table(&registry),
        stack_args: false,
        ..VerifyOptions::default()
    };
    let out = kbpf::verify_module(&module, opts);
    let Some(w) = out.witness else {
        let msg = out.error.map_or_else(|| "no witness".into(), |e| e.message().to_string());
        eprintln!("kbpf: the verifier rejects the program, so there is nothing to dump: {msg}");
        return ExitCode::from(1);
    };
    // the running kernel's structures (or `--btf`'s), for the map lookups it inlines
    let layout = match &common.input.btf {
        Some(p) => kbpf::elf::btf::TargetBtf::load(p).ok(),
        None => kbpf::elf::btf::TargetBtf::running_kernel().ok(),
    }
    .map(|t| kbpf::kernel_layout(&t.vmlinux))
    .unwrap_or_default();
    let x = match xlate(&w, CtxTarget::Kernel, &layout) {
        Ok(x) => x,
        Err(e) => {
            eprintln!("kbpf: {e}");
            return ExitCode::from(3);
        }
    };
    let text = match arch {
        None if common.json => xlated_json(&x, &module, &common),
        None => xlated_text(&x, &module, &common),
        Some(arch) => match jited(&x, &module, &registry, arch, w.stack_depth(), &common) {
            Ok(t) => t,
            Err(e) => {
                eprintln!("kbpf: {e}");
                return ExitCode::from(3);
            }
        },
    };
    out!("{text}");
    ExitCode::SUCCESS
}

/// The line info entry to print before each instruction: the last entry at or after the
/// previous instruction's origin and at or before this one's (dead code's lines move to the
/// next live instruction, as `bpf_adj_linfo_after_remove` does).
fn lines_for(x: &Xlated, linfo: &[LineInfo]) -> Vec<Option<usize>> {
    let mut next = 0usize;
    x.insns
        .iter()
        .map(|i| {
            let o = i.origin?;
            let mut found = None;
            while next < linfo.len() && linfo[next].insn_off as usize <= o {
                found = Some(next);
                next += 1;
            }
            found
        })
        .collect()
}

/// The prototype bpftool prints before each subprogram's first instruction when the program
/// has BTF func_info: at the first instruction standing for the subprogram's first slot or a
/// later one (a patch's first instruction carries the slot it replaced).
fn protos_for(x: &Xlated, module: &kbpf::Module) -> Vec<Option<String>> {
    let mut out = vec![None; x.insns.len()];
    let btf = module.elf.as_ref().and_then(|e| e.prog_btf.clone());
    let Some(btf) = btf.filter(|_| module.btf_func_info) else { return out };
    for f in &module.funcs {
        let k = x.insns.iter().position(|i| i.origin.is_some_and(|o| o >= f.pc));
        if let Some(k) = k {
            out[k] = crate::func_sig::func_sig(&btf, &f.name);
        }
    }
    out
}

pub(crate) fn source_line(l: &LineInfo, linum: bool) -> Option<String> {
    let line = l.line.as_deref()?.trim_start();
    Some(if linum {
        format!(
            "{line} [file:{} line_num:{} line_col:{}]",
            l.file.as_deref().unwrap_or(""),
            l.line_num,
            l.column
        )
    } else {
        line.to_string()
    })
}

/// bpftool's names for what the kernel's printer would print as addresses.
struct Names<'a> {
    module: &'a kbpf::Module,
}

impl Resolver for Names<'_> {
    fn ld_imm64(&self, insn: &Insn) -> Option<String> {
        match *insn {
            Insn::LdImm64 { src: LdImm64Src::MapFd, imm, .. } => Some(format!("map[id:{imm}]")),
            Insn::LdImm64 { src: LdImm64Src::MapValue, imm, imm_hi, .. } => {
                Some(format!("map[id:{imm}][0]+{}", imm_hi as u32))
            }
            _ => None,
        }
    }

    fn kfunc_name(&self, btf_id: i32, _off: i16) -> Option<String> {
        let _ = self.module;
        let _ = btf_id;
        None
    }
}

/// `(code) text` for one translated instruction.
fn insn_text(i: &kbpf::verifier::fixups::XInsn, names: &Names<'_>) -> String {
    let text = match (i.insn, i.call) {
        (Insn::Call(kbpf::isa::CallTarget::Helper(id)), Some(c)) => format!("call {}#{id}", c.name()),
        (insn, _) => disasm::format_insn_with(&insn, 0, Syntax::Kernel, names),
    };
    format!("({:02x}) {text}", i.insn.opcode())
}

/// The bytes of the instruction at slot `pc` as the kernel reports them.
fn bytes(slots: &[kbpf::isa::RawInsn], pc: usize, i: &Insn) -> Vec<u8> {
    slots[pc..pc + i.slots()].iter().flat_map(|r| r.to_bytes()).collect()
}

fn xlated_text(x: &Xlated, module: &kbpf::Module, c: &Common) -> String {
    let names = Names { module };
    let lines = lines_for(x, &module.line_info);
    let slots = x.kernel_slots();
    let sigs = protos_for(x, module);
    let mut out = String::new();
    let mut pc = 0usize;
    for (k, i) in x.insns.iter().enumerate() {
        if let Some(sig) = &sigs[k] {
            let _ = writeln!(out, "{sig}:");
        }
        if let Some(l) = lines[k].and_then(|n| source_line(&module.line_info[n], c.linum)) {
            let _ = writeln!(out, "; {l}");
        }
        let _ = writeln!(out, "{pc:4}: {}", insn_text(i, &names));
        if c.opcodes {
            let b = bytes(&slots, pc, &i.insn);
            let hex: Vec<String> = b.iter().map(|b| format!("{b:02x}")).collect();
            let text = match hex.len() {
                16 => format!("{}  {}", hex[..8].join(" "), hex[8..].join(" ")),
                _ => hex.join(" "),
            };
            let _ = writeln!(out, "       {text}");
        }
        pc += i.insn.slots();
    }
    out
}

fn xlated_json(x: &Xlated, module: &kbpf::Module, c: &Common) -> String {
    let names = Names { module };
    let lines = lines_for(x, &module.line_info);
    let slots = x.kernel_slots();
    let starts: Vec<usize> = x
        .insns
        .iter()
        .scan(0usize, |pc, i| {
            let at = *pc;
            *pc += i.insn.slots();
            Some(at)
        })
        .collect();
    let sigs = protos_for(x, module);
    let hexes = |b: &[u8]| b.iter().map(|b| format!("\"0x{b:02x}\"")).collect::<Vec<_>>().join(",");
    let items: Vec<String> = x
        .insns
        .iter()
        .enumerate()
        .map(|(k, i)| {
            let mut fields = Vec::new();
            if let Some(sig) = &sigs[k] {
                fields.push(format!("\"proto\":{}", json_str(sig)));
            }
            if let Some(l) = lines[k].map(|n| &module.line_info[n])
                && let Some(src) = l.line.as_deref()
            {
                fields.push(format!("\"src\":{}", json_str(src.trim_start())));
                if c.linum {
                    fields.push(format!("\"file\":{}", json_str(l.file.as_deref().unwrap_or(""))));
                    fields.push(format!("\"line_num\":{},\"line_col\":{}", l.line_num, l.column));
                }
            }
            fields.push(format!("\"disasm\":{}", json_str(&insn_text(i, &names))));
            if c.opcodes {
                let b = bytes(&slots, starts[k], &i.insn);
                let imm_end = if b.len() == 16 { 16 } else { 8 };
                fields.push(format!(
                    "\"opcodes\":{{\"code\":\"0x{:02x}\",\"src_reg\":\"0x{:x}\",\"dst_reg\":\"0x{:x}\",\"off\":[{}],\"imm\":[{}]}}",
                    b[0],
                    b[1] >> 4,
                    b[1] & 0xf,
                    hexes(&b[2..4]),
                    hexes(&b[4..imm_end])
                ));
            }
            format!("{{{}}}", fields.join(","))
        })
        .collect();
    format!("[{}]\n", items.join(","))
}

/// The JIT's code for the translated program, with its maps created so references resolve.
fn jited(
    x: &Xlated,
    module: &kbpf::Module,
    registry: &kbpf::kfunc::Registry,
    arch: ArchArg,
    depths: &[u32],
    c: &Common,
) -> Result<String, String> {
    let prog = x.program().map_err(|e| e.to_string())?;
    // the verifier's stack depths are the frames, and the layout the kernel's JIT's
    let opts = kbpf::jit::JitOptions {
        stack_depth: kbpf::jit::verifier_frames(&prog, depths)
            .map_or(kbpf::jit::StackDepth::Inferred, kbpf::jit::StackDepth::Verifier),
        kernel_image: true,
        ..Default::default()
    };
    let maps = kbpf::create_maps(module).map_err(|e| e.to_string())?;
    let prog = kbpf::resolve_maps(&prog, &maps).map_err(|e| e.to_string())?;
    let arch = match arch {
        ArchArg::X86_64 => kbpf::Arch::X86_64,
        ArchArg::Arm64 => kbpf::Arch::Arm64,
    };
    let backend = kbpf::backend(arch);
    let a = backend.assemble_code(&prog, registry, &opts).map_err(|e| e.to_string())?;
    // each function's name: BTF func_info's (by the first instruction's original pc), else the
    // program's for the main function, as the kernel's symbols
    let names: Vec<Option<String>> = a
        .func_offsets
        .iter()
        .enumerate()
        .map(|(f, &off)| {
            let first = a.insn_offsets.iter().position(|&o| o >= off)?;
            let origin = x.insns.get(first).and_then(|i| i.origin);
            let declared =
                origin.and_then(|pc| module.funcs.iter().find(|d| d.pc == pc)).map(|d| d.name.clone());
            declared.or_else(|| (f == 0 && !module.name.is_empty()).then(|| module.name.clone()))
        })
        .collect();
    let opts = crate::jited::Options { opcodes: c.opcodes, linum: c.linum, json: c.json };
    let tag = crate::jited::prog_tag(&module.slots);
    let lines = lines_for(x, &module.line_info);
    let disasm = |code: &[u8]| backend.disasm_objdump(code);
    Ok(crate::jited::render(&a, &disasm, &tag, &names, &lines, &module.line_info, &opts))
}
