//! Legacy packet loads (`LD_ABS`/`LD_IND`) in a tc test run read the packet, as the kernel's
//! `BPF_PROG_TEST_RUN` of a `sched_cls` program does (from the Ethernet header), not the
//! context that r1 points to: on the interpreter and the host JIT, and against the kernel.

use kbpf::kfunc::profiles;
use kbpf::verifier::{ProgType, VerifyOptions};
use kbpf::{Engine, RunOptions, SourceKind};

/// EtherType, IP protocol and the IPv4 version/IHL byte of `pkt_v4` in one value
/// (0x0800_0645), then an out-of-bounds load that ends the program with r0 = 0.
const PACKET_FIELDS: &str = "
    r6 = r1
    r0 = *(u16 *)skb[12]
    r7 = r0
    r0 = *(u8 *)skb[23]
    r7 <<= 8
    r7 |= r0
    r2 = 10
    r0 = *(u8 *)skb[r2 + 4]
    r7 <<= 8
    r7 |= r0
    r0 = r7
    exit
";

const OUT_OF_BOUNDS: &str = "
    r6 = r1
    r0 = *(u32 *)skb[52]
    r0 = 7
    exit
";

fn module(src: &str) -> kbpf::Module {
    let dir = std::env::temp_dir().join(format!("kbpf-ld-abs-{}-{}", std::process::id(), src.len()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("prog.s");
    std::fs::write(&path, src).unwrap();
    let m = kbpf::read_module(&path, SourceKind::Asm, &profiles::testmod(), None).unwrap();
    std::fs::remove_dir_all(&dir).ok();
    m
}

fn kbpf_run(src: &str, engine: Engine) -> u64 {
    let m = module(src);
    let maps = kbpf::create_maps(&m).unwrap();
    let opts = VerifyOptions { prog_type: ProgType::SchedCls, ..Default::default() };
    let out =
        kbpf::test_run(&m, &maps, &profiles::testmod(), opts, engine, &kbpf::pkt_v4(), RunOptions::default())
            .unwrap_or_else(|e| panic!("{engine:?}: {e}"));
    out.retval
}

#[test]
fn tc_legacy_packet_loads_read_the_packet() {
    for engine in [Engine::Interp, Engine::Jit] {
        assert_eq!(kbpf_run(PACKET_FIELDS, engine), 0x0800_0645, "{engine:?}");
        assert_eq!(kbpf_run(OUT_OF_BOUNDS, engine), 0, "{engine:?}");
    }
}

#[test]
#[ignore = "needs root and bpf()"]
fn tc_legacy_packet_loads_match_the_kernel() {
    use std::os::fd::AsFd;
    for src in [PACKET_FIELDS, OUT_OF_BOUNDS] {
        let m = module(src);
        let mut req = kbpf_oracle::LoadRequest::new(kbpf_oracle::ProgType::SchedCls);
        req.keep_fd = true;
        let v = kbpf_oracle::load(&m.slots, &req);
        assert!(v.accepted, "kernel rejects: {}", v.log);
        let fd = v.fd.expect("fd kept");
        let kernel = kbpf_oracle::test_run(fd.as_fd(), &[], &kbpf::pkt_v4(), 1).expect("test run").retval;
        for engine in [Engine::Interp, Engine::Jit] {
            assert_eq!(kbpf_run(src, engine), kernel as u64, "{engine:?}\n{src}");
        }
    }
}
