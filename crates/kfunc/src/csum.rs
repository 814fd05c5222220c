//! Internet checksum arithmetic as the x86_64 kernel computes it (`csum_partial`, `csum_add`,
//! `csum_fold`, ...), for the checksum helpers. Ones' complement sums keep both zeros apart: an
//! end-around-carry sum is 0 only when every term is 0, otherwise a "negative zero" is all
//! ones, so the grouping of the terms (the kernel adds 64-bit words) does not change a result.

/// `csum_partial(buf, len, sum)`: the 32-bit ones' complement sum of `buf` read as
/// little-endian words (a short tail zero-padded) plus `sum`.
pub fn partial(buf: &[u8], sum: u32) -> u32 {
    let mut acc: u64 = sum as u64;
    for chunk in buf.chunks(8) {
        let mut word = [0u8; 8];
        word[..chunk.len()].copy_from_slice(chunk);
        acc = add64(acc, u64::from_le_bytes(word));
    }
    add(acc as u32, (acc >> 32) as u32)
}

fn add64(a: u64, b: u64) -> u64 {
    let (s, c) = a.overflowing_add(b);
    s + c as u64
}

/// `csum_add(a, b)`: ones' complement 32-bit addition.
pub fn add(a: u32, b: u32) -> u32 {
    let (s, c) = a.overflowing_add(b);
    s + c as u32
}

/// `csum_sub(a, b)`.
pub fn sub(a: u32, b: u32) -> u32 {
    add(a, !b)
}

/// `csum_fold(sum)` (x86's): the complemented 16-bit fold.
pub fn fold(sum: u32) -> u16 {
    let (s, c) = (sum & 0xffff_0000).overflowing_add(sum << 16);
    let s = s.wrapping_add(0xffff).wrapping_add(c as u32);
    (!s >> 16) as u16
}

/// `csum_from32to16(sum)`: the 16-bit fold, not complemented.
pub fn from32to16(sum: u32) -> u16 {
    let s = sum.wrapping_add(sum.rotate_left(16));
    (s >> 16) as u16
}

/// `csum16_add(csum, addend)`.
fn add16(a: u16, b: u16) -> u16 {
    let (s, c) = a.overflowing_add(b);
    s + c as u16
}

/// `csum_replace_by_diff(sum, diff)` on the checksum field value `sum` (as stored).
pub fn replace_by_diff(sum: u16, diff: u32) -> u16 {
    fold(add(diff, !(sum as u32)))
}

/// `csum_replace4(sum, from, to)`: `from`/`to` as stored (network order).
pub fn replace4(sum: u16, from: u32, to: u32) -> u16 {
    fold(add(sub(!(sum as u32), from), to))
}

/// `csum_replace2(sum, old, new)`.
pub fn replace2(sum: u16, old: u16, new: u16) -> u16 {
    !add16(add16(!sum, !old), new)
}

/// `bpf_csum_diff`'s result for its `from` and `to` bytes and `seed`.
pub fn diff(from: &[u8], to: &[u8], seed: u32) -> u16 {
    let ret = match (from.is_empty(), to.is_empty()) {
        (false, false) => sub(partial(to, seed), partial(from, 0)),
        (true, false) => partial(to, seed),
        (false, true) => !partial(from, !seed),
        (true, true) => seed,
    };
    from32to16(ret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partial_sums_little_endian_words_with_end_around_carry() {
        assert_eq!(partial(&[], 0), 0);
        assert_eq!(partial(&[0; 12], 0), 0);
        assert_eq!(partial(&[1, 2], 0), 0x0201);
        assert_eq!(partial(&[0xff; 8], 0), 0xffff_ffff);
        assert_eq!(partial(&[0xff; 8], 1), 1);
        // an odd tail is its own low byte
        assert_eq!(partial(&[0, 0, 0, 0, 0, 0, 0, 0, 7], 0), 7);
    }

    #[test]
    fn fold_is_the_complemented_16_bit_sum() {
        assert_eq!(fold(0), 0xffff);
        assert_eq!(fold(0x0001_0001), !2);
        assert_eq!(fold(0xffff_ffff), 0);
        assert_eq!(from32to16(0x0001_fffe), 0xffff);
        assert_eq!(from32to16(0), 0);
    }

    #[test]
    fn an_ipv4_header_checksum_verifies_and_replaces() {
        // a header whose checksum field holds the right value sums to all ones
        let mut h = [0x45u8, 0, 0, 0x54, 0, 0, 0x40, 0, 0x40, 1, 0, 0, 10, 0, 0, 1, 10, 0, 0, 2];
        let c = fold(partial(&h, 0));
        h[10..12].copy_from_slice(&c.to_le_bytes());
        assert_eq!(fold(partial(&h, 0)), 0);
        // rewriting the source address and patching the checksum keeps it valid
        let old = u32::from_le_bytes(h[12..16].try_into().unwrap());
        let new = u32::from_le_bytes([192, 168, 1, 1]);
        h[12..16].copy_from_slice(&new.to_le_bytes());
        let sum = u16::from_le_bytes([h[10], h[11]]);
        h[10..12].copy_from_slice(&replace4(sum, old, new).to_le_bytes());
        assert_eq!(fold(partial(&h, 0)), 0);
        let by_diff = replace_by_diff(sum, diff(&old.to_le_bytes(), &new.to_le_bytes(), 0) as u32);
        assert_eq!(by_diff, u16::from_le_bytes([h[10], h[11]]));
    }
}
