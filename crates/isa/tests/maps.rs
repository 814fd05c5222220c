//! Map directives and named map references: assembly, disassembly, round trip.

use kbpf_isa::asm::{NoKfuncs, assemble_module};
use kbpf_isa::disasm::{Syntax, disassemble_module};
use kbpf_isa::{Insn, LdImm64Src, MapFlags, MapType, Reg};

const SRC: &str = r#"
.map counts, hash, 4, 8, 16
.map .rodata, array, 4, 16, 1, rdonly_prog, frozen   # global data
.mapdata .rodata, 0, "hi; #x\0", u32 7
    r1 = counts ll
    r2 = map_fd(counts)
    r3 = .rodata + 8 ll
    r4 = map_value(.rodata, 4)
    r5 = map_fd(1)
    r0 = 0
    exit
"#;

#[test]
fn directives_and_references() {
    let m = assemble_module(SRC, &NoKfuncs).unwrap();
    assert_eq!(m.maps.len(), 2);
    assert_eq!(
        (m.maps[0].map_type, m.maps[0].key_size, m.maps[0].value_size, m.maps[0].max_entries),
        (MapType::Hash, 4, 8, 16)
    );
    assert_eq!(m.maps[1].flags, MapFlags::RDONLY_PROG);
    assert!(m.maps[1].frozen);
    assert_eq!(m.maps[1].data, b"hi; #x\0\x07");
    let ld = |pc| *m.program.at(pc).unwrap();
    assert_eq!(ld(0), Insn::LdImm64 { dst: Reg::R1, src: LdImm64Src::MapFd, imm: 0, imm_hi: 0 });
    assert_eq!(ld(2), Insn::LdImm64 { dst: Reg::R2, src: LdImm64Src::MapFd, imm: 0, imm_hi: 0 });
    assert_eq!(ld(4), Insn::LdImm64 { dst: Reg::R3, src: LdImm64Src::MapValue, imm: 1, imm_hi: 8 });
    assert_eq!(ld(6), Insn::LdImm64 { dst: Reg::R4, src: LdImm64Src::MapValue, imm: 1, imm_hi: 4 });
    assert_eq!(ld(8), Insn::LdImm64 { dst: Reg::R5, src: LdImm64Src::MapFd, imm: 1, imm_hi: 0 });
}

#[test]
fn round_trip_through_the_disassembler() {
    let m = assemble_module(SRC, &NoKfuncs).unwrap();
    for syntax in [Syntax::Kernel, Syntax::Llvm { hex: false }] {
        let text = disassemble_module(&m.program, &m.maps, syntax);
        assert!(text.contains("r3 = map_value(.rodata, 8)"), "{text}");
        let back = assemble_module(&text, &NoKfuncs).unwrap_or_else(|e| panic!("{e}\n{text}"));
        assert_eq!(back.program, m.program, "{text}");
        assert_eq!(back.maps, m.maps, "{text}");
    }
}

#[test]
fn programs_and_prog_arrays() {
    let src = "
.map jmp, prog_array, 4, 4, 4
.mapdata jmp, 1, second
    r2 = jmp ll
    r3 = 1
    call bpf_tail_call
    r0 = 1
    exit
.prog second
    r0 = 2
    exit
";
    let m = assemble_module(src, &NoKfuncs).unwrap();
    assert_eq!(m.name, "");
    assert_eq!(m.progs.len(), 1);
    assert_eq!(m.progs[0].name, "second");
    assert_eq!(m.progs[0].program.len(), 2);
    assert_eq!(m.maps[0].progs, [(1, "second".to_string())]);
    let e = assemble_module(".map jmp, prog_array, 4, 4, 4\n.mapdata jmp, 1, nowhere\nexit\n", &NoKfuncs)
        .unwrap_err();
    assert_eq!((e.line, e.message.as_str()), (2, "no program `nowhere` (declare it with `.prog`)"));
}

#[test]
fn errors_name_the_line() {
    let e = assemble_module("r1 = nomap ll\nexit\n", &NoKfuncs).unwrap_err();
    assert_eq!((e.line, e.message.as_str()), (1, "no map `nomap` (declare it with `.map`)"));
    let e = assemble_module(".map m, hash, 4\nexit\n", &NoKfuncs).unwrap_err();
    assert_eq!(e.line, 1);
    let e = assemble_module(".map m, hash, 4, 4, 1\n.mapdata m, 0, u8 1\nexit\n", &NoKfuncs).unwrap_err();
    assert_eq!((e.line, e.message.as_str()), (2, "`.mapdata` fills array maps; `m` is a hash map"));
    let e = assemble_module(".map m, hash, 4, 4, 1\nr1 = btf_id(m)\nexit\n", &NoKfuncs).unwrap_err();
    assert_eq!(e.line, 2);
}
