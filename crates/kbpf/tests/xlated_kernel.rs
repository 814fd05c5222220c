//! Context conversions against the running kernel: one load or store of each `__sk_buff` field
//! (whole and narrow) a socket filter or tc program may access, loaded into the kernel and
//! translated by kbpf with the running kernel's BTF layout; the translated instructions must be
//! the kernel's `xlated` ones (call immediates aside: the kernel's are addresses).
//! Needs `bpf()`: `#[ignore]`d, run by `cargo xtask test` with `--ignored` where the oracle works.

use std::os::fd::AsFd;

use kbpf::isa::RawInsn;
use kbpf::isa::asm::assemble_program;
use kbpf::verifier::fixups::{CtxTarget, xlate};
use kbpf::verifier::{ProgType, VerifyOptions, verify};
use kbpf_oracle::{LoadRequest, load, skip_reason};

/// `(program type, access)`: each access is followed by `r0 = 0; exit`.
const CASES: &[(ProgType, &str)] = &[
    (ProgType::SocketFilter, "r2 = *(u32 *)(r1 +0)"),
    (ProgType::SocketFilter, "r2 = *(u8 *)(r1 +1)"),
    (ProgType::SocketFilter, "r2 = *(u16 *)(r1 +2)"),
    (ProgType::SocketFilter, "r2 = *(u32 *)(r1 +4)"),
    (ProgType::SocketFilter, "r2 = *(u8 *)(r1 +4)"),
    (ProgType::SocketFilter, "r2 = *(u32 *)(r1 +8)"),
    (ProgType::SocketFilter, "r2 = *(u32 *)(r1 +12)"),
    (ProgType::SocketFilter, "r2 = *(u32 *)(r1 +16)"),
    (ProgType::SocketFilter, "r2 = *(u16 *)(r1 +18)"),
    (ProgType::SocketFilter, "r2 = *(u32 *)(r1 +20)"),
    (ProgType::SocketFilter, "r2 = *(u32 *)(r1 +24)"),
    (ProgType::SocketFilter, "r2 = *(u32 *)(r1 +28)"),
    (ProgType::SocketFilter, "r2 = *(u32 *)(r1 +32)"),
    (ProgType::SocketFilter, "r2 = *(u32 *)(r1 +36)"),
    (ProgType::SocketFilter, "r2 = *(u32 *)(r1 +40)"),
    (ProgType::SocketFilter, "r2 = *(u32 *)(r1 +44)"),
    (ProgType::SocketFilter, "r2 = *(u32 *)(r1 +48)"),
    (ProgType::SocketFilter, "r2 = *(u16 *)(r1 +66)"),
    (ProgType::SocketFilter, "*(u32 *)(r1 +52) = r1"),
    (ProgType::SocketFilter, "r2 = *(u32 *)(r1 +68)"),
    (ProgType::SocketFilter, "r2 = *(u32 *)(r1 +164)"),
    (ProgType::SocketFilter, "r2 = *(u64 *)(r1 +168)"),
    (ProgType::SocketFilter, "r2 = *(u32 *)(r1 +176)"),
    (ProgType::SocketFilter, "r2 = *(s16 *)(r1 +0)"),
    (ProgType::SchedCls, "r2 = *(u32 *)(r1 +40)"),
    (ProgType::SchedCls, "r2 = *(u32 *)(r1 +72)"),
    (ProgType::SchedCls, "r2 = *(u32 *)(r1 +76)"),
    (ProgType::SchedCls, "r2 = *(u32 *)(r1 +80)"),
    (ProgType::SchedCls, "r2 = *(u32 *)(r1 +140)"),
    (ProgType::SchedCls, "r2 = *(u64 *)(r1 +152)"),
    (ProgType::SchedCls, "*(u64 *)(r1 +152) = r1"),
    (ProgType::SchedCls, "r2 = *(u32 *)(r1 +160)"),
    (ProgType::SchedCls, "r2 = *(u8 *)(r1 +180)"),
    (ProgType::SchedCls, "r2 = *(u64 *)(r1 +184)"),
    (ProgType::SchedCls, "*(u32 *)(r1 +8) = r1"),
    (ProgType::SchedCls, "*(u32 *)(r1 +12) = r1"),
    (ProgType::SchedCls, "*(u32 *)(r1 +12) = 7"),
    (ProgType::SchedCls, "*(u32 *)(r1 +12) = 65535"),
    (ProgType::SchedCls, "*(u32 *)(r1 +32) = r1"),
    (ProgType::SchedCls, "*(u32 *)(r1 +44) = r1"),
    (ProgType::SchedCls, "*(u32 *)(r1 +72) = r1"),
    // tstamp when the program reads tstamp_type: the plain field
    (ProgType::SchedCls, "r3 = *(u8 *)(r1 +180)\nr2 = *(u64 *)(r1 +152)\n*(u64 *)(r1 +152) = r3"),
    // struct bpf_sock through __sk_buff.sk
    (
        ProgType::SchedCls,
        "r1 = *(u64 *)(r1 +168)\nif r1 == 0 goto +8\nr2 = *(u32 *)(r1 +0)\nr2 = *(u32 *)(r1 +4)\nr2 = *(u32 *)(r1 +24)\nr2 = *(u32 *)(r1 +32)\nr2 = *(u32 *)(r1 +44)\nr2 = *(u16 *)(r1 +48)\nr2 = *(u8 *)(r1 +49)\nr2 = *(u32 *)(r1 +72)",
    ),
    // do_misc_fixups: LD_ABS/LD_IND, division guards
    (
        ProgType::SocketFilter,
        "r6 = r1\nr0 = *(u8 *)skb[3]\nr2 = 5\nr0 = *(u32 *)skb[r2 + 2]\nr7 = 1\nr0 = *(u16 *)skb[r7 + 0]",
    ),
    (
        ProgType::SocketFilter,
        "r2 = 5\nr3 = 7\nr3 s/= r2\nr3 s%= r2\nw3 s/= w2\nw3 s%= w2\nr3 /= r2\nw3 %= w2",
    ),
];

