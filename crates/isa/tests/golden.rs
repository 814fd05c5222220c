//! Golden disassembly (insta snapshots) of a program covering every form, in each syntax.
//!
//! The program is `corpus/all_forms.s` (every form LLVM 19 knows) followed by
//! `corpus/extra_forms.s` (acquire/release, kfuncs, pseudo `ld_imm64`, stack arguments, ...).
//! Regenerate after an intended change with `INSTA_UPDATE=always cargo test -p kbpf-isa --test golden`.

use kbpf_isa::asm::assemble_program;
use kbpf_isa::disasm::{Syntax, disassemble};

fn program() -> kbpf_isa::Program {
    let src = format!("{}{}", include_str!("corpus/all_forms.s"), include_str!("corpus/extra_forms.s"));
    assemble_program(&src).expect("corpus assembles")
}

#[test]
fn kernel_syntax() {
    insta::assert_snapshot!(disassemble(&program(), Syntax::Kernel));
}

#[test]
fn llvm_syntax() {
    insta::assert_snapshot!(disassemble(&program(), Syntax::Llvm { hex: false }));
}

#[test]
fn llvm_hex_syntax() {
    insta::assert_snapshot!(disassemble(&program(), Syntax::Llvm { hex: true }));
}

#[test]
fn snapshots_assemble_back() {
    let prog = program();
    for syntax in [Syntax::Kernel, Syntax::Llvm { hex: false }, Syntax::Llvm { hex: true }] {
        let back = assemble_program(&disassemble(&prog, syntax)).expect("disassembly assembles");
        assert_eq!(back, prog, "{syntax:?}");
    }
}
