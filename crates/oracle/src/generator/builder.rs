//! A small program builder with forward/backward labels, so generated jumps stay consistent.

use kbpf_isa::RawInsn;

/// Builds a slot vector; jumps and local calls name labels resolved by [`B::build`].
#[derive(Debug, Default)]
pub struct B {
    slots: Vec<RawInsn>,
    jumps: Vec<(usize, &'static str)>,
    calls: Vec<(usize, &'static str)>,
    labels: Vec<(&'static str, usize)>,
}

impl B {
    /// Empty program.
    pub fn new() -> B {
        B::default()
    }

    /// Appends one slot.
    pub fn i(&mut self, x: RawInsn) -> &mut B {
        self.slots.push(x);
        self
    }

    /// Appends several slots.
    pub fn all(&mut self, xs: impl IntoIterator<Item = RawInsn>) -> &mut B {
        self.slots.extend(xs);
        self
    }

    /// Appends a jump whose `off` is set to reach `label`.
    pub fn j(&mut self, x: RawInsn, label: &'static str) -> &mut B {
        self.jumps.push((self.slots.len(), label));
        self.slots.push(x);
        self
    }

    /// Appends a bpf-to-bpf call to `label`.
    pub fn call(&mut self, label: &'static str) -> &mut B {
        self.calls.push((self.slots.len(), label));
        self.slots.push(RawInsn::new(0x85, 0, 1, 0, 0));
        self
    }

    /// Defines `label` at the next slot.
    pub fn label(&mut self, name: &'static str) -> &mut B {
        self.labels.push((name, self.slots.len()));
        self
    }

    /// Whether some jump already targets `label`.
    pub fn used(&self, label: &str) -> bool {
        self.jumps.iter().any(|(_, n)| *n == label)
    }

    /// Number of slots so far.
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// No slots yet.
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// Resolves labels (an unknown label is a generator bug and panics).
    pub fn build(&self) -> Vec<RawInsn> {
        let mut out = self.slots.clone();
        let find = |name: &str| -> i64 {
            match self.labels.iter().find(|(n, _)| *n == name) {
                Some(&(_, at)) => at as i64,
                None => panic!("generator bug: unknown label {name}"),
            }
        };
        for &(at, name) in &self.jumps {
            out[at].off = (find(name) - at as i64 - 1) as i16;
        }
        for &(at, name) in &self.calls {
            out[at].imm = (find(name) - at as i64 - 1) as i32;
        }
        out
    }
}
