//! Instruction selection table: BPF instruction -> exact bytes -> Intel disassembly (iced-x86).
//! The disassembly is an independent check that the bytes mean what the emitter intended.

use iced_x86::{Decoder, DecoderOptions, Formatter, IntelFormatter};
use kbpf_isa::*;
use kbpf_jit::JitOptions;

use crate::emit::assemble;

/// Bytes of the first instruction of `[insn, exit]`.
fn bytes_of(insn: Insn) -> Vec<u8> {
    let p = Program::new(vec![insn, Insn::Exit]).expect("valid");
    let a = assemble(&p, &kbpf_kfunc::profiles::conformance(), &JitOptions::default()).expect("assembles");
    a.code[a.insn_offsets[0] as usize..a.insn_offsets[1] as usize].to_vec()
}

fn disasm(code: &[u8]) -> String {
    let mut dec = Decoder::with_ip(64, code, 0, DecoderOptions::NONE);
    let mut fmt = IntelFormatter::new();
    let mut out = Vec::new();
    while dec.can_decode() {
        let mut s = String::new();
        fmt.format(&dec.decode(), &mut s);
        out.push(s);
    }
    out.join("; ")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect::<Vec<_>>().join(" ")
}

fn a64(op: AluOp, dst: Reg, src: Src) -> Insn {
    Insn::Alu { width: Width::W64, op, dst, src }
}
fn a32(op: AluOp, dst: Reg, src: Src) -> Insn {
    Insn::Alu { width: Width::W32, op, dst, src }
}
use Reg::*;
use Src::{Imm, Reg as R};

