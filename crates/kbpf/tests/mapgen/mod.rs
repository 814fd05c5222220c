//! Random map programs shared by the engine and kernel differentials.

/// A small deterministic generator.
pub struct Lcg(pub u64);

impl Lcg {
    /// Next 31 bits.
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    /// Uniform-ish in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A random sequence of `ops` map operations on a 4-entry hash map `h` and a 4-entry array
/// `a` (keys 0..5), folding every result into r7, which the program returns.
pub fn program(rng: &mut Lcg, ops: usize) -> String {
    let mut s = String::from(".map h, hash, 4, 8, 4\n.map a, array, 4, 8, 4\n    r7 = 0\n");
    for i in 0..ops {
        let map = if rng.below(2) == 0 { "h" } else { "a" };
        let key = rng.below(6);
        let val = rng.below(1000) as i64 - 500;
        s += &format!("    r1 = {key}\n    *(u32 *)(r10 -4) = r1\n    *(u64 *)(r10 -16) = {val}\n");
        s += &format!("    r1 = {map} ll\n    r2 = r10\n    r2 += -4\n");
        match rng.below(3) {
            0 => {
                s += &format!(
                    "    call bpf_map_lookup_elem\n    if r0 == 0 goto miss{i}\n    r1 = *(u64 *)(r0 +0)\n    \
                     r7 *= 31\n    r7 += r1\n    *(u64 *)(r0 +0) = r7\nmiss{i}:\n    r7 += 1\n"
                );
            }
            1 => {
                let flags = rng.below(4); // 3 is invalid: -EINVAL
                s += &format!(
                    "    r3 = r10\n    r3 += -16\n    r4 = {flags}\n    call bpf_map_update_elem\n    \
                     r7 *= 31\n    r7 += r0\n"
                );
            }
            _ => s += "    call bpf_map_delete_elem\n    r7 *= 31\n    r7 += r0\n",
        }
    }
    s + "    r0 = r7\n    exit\n"
}
