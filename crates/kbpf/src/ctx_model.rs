//! What a test run's context points to besides the packet: an skb's socket, a flow dissector's
//! flow keys.
//!
//! The socket of a test run's skb. The kernel's skb test run gives every skb a dummy socket
//! (`sk_alloc` of a zeroed socket, then `sock_init_data` without a `struct socket`): a full
//! socket in state `TCP_CLOSE`, without type, protocol, ports, mark or device, whose family and
//! addresses come from the frame's IPv4 or IPv6 header. kbpf builds it as the uapi
//! `struct bpf_sock` a program reads through `__sk_buff.sk` (and through `bpf_sk_fullsock`,
//! which returns it): loads through a socket pointer keep their uapi offsets in kbpf, so the
//! fields are where the uapi puts them.

/// `offsetof(struct __sk_buff, sk)`.
pub(crate) const SKB_SK: usize = 168;
/// `offsetof(struct __sk_buff, flow_keys)`.
pub(crate) const FLOW_KEYS: usize = 144;
/// `sizeof(struct bpf_flow_keys)`.
pub(crate) const FLOW_KEYS_SIZE: usize = 56;
/// `struct bpf_flow_keys` offsets: `nhoff`, `thoff`, `n_proto`.
const NHOFF: usize = 0;
const THOFF: usize = 2;
const N_PROTO: usize = 10;
/// `sizeof(struct bpf_sock)`.
pub(crate) const BPF_SOCK_SIZE: usize = 80;

/// `struct bpf_sock` offsets.
const FAMILY: usize = 4;
const SRC_IP4: usize = 24;
const SRC_IP6: usize = 28;
const DST_IP4: usize = 52;
const DST_IP6: usize = 56;
const STATE: usize = 72;
const RX_QUEUE_MAPPING: usize = 76;

const AF_INET: u32 = 2;
const AF_INET6: u32 = 10;
const TCP_CLOSE: u32 = 7;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;

/// The test run's socket for `frame` (the whole frame, Ethernet header included).
pub(crate) fn test_run_sock(frame: &[u8]) -> Vec<u8> {
    let mut sk = vec![0u8; BPF_SOCK_SIZE];
    let put = |sk: &mut Vec<u8>, off: usize, bytes: &[u8]| sk[off..off + bytes.len()].copy_from_slice(bytes);
    put(&mut sk, STATE, &TCP_CLOSE.to_le_bytes());
    // no receive queue recorded (`sk_rx_queue_clear`): the uapi's -1
    put(&mut sk, RX_QUEUE_MAPPING, &(-1i32).to_le_bytes());
    let eth = crate::test_run::ETH_HLEN;
    let (Some(proto), Some(ip)) = (frame.get(12..14), frame.get(eth..)) else { return sk };
    // the addresses only when the header fits what follows Ethernet (the kernel's `headlen`)
    match u16::from_be_bytes([proto[0], proto[1]]) {
        ETH_P_IP => {
            put(&mut sk, FAMILY, &AF_INET.to_le_bytes());
            if ip.len() >= 20 {
                put(&mut sk, SRC_IP4, &ip[12..16]);
                put(&mut sk, DST_IP4, &ip[16..20]);
            }
        }
        ETH_P_IPV6 => {
            put(&mut sk, FAMILY, &AF_INET6.to_le_bytes());
            if ip.len() >= 40 {
                put(&mut sk, SRC_IP6, &ip[8..24]);
                put(&mut sk, DST_IP6, &ip[24..40]);
            }
        }
        _ => {}
    }
    sk
}

/// The flow keys a flow dissector's test run starts with (`bpf_flow_dissect`): zeros but the
/// frame's EtherType (as stored) and both header offsets at the end of the Ethernet header.
pub(crate) fn flow_keys(frame: &[u8]) -> Vec<u8> {
    let mut k = vec![0u8; FLOW_KEYS_SIZE];
    let eth = (crate::test_run::ETH_HLEN as u16).to_le_bytes();
    k[NHOFF..NHOFF + 2].copy_from_slice(&eth);
    k[THOFF..THOFF + 2].copy_from_slice(&eth);
    if let Some(p) = frame.get(12..14) {
        k[N_PROTO..N_PROTO + 2].copy_from_slice(p);
    }
    k
}

