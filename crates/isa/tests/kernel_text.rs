//! Kernel syntax against text printed by the real Linux 6.18 verifier.
//!
//! `corpus/kernel_6.18_listing.txt` holds instruction listings captured from the running kernel
//! (`python3 shared/tools/kbpf.py --hex ... --log 2`, "Live regs before insn" section) for
//! `shared/tools/probes/disprobe.py` and for `corpus/kernel_probe.s`. Every line must assemble
//! (pc and opcode prefix included) and print back byte for byte.

use kbpf_isa::asm::{assemble, assemble_program};
use kbpf_isa::disasm::{Resolver, Syntax, disassemble, format_insn_with, format_insn_with_code};
use kbpf_isa::encode_bytes;

/// The probe's kfunc, resolved as the verifier resolves kfunc names from BTF.
struct Btf;

impl Resolver for Btf {
    fn kfunc_name(&self, btf_id: i32, _off: i16) -> Option<String> {
        (btf_id == 65472).then(|| "bpf_rcu_read_lock".to_string())
    }
}

const LISTING: &str = include_str!("corpus/kernel_6.18_listing.txt");

#[test]
fn kernel_lines_print_back_exactly() {
    let mut n = 0;
    for line in LISTING.lines().filter(|l| !l.starts_with('#')) {
        let insns = assemble(line).unwrap_or_else(|e| panic!("`{line}`: {e}"));
        assert_eq!(insns.len(), 1, "`{line}`");
        let (pc, rest) = line.split_once(": ").expect("pc prefix");
        let pc: usize = pc.parse().expect("pc");
        let (code, _) = rest.split_once(' ').expect("code prefix");
        let text = format_insn_with(&insns[0], pc, Syntax::Kernel, &Btf);
        assert_eq!(format!("{pc}: {code} {text}"), line);
        n += 1;
    }
    assert_eq!(n, 74 + 85, "listing lines");
}

#[test]
fn probe_program_disassembles_like_the_kernel() {
    let prog = assemble_program(include_str!("corpus/kernel_probe.s")).expect("probe assembles");
    let ours = disassemble(&prog, Syntax::Kernel);
    let kernel: Vec<&str> = LISTING.lines().skip_while(|l| *l != "# second probe").skip(1).collect();
    let ours: Vec<&str> = ours.lines().collect();
    assert_eq!(ours.len(), kernel.len());
    for (o, k) in ours.iter().zip(&kernel) {
        // Without a BTF resolver the kfunc prints as the kernel does without a callback.
        let k = k.replace("bpf_rcu_read_lock#", "kernel-function#");
        assert_eq!(*o, k);
    }
    // And the listing assembles back to the same bytes.
    let back = assemble_program(&kernel.join("\n")).expect("listing assembles");
    assert_eq!(encode_bytes(back.insns()), prog.to_bytes());
}

#[test]
fn opcode_prefix_is_the_first_byte() {
    let insns = assemble("r1 = 0x1122334455667788 ll").unwrap();
    assert_eq!(format_insn_with_code(&insns[0], 0, Syntax::Kernel), "(18) r1 = 0x1122334455667788");
    assert_eq!(
        format_insn_with_code(&insns[0], 0, Syntax::Llvm { hex: false }),
        "r1 = 1234605616436508552 ll"
    );
}