fn oracle_type(pt: ProgType) -> kbpf_oracle::ProgType {
    match pt {
        ProgType::SchedCls => kbpf_oracle::ProgType::SchedCls,
        _ => kbpf_oracle::ProgType::SocketFilter,
    }
}

/// Slots with call immediates cleared.
fn normal(mut slots: Vec<RawInsn>) -> Vec<RawInsn> {
    for s in &mut slots {
        if s.code == 0x85 && s.src == 0 {
            s.imm = 0;
        }
    }
    slots
}

#[test]
#[ignore = "needs the kernel oracle: root on Linux x86_64 with bpf() (cargo xtask test runs it there)"]
fn sk_buff_conversions_are_the_kernels() {
    if let Some(why) = skip_reason() {
        panic!("oracle unavailable: {why}");
    }
    let btf = kbpf::elf::btf::TargetBtf::running_kernel().expect("the running kernel's BTF");
    let layout = kbpf::kernel_layout(&btf.vmlinux);
    let mut bad = Vec::new();
    for &(pt, access) in CASES {
        let src = format!("{access}\nr0 = 0\nexit\n");
        let slots = assemble_program(&src).expect("assembles").to_slots();
        let mut req = LoadRequest::new(oracle_type(pt));
        req.keep_fd = true;
        let k = load(&slots, &req);
        let fd = k.fd.as_ref().unwrap_or_else(|| panic!("{pt:?} `{access}`: kernel refuses: {}", k.log));
        let bytes = kbpf_oracle::xlated(fd.as_fd()).expect("xlated image");
        let kernel: Vec<RawInsn> =
            bytes.chunks_exact(8).map(|c| RawInsn::from_bytes(c.try_into().expect("8 bytes"))).collect();
        let opts = VerifyOptions { prog_type: pt, privileged: true, ..Default::default() };
        let out = verify(&slots, &opts);
        let w = out.witness.unwrap_or_else(|| panic!("{pt:?} `{access}`: kbpf refuses: {:?}", out.error));
        let ours = match xlate(&w, CtxTarget::Kernel, &layout) {
            Ok(x) => x.kernel_slots(),
            Err(e) => {
                bad.push(format!("{pt:?} `{access}`: {e}"));
                continue;
            }
        };
        if normal(ours.clone()) != normal(kernel.clone()) {
            bad.push(format!("{pt:?} `{access}`:\n  kernel {kernel:?}\n  kbpf   {ours:?}"));
        }
    }
    assert!(bad.is_empty(), "{} of {} differ:\n{}", bad.len(), CASES.len(), bad.join("\n"));
}
