//! The inputs of `test-run-diff`: the selftests' `pkt_v4` and `pkt_v6` (network_helpers.c),
//! built byte by byte: Ethernet with zero addresses, an IP header with only the fields the
//! selftests set (no version nibble, like theirs), and a TCP header with `doff` 5 and
//! `urg_ptr` 123 stored in host (little-endian) order, as their initialiser leaves it.

/// A packet builder.
pub type Build = fn() -> Vec<u8>;

/// The inputs by name.
pub const INPUTS: &[(&str, Build)] = &[("pkt_v4", pkt_v4), ("pkt_v6", pkt_v6)];

/// `MAGIC_BYTES` of network_helpers.h: the IP length fields.
const MAGIC_BYTES: u16 = 123;
const ETH_HLEN: usize = 14;
const TCP_HLEN: usize = 20;

fn tcp(out: &mut [u8]) {
    out[12] = 5 << 4;
    out[18..20].copy_from_slice(&123u16.to_le_bytes());
}

/// Ethernet (IPv4) + IPv4 (ihl 5, protocol TCP, tot_len 123) + TCP: 54 bytes.
pub fn pkt_v4() -> Vec<u8> {
    let mut p = vec![0u8; ETH_HLEN + 20 + TCP_HLEN];
    p[12..14].copy_from_slice(&0x0800u16.to_be_bytes());
    p[ETH_HLEN] = 5;
    p[ETH_HLEN + 2..ETH_HLEN + 4].copy_from_slice(&MAGIC_BYTES.to_be_bytes());
    p[ETH_HLEN + 9] = 6;
    tcp(&mut p[ETH_HLEN + 20..]);
    p
}

/// Ethernet (IPv6) + IPv6 (payload_len 123, nexthdr TCP) + TCP: 74 bytes.
pub fn pkt_v6() -> Vec<u8> {
    let mut p = vec![0u8; ETH_HLEN + 40 + TCP_HLEN];
    p[12..14].copy_from_slice(&0x86ddu16.to_be_bytes());
    p[ETH_HLEN + 4..ETH_HLEN + 6].copy_from_slice(&MAGIC_BYTES.to_be_bytes());
    p[ETH_HLEN + 6] = 6;
    tcp(&mut p[ETH_HLEN + 40..]);
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shapes_match_the_selftests() {
        let v4 = pkt_v4();
        assert_eq!(v4.len(), 54);
        assert_eq!(&v4[12..18], &[0x08, 0x00, 0x05, 0x00, 0x00, 0x7b]);
        assert_eq!(v4[23], 6);
        assert_eq!(&v4[46..48], &[0x50, 0]);
        assert_eq!(&v4[52..54], &[0x7b, 0]);
        let v6 = pkt_v6();
        assert_eq!(v6.len(), 74);
        assert_eq!(&v6[12..14], &[0x86, 0xdd]);
        assert_eq!(&v6[18..21], &[0x00, 0x7b, 6]);
        assert_eq!(&v6[72..74], &[0x7b, 0]);
    }
}
