//! Ring buffers end to end: a program writes records with `bpf_ringbuf_output` and
//! `bpf_ringbuf_reserve`/`submit`/`discard`, the host drains them; both engines agree.

use kbpf::verifier::ProgType;
use kbpf::{Engine, Linker, Object, VerifyConfig};

const SRC: &str = "
.map rb, ringbuf, 0, 0, 4096
    r1 = 0x1122334455667788 ll
    *(u64 *)(r10 -8) = r1
    r1 = rb ll
    r2 = r10
    r2 += -8
    r3 = 8
    r4 = 0
    call bpf_ringbuf_output
    r7 = r0
    r1 = rb ll
    r2 = 12
    r3 = 0
    call bpf_ringbuf_reserve
    if r0 == 0 goto fail
    r1 = 0xaabbccdd ll
    *(u32 *)(r0 +0) = r1
    *(u32 *)(r0 +4) = r1
    *(u32 *)(r0 +8) = r1
    r1 = r0
    r2 = 0
    call bpf_ringbuf_submit
    r1 = rb ll
    r2 = 4
    r3 = 0
    call bpf_ringbuf_reserve
    if r0 == 0 goto fail
    r1 = r0
    r2 = 0
    call bpf_ringbuf_discard
    r1 = rb ll
    r2 = 0
    call bpf_ringbuf_query
    r0 += r7
    exit
fail:
    r0 = -1
    exit
";

fn engines() -> Vec<Engine> {
    let mut v = vec![Engine::Interp];
    if kbpf::host_backend().is_some() {
        v.push(Engine::Jit);
    }
    v
}

#[test]
fn records_reach_the_host_in_order_on_every_engine() {
    let linker = Linker::new();
    let cfg = VerifyConfig::of(ProgType::Mem { ctx_size: 4 });
    let prog = Object::from_asm(SRC, &linker).unwrap().main().unwrap().verify(&linker, &cfg).unwrap();
    let rec2 = [0xdd, 0xcc, 0xbb, 0xaa].repeat(3);
    for engine in engines() {
        let h = prog.compile(engine).unwrap();
        // 16 + 24 + 16 bytes produced (headers included, discarded record too)
        assert_eq!(h.run(&mut [0; 4]).unwrap(), 56, "{engine}");
        let rb = h.map("rb").unwrap();
        let got = rb.ringbuf_drain().unwrap();
        assert_eq!(got, [0x1122334455667788u64.to_le_bytes().to_vec(), rec2.clone()], "{engine}");
        assert!(rb.ringbuf_drain().unwrap().is_empty());
        // a second run: the consumer moved, so only the new bytes are available
        assert_eq!(h.run(&mut [0; 4]).unwrap(), 56, "{engine}");
        assert_eq!(rb.ringbuf_drain().unwrap().len(), 2);
    }
}
