//! Golden `xlated` dumps: a few programs per context type after the kernel's fixups
//! (`convert_ctx_accesses`, `do_misc_fixups`, tc's prologue) for one recorded target kernel,
//! the Linux 6.18 build the oracle runs (its BTF offsets below, so the test does not depend
//! on the machine's kernel). The files are `tests/data/xlated/NAME.txt`; `BLESS=1` rewrites
//! them. `cargo xtask xlated-diff` checks the same fixups against the running kernel.

use kbpf::isa::asm::assemble_program;
use kbpf::isa::disasm::{Syntax, format_insn};
use kbpf::verifier::fixups::{CtxTarget, FieldLoc, KernelField, KernelLayout, xlate};
use kbpf::verifier::{ProgType, VerifyOptions, verify};

/// `(field, offset, size, bitfield)`.
type Row = (KernelField, i32, u32, Option<(u8, u8)>);

/// The recorded target: its fields from its BTF.
fn layout() -> KernelLayout {
    use KernelField::*;
    let rows: &[Row] = &[
        (BpfArrayValue, 312, 0, None),
        (HtabElemKey, 48, 0, None),
        (XskMapXskMap, 304, 0, None),
        (SkbLen, 112, 4, None),
        (SkbCloned, 126, 1, Some((0, 1))),
        (SkbProtocol, 176, 2, None),
        (SkbVlanProto, 152, 2, None),
        (SkbVlanTci, 154, 2, None),
        (SkbVlanAll, 152, 4, None),
        (SkbPriority, 140, 4, None),
        (SkbIif, 144, 4, None),
        (SkbDev, 16, 8, None),
        (SkbHash, 148, 4, None),
        (SkbMark, 164, 4, None),
        (SkbPktTypeOffset, 128, 0, None),
        (SkbPktType, 128, 1, Some((0, 3))),
        (SkbQueueMapping, 124, 2, None),
        (SkbCb, 40, 48, None),
        (SkbData, 200, 8, None),
        (SkbTcIndex, 132, 2, None),
        (SkbSk, 24, 8, None),
        (SkbTstamp, 32, 8, None),
        (SkbEnd, 188, 4, None),
        (SkbHead, 192, 8, None),
        (SkbMonoTcOffset, 129, 0, None),
        (SkbTstampType, 129, 1, Some((0, 2))),
        (SkbTcAtIngress, 129, 1, Some((2, 1))),
        (QdiscCbData, 8, 20, None),
        (QdiscCbTcClassid, 6, 2, None),
        (QdiscCbPktLen, 0, 4, None),
        (DataEndDataMeta, 32, 8, None),
        (DataEndDataEnd, 40, 8, None),
        (NetDeviceIfindex, 224, 4, None),
        (SkcFamily, 16, 2, None),
        (SkcDaddr, 0, 4, None),
        (SkcRcvSaddr, 4, 4, None),
        (SkcV6Daddr, 56, 16, None),
        (SkcV6RcvSaddr, 72, 16, None),
        (SkcDport, 12, 2, None),
        (SkcNum, 14, 2, None),
        (ShinfoGsoSegs, 6, 2, None),
        (ShinfoGsoSize, 4, 2, None),
        (ShinfoHwtstamps, 16, 8, None),
        (XdpBuffData, 0, 8, None),
        (XdpBuffDataEnd, 8, 8, None),
        (XdpBuffDataMeta, 16, 8, None),
        (XdpBuffRxq, 32, 8, None),
        (XdpBuffTxq, 40, 8, None),
        (XdpRxqDev, 0, 8, None),
        (XdpRxqQueueIndex, 8, 4, None),
        (XdpTxqDev, 0, 8, None),
        (SkcBoundDevIf, 20, 4, None),
        (SkcState, 18, 1, None),
        (SkMark, 524, 4, None),
        (SkPriority, 520, 4, None),
        (SkType, 534, 2, None),
        (SkProtocol, 532, 2, None),
    ];
    let mut l = KernelLayout::default();
    for &(f, off, size, bits) in rows {
        l.set(f, FieldLoc { off, size, bits });
    }
    l
}

/// The program after the fixups, one instruction a line, calls by the kernel function.
fn dump(src: &str, prog_type: ProgType) -> String {
    let p = assemble_program(src).expect("assembles");
    let opts = VerifyOptions { prog_type, privileged: true, ..Default::default() };
    let out = verify(&p.to_slots(), &opts);
    assert!(out.accepted, "{:?}", out.error);
    let x = xlate(&out.witness.expect("witness"), CtxTarget::Kernel, &layout()).expect("translates");
    let mut text = String::new();
    let mut pc = 0;
    for i in &x.insns {
        let line = format_insn(&i.insn, pc, Syntax::Kernel);
        text += &match i.call {
            Some(c) => format!("{pc:4}: call {}\n", c.name()),
            None => format!("{pc:4}: {line}\n"),
        };
        pc += i.insn.slots();
    }
    text
}

fn golden(name: &str, src: &str, prog_type: ProgType) {
    let got = dump(src, prog_type);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/data/xlated/{name}.txt"));
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&path, &got).expect("writes the golden file");
    }
    let want = std::fs::read_to_string(&path).expect("golden file (BLESS=1 writes it)");
    assert_eq!(got, want, "{name} differs from {} (BLESS=1 to update)", path.display());
}

#[test]
fn socket_filter_fields_narrow_loads_ld_abs_and_guards() {
    let src = "
        r6 = r1
        r8 = *(u32 *)(r6 +0)
        r9 = *(u16 *)(r6 +2)
        r7 = *(u8 *)(r6 +4)
        r7 = *(u32 *)(r6 +40)
        *(u32 *)(r6 +48) = r8
        r0 = *(u16 *)skb[12]
        r7 = 3
        r0 = *(u8 *)skb[r7 + 1]
        r1 = r0
        r1 /= r8
        r1 s%= r9
        r0 = 0
        exit
    ";
    golden("socket_filter", src, ProgType::SocketFilter);
}

#[test]
fn sched_cls_prologue_packet_pointers_and_tc_fields() {
    let src = "
        r2 = *(u32 *)(r1 +76)
        r3 = *(u32 *)(r1 +80)
        r4 = r2
        r4 += 1
        if r4 > r3 goto +1
        *(u8 *)(r2 +0) = r2
        r5 = *(u32 *)(r1 +40)
        r5 = *(u64 *)(r1 +152)
        *(u32 *)(r1 +12) = r5
        r5 = *(u32 *)(r1 +164)
        r5 = *(u32 *)(r1 +72)
        r0 = r5
        r4 = 3
        r0 s/= r4
        r0 = 0
        exit
    ";
    golden("sched_cls", src, ProgType::SchedCls);
}

#[test]
fn xdp_buff_fields_and_queue_info() {
    let src = "
        r2 = *(u32 *)(r1 +0)
        r3 = *(u32 *)(r1 +4)
        r4 = *(u32 *)(r1 +8)
        r5 = *(u32 *)(r1 +12)
        r5 = *(u32 *)(r1 +16)
        r0 = 2
        exit
    ";
    golden("xdp", src, ProgType::Xdp);
}

#[test]
fn syscall_context_is_plain_memory() {
    let src = "
        r2 = *(u64 *)(r1 +8)
        r0 = 0
        exit
    ";
    golden("syscall", src, ProgType::Syscall);
}