fn table() -> Vec<(Insn, &'static str, &'static str)> {
    vec![
        (a64(AluOp::Mov, R0, R(R1)), "48 89 f8", "mov rax,rdi"),
        (a64(AluOp::Mov, R1, R(R1)), "", ""),
        (a32(AluOp::Mov, R1, R(R1)), "89 ff", "mov edi,edi"),
        (a64(AluOp::Mov, R0, Imm(0)), "31 c0", "xor eax,eax"),
        (a64(AluOp::Mov, R7, Imm(5)), "41 bd 05 00 00 00", "mov r13d,5"),
        (a64(AluOp::Mov, R7, Imm(-5)), "49 c7 c5 fb ff ff ff", "mov r13,0FFFFFFFFFFFFFFFBh"),
        (a32(AluOp::Mov, R7, Imm(-5)), "41 bd fb ff ff ff", "mov r13d,0FFFFFFFBh"),
        (a64(AluOp::Add, R0, R(R7)), "4c 01 e8", "add rax,r13"),
        (a64(AluOp::Add, R7, Imm(1)), "49 83 c5 01", "add r13,1"),
        (a64(AluOp::Add, R7, Imm(1000)), "49 81 c5 e8 03 00 00", "add r13,3E8h"),
        (a32(AluOp::Add, R2, Imm(0)), "89 f6", "mov esi,esi"),
        (a64(AluOp::Sub, R3, R(R4)), "48 29 ca", "sub rdx,rcx"),
        (a32(AluOp::Xor, R9, R(R8)), "45 31 f7", "xor r15d,r14d"),
        (a64(AluOp::And, R6, Imm(-16)), "48 83 e3 f0", "and rbx,0FFFFFFFFFFFFFFF0h"),
        (a64(AluOp::Or, R5, Imm(0x100)), "49 81 c8 00 01 00 00", "or r8,100h"),
        (a64(AluOp::Mul, R1, R(R2)), "48 0f af fe", "imul rdi,rsi"),
        (a64(AluOp::Mul, R1, Imm(3)), "48 6b ff 03", "imul rdi,3"),
        (a32(AluOp::Mul, R1, Imm(300)), "69 ff 2c 01 00 00", "imul edi,12Ch"),
        (a64(AluOp::Lsh, R3, Imm(13)), "48 c1 e2 0d", "shl rdx,0Dh"),
        (a64(AluOp::Rsh, R3, Imm(64 + 7)), "48 c1 ea 07", "shr rdx,7"),
        (a32(AluOp::Arsh, R3, Imm(31)), "c1 fa 1f", "sar edx,1Fh"),
        (a64(AluOp::Lsh, R1, Imm(64)), "", ""),
        (a64(AluOp::Lsh, R1, R(R4)), "48 d3 e7", "shl rdi,cl"),
        (
            a64(AluOp::Rsh, R1, R(R2)),
            "49 89 cb 89 f1 48 d3 ef 4c 89 d9",
            "mov r11,rcx; mov ecx,esi; shr rdi,cl; mov rcx,r11",
        ),
        (
            a32(AluOp::Lsh, R4, R(R2)),
            "49 89 cb 89 f1 41 d3 e3 4c 89 d9",
            "mov r11,rcx; mov ecx,esi; shl r11d,cl; mov rcx,r11",
        ),
        (a64(AluOp::Div, R1, Imm(0)), "31 ff", "xor edi,edi"),
        (a64(AluOp::Mod, R1, Imm(0)), "", ""),
        (a32(AluOp::Mod, R1, Imm(0)), "89 ff", "mov edi,edi"),
        (a64(AluOp::SDiv, R1, Imm(-1)), "48 f7 df", "neg rdi"),
        (a64(AluOp::SMod, R1, Imm(-1)), "31 ff", "xor edi,edi"),
        (
            a64(AluOp::Div, R1, Imm(7)),
            "41 bb 07 00 00 00 49 89 c2 48 89 f8 52 31 d2 49 f7 f3 49 89 c3 5a 4c 89 d0 4c 89 df",
            "mov r11d,7; mov r10,rax; mov rax,rdi; push rdx; xor edx,edx; div r11; mov r11,rax; pop rdx; mov rax,r10; mov rdi,r11",
        ),
        (
            a64(AluOp::Mod, R0, R(R3)),
            "49 89 d3 4d 85 db 0f 85 05 00 00 00 e9 0d 00 00 00 52 31 d2 49 f7 f3 49 89 d3 5a 4c 89 d8",
            "mov r11,rdx; test r11,r11; jne 0000000000000011h; jmp 000000000000001Eh; push rdx; xor edx,edx; div r11; mov r11,rdx; pop rdx; mov rax,r11",
        ),
        (a64(AluOp::Add, R0, Imm(0)), "", ""),
        (Insn::Neg { width: Width::W32, dst: R6 }, "f7 db", "neg ebx"),
        (Insn::MovSx { width: Width::W64, dst: R0, src: R2, from_bits: 8 }, "48 0f be c6", "movsx rax,sil"),
        (Insn::MovSx { width: Width::W64, dst: R0, src: R2, from_bits: 32 }, "48 63 c6", "movsxd rax,esi"),
        (Insn::MovSx { width: Width::W32, dst: R7, src: R1, from_bits: 16 }, "44 0f bf ef", "movsx r13d,di"),
        (
            Insn::Endian { order: ByteOrder::ToBe, bits: 16, dst: R1 },
            "66 c1 cf 08 0f b7 ff",
            "ror di,8; movzx edi,di",
        ),
        (Insn::Endian { order: ByteOrder::ToBe, bits: 32, dst: R1 }, "0f cf", "bswap edi"),
        (Insn::Endian { order: ByteOrder::Swap, bits: 64, dst: R7 }, "49 0f cd", "bswap r13"),
        (Insn::Endian { order: ByteOrder::ToLe, bits: 16, dst: R1 }, "0f b7 ff", "movzx edi,di"),
        (Insn::Endian { order: ByteOrder::ToLe, bits: 64, dst: R1 }, "", ""),
        (
            Insn::LdImm64 { dst: R1, src: LdImm64Src::Imm, imm: 0x55667788, imm_hi: 0x11223344 },
            "48 bf 88 77 66 55 44 33 22 11",
            "mov rdi,1122334455667788h",
        ),
        (
            Insn::LdImm64 { dst: R1, src: LdImm64Src::Imm, imm: -1, imm_hi: 0 },
            "bf ff ff ff ff",
            "mov edi,0FFFFFFFFh",
        ),
        (
            Insn::Load { size: Size::B, signed: false, dst: R0, src: R1, off: 3 },
            "0f b6 47 03",
            "movzx eax,byte ptr [rdi+3]",
        ),
        (
            Insn::Load { size: Size::H, signed: true, dst: R0, src: R1, off: 0 },
            "48 0f bf 07",
            "movsx rax,word ptr [rdi]",
        ),
        (
            Insn::Load { size: Size::W, signed: true, dst: R0, src: R10, off: -4 },
            "48 63 45 fc",
            "movsxd rax,[rbp-4]",
        ),
        (
            Insn::Load { size: Size::DW, signed: false, dst: R9, src: R10, off: -8 },
            "4c 8b 7d f8",
            "mov r15,[rbp-8]",
        ),
        (Insn::Store { size: Size::B, dst: R1, off: 1, src: R(R2) }, "40 88 77 01", "mov [rdi+1],sil"),
        (Insn::Store { size: Size::H, dst: R1, off: 0, src: R(R3) }, "66 89 17", "mov [rdi],dx"),
        (
            Insn::Store { size: Size::DW, dst: R10, off: -16, src: Imm(-1) },
            "48 c7 45 f0 ff ff ff ff",
            "mov qword ptr [rbp-10h],0FFFFFFFFFFFFFFFFh",
        ),
        (Insn::Store { size: Size::DW, dst: R11, off: -8, src: R(R6) }, "49 89 d9", "mov r9,rbx"),
        (Insn::Store { size: Size::DW, dst: R11, off: -8, src: Imm(7) }, "49 c7 c1 07 00 00 00", "mov r9,7"),
        (Insn::Store { size: Size::DW, dst: R11, off: -16, src: R(R1) }, "48 89 3c 24", "mov [rsp],rdi"),
        (
            Insn::Store { size: Size::DW, dst: R11, off: -24, src: Imm(9) },
            "48 c7 44 24 08 09 00 00 00",
            "mov qword ptr [rsp+8],9",
        ),
        (
            Insn::Atomic { size: Size::DW, op: AtomicOp::Add, dst: R1, src: R2, off: 8 },
            "f0 48 01 77 08",
            "lock add [rdi+8],rsi",
        ),
        (
            Insn::Atomic { size: Size::W, op: AtomicOp::FetchAdd, dst: R10, src: R0, off: -8 },
            "f0 0f c1 45 f8",
            "lock xadd [rbp-8],eax",
        ),
        (
            Insn::Atomic { size: Size::DW, op: AtomicOp::Xchg, dst: R1, src: R2, off: 0 },
            "48 87 37",
            "xchg [rdi],rsi",
        ),
        (
            Insn::Atomic { size: Size::W, op: AtomicOp::Cmpxchg, dst: R1, src: R2, off: 0 },
            "f0 0f b1 37 89 c0",
            "lock cmpxchg [rdi],esi; mov eax,eax",
        ),
        (
            Insn::Atomic { size: Size::DW, op: AtomicOp::FetchOr, dst: R1, src: R2, off: 0 },
            "49 89 c2 4c 8d 9c 27 00 00 00 00 40 51 49 8b 44 23 00 48 89 c1 48 09 f1 f0 49 0f b1 4c 23 00 0f 85 ed ff ff ff 40 59 48 89 c6 4c 89 d0",
            "mov r10,rax; lea r11,[rdi]; push rcx; mov rax,[r11]; mov rcx,rax; or rcx,rsi; lock cmpxchg [r11],rcx; jne 0000000000000012h; pop rcx; mov rsi,rax; mov rax,r10",
        ),
        (
            Insn::Atomic { size: Size::B, op: AtomicOp::StoreRelease, dst: R1, src: R2, off: 0 },
            "40 88 37",
            "mov [rdi],sil",
        ),
        (
            Insn::Atomic { size: Size::H, op: AtomicOp::LoadAcquire, dst: R0, src: R1, off: 2 },
            "0f b7 47 02",
            "movzx eax,word ptr [rdi+2]",
        ),
        (Insn::Ja { off: 0 }, "", ""),
        (Insn::Jmp { width: Width::W64, cond: JmpCond::Eq, dst: R1, src: Imm(0), off: 0 }, "", ""),
        (Insn::Call(CallTarget::Helper(5)), "48 b8", "mov rax,"),
    ]
}

