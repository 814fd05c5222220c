//! The generator's source of decisions: a seeded stream for the harness, or a fuzzer's bytes
//! so that coverage guidance mutates decisions rather than instructions.

/// Where the generator's decisions come from.
pub struct Choices<'a> {
    state: u64,
    bytes: Option<&'a [u8]>,
}

impl<'a> Choices<'a> {
    /// A deterministic xorshift stream.
    pub fn seeded(seed: u64) -> Choices<'static> {
        Choices { state: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1, bytes: None }
    }

    /// Decisions read from `data` (8 bytes each; zeros once it runs out).
    pub fn from_bytes(data: &'a [u8]) -> Choices<'a> {
        Choices { state: 0, bytes: Some(data) }
    }

    /// The next 64 random bits.
    pub fn bits(&mut self) -> u64 {
        if let Some(b) = self.bytes.as_mut() {
            let n = b.len().min(8);
            let mut w = [0u8; 8];
            w[..n].copy_from_slice(&b[..n]);
            *b = &b[n..];
            return u64::from_le_bytes(w);
        }
        let mut x = self.state;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.state = x;
        x
    }

    /// Uniform below `n` (0 for `n == 0`).
    pub fn below(&mut self, n: u64) -> u64 {
        self.bits() % n.max(1)
    }

    /// True with `percent`% probability.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// One of `v` (non-empty).
    pub fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.below(v.len() as u64) as usize]
    }

    /// Values near the edges of the 64- and 32-bit ranges, small values, random ones.
    pub fn value(&mut self) -> u64 {
        match self.below(8) {
            0 => self.below(16),
            1 => self.pick(&[0, 1, u64::MAX, 0x8000_0000, 0x7fff_ffff, 0xffff_ffff, 1 << 63, (1 << 63) - 1]),
            2 => (self.below(64) as i64 - 32) as u64,
            3 => (self.bits() as i32) as i64 as u64,
            4 => 1u64 << self.below(64),
            5 => (1u64 << self.below(64)).wrapping_sub(1),
            _ => self.bits(),
        }
    }

    /// Immediates near the edges.
    pub fn imm(&mut self) -> i32 {
        match self.below(4) {
            0 => self.below(80) as i32 - 16,
            1 => self.pick(&[0, 1, -1, i32::MIN, i32::MAX, 0x7fff, 0xffff, 255, 256, -256]),
            _ => self.bits() as i32,
        }
    }
}