/// What `bpf_flow_dissect` does to the keys after the program: `nhoff` into
/// `[ETH_HLEN, hlen]`, then `thoff` into `[nhoff, hlen]` (as 16-bit values).
pub(crate) fn clamp_flow_keys(k: &mut [u8], hlen: usize) {
    let rd = |k: &[u8], o: usize| u16::from_le_bytes([k[o], k[o + 1]]);
    let clamp = |v: u16, lo: u16, hi: u16| {
        if v < lo {
            lo
        } else if v > hi {
            hi
        } else {
            v
        }
    };
    let hi = hlen as u16;
    let nhoff = clamp(rd(k, NHOFF), crate::test_run::ETH_HLEN as u16, hi);
    let thoff = clamp(rd(k, THOFF), nhoff, hi);
    k[NHOFF..NHOFF + 2].copy_from_slice(&nhoff.to_le_bytes());
    k[THOFF..THOFF + 2].copy_from_slice(&thoff.to_le_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn family_and_addresses_come_from_the_frame() {
        let mut v4 = crate::test_run::pkt_v4();
        v4[14 + 12..14 + 20].copy_from_slice(&[10, 0, 0, 1, 10, 0, 0, 2]);
        let sk = test_run_sock(&v4);
        assert_eq!(sk[FAMILY], 2);
        assert_eq!(sk[SRC_IP4..SRC_IP4 + 4], [10, 0, 0, 1]);
        assert_eq!(sk[DST_IP4..DST_IP4 + 4], [10, 0, 0, 2]);
        assert_eq!(sk[STATE], 7);
        assert_eq!(sk[RX_QUEUE_MAPPING..], [0xff; 4]);
        let other = test_run_sock(&[0u8; 14]);
        assert_eq!(other[FAMILY], 0);
    }

    fn run(src: &str, pt: kbpf_verifier::ProgType, engine: crate::Engine) -> crate::TestRunOutcome {
        let linker = crate::Linker::new();
        let h = crate::Object::from_asm(src, &linker).unwrap().main().unwrap();
        let h = h.verify(&linker, &crate::VerifyConfig::of(pt)).unwrap().compile(engine).unwrap();
        h.run_packet(&crate::test_run::pkt_v4()).unwrap()
    }

    #[test]
    fn a_tc_program_reads_the_socket_behind_its_skb() {
        // r0 = state << 8 | family of bpf_sk_fullsock(skb->sk), 99 without a socket
        let src = "r1 = *(u64 *)(r1 + 168)\nif r1 == 0 goto +7\ncall 95\nif r0 == 0 goto +5\n\
                   r2 = *(u32 *)(r0 + 4)\nr0 = *(u32 *)(r0 + 72)\nr0 <<= 8\nr0 += r2\nexit\nr0 = 99\nexit\n";
        for engine in [crate::Engine::Interp, crate::Engine::Jit] {
            let out = run(src, kbpf_verifier::ProgType::SchedCls, engine);
            assert_eq!(out.retval, (7 << 8) | 2, "{engine}");
            assert_eq!(out.ctx_out[SKB_SK..SKB_SK + 8], [0; 8], "{engine}");
        }
    }

    #[test]
    fn a_flow_dissector_gets_its_keys_back_clamped() {
        let src = "r2 = *(u64 *)(r1 + 144)\nr3 = 1000\n*(u16 *)(r2 + 2) = r3\nr0 = 0\nexit\n";
        for engine in [crate::Engine::Interp, crate::Engine::Jit] {
            let out = run(src, kbpf_verifier::ProgType::FlowDissector, engine);
            assert_eq!(out.data_out.len(), FLOW_KEYS_SIZE, "{engine}");
            // nhoff 14, thoff clamped to the 54-byte frame, n_proto as stored
            assert_eq!(out.data_out[..4], [14, 0, 54, 0], "{engine}");
            assert_eq!(out.data_out[N_PROTO..N_PROTO + 2], [8, 0], "{engine}");
        }
    }
}