#[test]
fn selection_table() {
    let mut bad = Vec::new();
    for (insn, want_hex, want_asm) in table() {
        let code = bytes_of(insn);
        let (got_hex, got_asm) = (hex(&code), disasm(&code));
        // Calls embed a host address: compare the fixed prefix only.
        let matches = if matches!(insn, Insn::Call(_)) {
            got_hex.starts_with(want_hex) && got_asm.starts_with(want_asm)
        } else {
            got_hex == want_hex && got_asm == want_asm
        };
        if !matches {
            bad.push(format!("{insn:?}\n   got  {got_hex:?} {got_asm:?}\n   want {want_hex:?} {want_asm:?}"));
        }
    }
    assert!(bad.is_empty(), "{} mismatches:\n{}", bad.len(), bad.join("\n"));
}

/// The kernel JIT's layout: nops, a frame with the depth rounded to 8, the callee-saved
/// registers used, the first exit's epilogue ending in a jump out, the other exits jumping to
/// it; calls out are `call rel32` past the code.
#[test]
fn kernel_image_layout() {
    let p = Program::new(vec![
        Insn::Store { size: Size::DW, dst: R10, off: -12, src: Imm(0) },
        a64(AluOp::Mov, R6, Imm(1)),
        Insn::Jmp { width: Width::W64, cond: JmpCond::Eq, dst: R1, src: Imm(0), off: 2 },
        Insn::Call(CallTarget::Helper(1)),
        Insn::Exit,
        a64(AluOp::Mov, R0, R(R6)),
        Insn::Exit,
    ])
    .expect("valid");
    let opts = JitOptions { kernel_image: true, ..Default::default() };
    let a = assemble(&p, &kbpf_kfunc::profiles::conformance(), &opts).expect("assembles");
    let end = a.image_len.expect("an image length");
    let text = disasm(&a.code[..end]);
    assert!(
        text.starts_with("nop [rax+rax]; nop [rax]; push rbp; mov rbp,rsp; sub rsp,10h; push rbx;"),
        "{text}"
    );
    let code = &a.code[..end];
    assert_eq!(code[12..19], [0x48, 0x81, 0xec, 0x10, 0, 0, 0], "sub rsp, imm32");
    // one epilogue; the second exit jumps back to it
    assert_eq!(text.matches("leave").count(), 1, "{text}");
    let last = &code[a.insn_offsets[6] as usize..];
    assert_eq!(last[0], 0xeb, "a short jump back to the epilogue: {text}");
    assert!(text.contains(&format!("call {end:016X}h")), "{text}");
    assert!(text.contains(&format!("leave; jmp {end:016X}h")), "{text}");
}
