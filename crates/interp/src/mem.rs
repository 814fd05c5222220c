//! The memory a running program can touch: the input buffer and the stacks of the live frames.
//!
//! Pointers are real host addresses. An access is translated back to an offset into one of the
//! two Rust-owned regions and performed through checked slice indexing, so a wild pointer is an
//! error and never undefined behaviour.

use kbpf_isa::MAX_BPF_STACK;

/// Most live frames: the program's `MAX_CALL_FRAMES`, and a callback driver's below each
/// callback.
pub(crate) const MAX_FRAMES: usize = 2 * kbpf_isa::MAX_CALL_FRAMES;

/// Bytes of stack for all frames; frame `i` owns `[i * 512, (i + 1) * 512)`.
pub(crate) const STACK_BYTES: usize = MAX_BPF_STACK * MAX_FRAMES;

/// The stacks of all frames, cache-line aligned so that r10 and every 8-byte slot below it are
/// naturally aligned, as on the kernel's stack.
#[repr(C, align(64))]
pub(crate) struct Stack(pub(crate) [u8; STACK_BYTES]);

impl Stack {
    pub(crate) fn new() -> Stack {
        Stack([0; STACK_BYTES])
    }
}

/// The regions of one run.
pub(crate) struct Mem<'a> {
    input: &'a mut [u8],
    input_base: u64,
    stack: &'a mut [u8; STACK_BYTES],
    stack_base: u64,
    /// Bytes of `stack` that belong to live frames (`(depth + 1) * 512`); above is dead.
    live: u64,
    /// Frames `0..fresh` were zeroed by this run. The stack is reused between runs, so a
    /// deeper frame is zeroed when a call first reaches it: every run starts on zeroed stacks
    /// without clearing all eight frames (4 KiB) up front.
    fresh: usize,
}

impl<'a> Mem<'a> {
    pub(crate) fn new(input: &'a mut [u8], stack: &'a mut Stack) -> Mem<'a> {
        let stack = &mut stack.0;
        stack[..MAX_BPF_STACK].fill(0);
        // An empty buffer is passed as a null pointer, which no access can then hit. The
        // addresses come from the mutable borrows: natives may write through them.
        let input_base = if input.is_empty() { 0 } else { input.as_mut_ptr() as u64 };
        let stack_base = stack.as_mut_ptr() as u64;
        Mem { input, input_base, stack, stack_base, live: MAX_BPF_STACK as u64, fresh: 1 }
    }

    /// `r1` at entry.
    pub(crate) fn input_addr(&self) -> u64 {
        self.input_base
    }

    /// `r2` at entry.
    pub(crate) fn input_len(&self) -> u64 {
        self.input.len() as u64
    }

    /// Frame pointer (`r10`) of frame `depth`: the top of its 512 bytes.
    pub(crate) fn frame_pointer(&self, depth: usize) -> u64 {
        self.stack_base + ((depth + 1) * MAX_BPF_STACK) as u64
    }

    /// A call enters frame `depth` (the one above the live ones): it starts zeroed, as every
    /// JIT's prologue zeroes its BPF stack, so the engines agree on what a privileged program
    /// reads from stack it never wrote (the kernel leaves it undefined).
    #[inline(always)]
    pub(crate) fn enter_frame(&mut self, depth: usize) {
        if let Some(s) = self.stack.get_mut(depth * MAX_BPF_STACK..(depth + 1) * MAX_BPF_STACK) {
            s.fill(0);
        }
        self.fresh = self.fresh.max(depth + 1);
        self.set_depth(depth);
    }

    /// A tail call replaces the program of frame `depth`: the next program's stack starts
    /// zeroed too (the JITs run its prologue).
    pub(crate) fn clear_frame(&mut self, depth: usize) {
        if let Some(s) = self.stack.get_mut(depth * MAX_BPF_STACK..(depth + 1) * MAX_BPF_STACK) {
            s.fill(0);
        }
    }

    /// Makes frames `0..=depth` the live ones.
    #[inline(always)]
    pub(crate) fn set_depth(&mut self, depth: usize) {
        let live = (depth + 1) * MAX_BPF_STACK;
        if depth >= self.fresh {
            if let Some(s) = self.stack.get_mut(self.fresh * MAX_BPF_STACK..live) {
                s.fill(0);
            }
            self.fresh = depth + 1;
        }
        self.live = live as u64;
    }

    /// Whether `[addr, addr + len)` lies inside the input buffer or inside one live frame's
    /// stack (what a native may be handed). A zero-length span may sit at a region's end.
    pub(crate) fn span(&self, addr: u64, len: u64) -> bool {
        let so = addr.wrapping_sub(self.stack_base);
        if so < self.live || (so == self.live && len == 0) {
            let frame_top = (so / MAX_BPF_STACK as u64 + 1) * MAX_BPF_STACK as u64;
            return so.checked_add(len).is_some_and(|end| end <= frame_top.min(self.live));
        }
        let n = self.input.len() as u64;
        let io = addr.wrapping_sub(self.input_base);
        n != 0 && io <= n && len <= n - io
    }

    /// The input buffer (the packet of legacy `LD_ABS`/`LD_IND`).
    pub(crate) fn input(&self) -> &[u8] {
        self.input
    }

    #[inline(always)]
    pub(crate) fn read<const N: usize>(&self, addr: u64) -> Option<[u8; N]> {
        let so = addr.wrapping_sub(self.stack_base);
        if so < self.live {
            let o = so as usize;
            // An access may not straddle two frames' stacks.
            if o % MAX_BPF_STACK + N > MAX_BPF_STACK {
                return None;
            }
            return self.stack.get(o..)?.first_chunk::<N>().copied();
        }
        let io = addr.wrapping_sub(self.input_base);
        if io < self.input.len() as u64 {
            return self.input.get(io as usize..)?.first_chunk::<N>().copied();
        }
        None
    }

    #[inline(always)]
    pub(crate) fn write<const N: usize>(&mut self, addr: u64, v: [u8; N]) -> Option<()> {
        let so = addr.wrapping_sub(self.stack_base);
        if so < self.live {
            let o = so as usize;
            if o % MAX_BPF_STACK + N > MAX_BPF_STACK {
                return None;
            }
            *self.stack.get_mut(o..)?.first_chunk_mut::<N>()? = v;
            return Some(());
        }
        let io = addr.wrapping_sub(self.input_base);
        if io < self.input.len() as u64 {
            *self.input.get_mut(io as usize..)?.first_chunk_mut::<N>()? = v;
            return Some(());
        }
        None
    }

    /// Zero-extended little-endian load of `size` (1, 2, 4 or 8) bytes.
    pub(crate) fn read_sized(&self, addr: u64, size: u8) -> Option<u64> {
        Some(match size {
            1 => u8::from_le_bytes(self.read(addr)?) as u64,
            2 => u16::from_le_bytes(self.read(addr)?) as u64,
            4 => u32::from_le_bytes(self.read(addr)?) as u64,
            _ => u64::from_le_bytes(self.read(addr)?),
        })
    }

    /// Little-endian store of the low `size` bytes of `v`.
    pub(crate) fn write_sized(&mut self, addr: u64, size: u8, v: u64) -> Option<()> {
        match size {
            1 => self.write(addr, (v as u8).to_le_bytes()),
            2 => self.write(addr, (v as u16).to_le_bytes()),
            4 => self.write(addr, (v as u32).to_le_bytes()),
            _ => self.write(addr, v.to_le_bytes()),
        }
    }
}

/// Whether `[addr, addr + len)` lies inside one of the caller's extra regions.
pub(crate) fn span_extra(extra: &[&mut [u8]], addr: u64, len: u64) -> bool {
    extra.iter().any(|r| {
        let (n, o) = (r.len() as u64, addr.wrapping_sub(r.as_ptr() as u64));
        n != 0 && o <= n && len <= n - o
    })
}

/// Zero-extended little-endian load of `size` bytes from one of the caller's extra regions.
pub(crate) fn read_extra(extra: &[&mut [u8]], addr: u64, size: u8) -> Option<u64> {
    let bytes = extra.iter().find_map(|r| {
        let o = usize::try_from(addr.wrapping_sub(r.as_ptr() as u64)).ok()?;
        r.get(o..o.checked_add(size as usize)?)
    })?;
    Some(bytes.iter().rev().fold(0u64, |acc, &b| acc << 8 | b as u64))
}

/// Little-endian store of the low `size` bytes of `v` into one of the caller's extra regions.
pub(crate) fn write_extra(extra: &mut [&mut [u8]], addr: u64, size: u8, v: u64) -> Option<()> {
    let bytes = extra.iter_mut().find_map(|r| {
        let o = usize::try_from(addr.wrapping_sub(r.as_ptr() as u64)).ok()?;
        r.get_mut(o..o.checked_add(size as usize)?)
    })?;
    bytes.copy_from_slice(v.to_le_bytes().get(..size as usize)?);
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions() {
        let mut input = [1u8, 2, 3, 4];
        let mut stack = Stack::new();
        let mut m = Mem::new(&mut input, &mut stack);
        let (ib, fp0) = (m.input_addr(), m.frame_pointer(0));
        assert_eq!(m.read::<4>(ib), Some([1, 2, 3, 4]));
        assert_eq!(m.read::<4>(ib + 1), None);
        assert_eq!(m.read::<1>(ib.wrapping_sub(1)), None);
        assert_eq!(m.write::<8>(fp0 - 8, [9; 8]), Some(()));
        assert_eq!(m.read_sized(fp0 - 8, 2), Some(0x0909));
        assert_eq!(m.read::<1>(fp0), None, "frame 1 is dead");
        m.set_depth(1);
        assert_eq!(m.read::<1>(fp0), Some([0]));
        assert_eq!(m.read::<8>(fp0 - 4), None, "straddles frames 0 and 1");
        assert_eq!(m.frame_pointer(1), fp0 + 512);
        m.set_depth(0);
        assert_eq!(m.write_sized(fp0, 1, 0), None);
        assert_eq!(m.input(), &[1, 2, 3, 4]);
    }

    #[test]
    fn reused_stack_reads_zero() {
        let mut stack = Stack::new();
        stack.0.fill(0xaa);
        let mut m = Mem::new(&mut [], &mut stack);
        let fp0 = m.frame_pointer(0);
        assert_eq!(m.read::<8>(fp0 - 8), Some([0; 8]));
        m.set_depth(1);
        assert_eq!(m.read::<8>(fp0 + 504), Some([0; 8]));
        assert_eq!(m.write::<8>(fp0 + 504, [7; 8]), Some(()));
        m.set_depth(0);
        m.set_depth(1);
        assert_eq!(m.read::<8>(fp0 + 504), Some([7; 8]), "returning keeps the callee's bytes");
        m.set_depth(0);
        m.enter_frame(1);
        assert_eq!(m.read::<8>(fp0 + 504), Some([0; 8]), "a call starts on a zeroed frame");
        m.set_depth(0);
        assert_eq!(m.write::<8>(fp0 - 8, [5; 8]), Some(()));
        m.clear_frame(0);
        assert_eq!(m.read::<8>(fp0 - 8), Some([0; 8]), "a tail call's program starts zeroed");
        m.set_depth(1);
        m.set_depth(3);
        assert_eq!(m.read::<8>(m.frame_pointer(2) - 8), Some([0; 8]));
        assert_eq!(m.read::<8>(m.frame_pointer(3) - 8), Some([0; 8]));
    }

    #[test]
    fn spans() {
        let mut input = [0u8; 4];
        let mut stack = Stack::new();
        let mut m = Mem::new(&mut input, &mut stack);
        let (ib, fp0) = (m.input_addr(), m.frame_pointer(0));
        assert!(m.span(ib, 4) && m.span(ib + 4, 0) && !m.span(ib + 1, 4) && !m.span(ib, u64::MAX));
        assert!(m.span(fp0 - 512, 512) && m.span(fp0, 0) && !m.span(fp0 - 8, 9));
        assert!(!m.span(fp0, 1), "frame 1 is dead");
        m.set_depth(1);
        assert!(m.span(fp0, 8) && !m.span(fp0 - 8, 16), "one frame at a time");
        let mut stack = Stack::new();
        let m = Mem::new(&mut [], &mut stack);
        assert!(!m.span(0, 0), "no input: not even an empty span at 0");
        let mut a = [0u8; 4];
        let pa = a.as_ptr() as u64;
        let regions: [&mut [u8]; 1] = [&mut a];
        assert!(span_extra(&regions, pa, 4) && !span_extra(&regions, pa + 2, 3));
    }

    #[test]
    fn extra_regions() {
        let mut a = [1u8, 2];
        let mut b = [0u8; 8];
        let (pa, pb) = (a.as_ptr() as u64, b.as_ptr() as u64);
        let mut regions: [&mut [u8]; 2] = [&mut a, &mut b];
        assert_eq!(read_extra(&regions, pa, 2), Some(0x0201));
        assert_eq!(read_extra(&regions, pa + 1, 2), None);
        assert_eq!(write_extra(&mut regions, pb + 4, 4, 0x0807_0605), Some(()));
        assert_eq!(read_extra(&regions, pb + 7, 1), Some(8));
        assert_eq!(read_extra(&regions, pb + 1, 8), None);
        assert_eq!(read_extra(&regions, 0x10, 1), None);
    }

    #[test]
    fn stack_is_aligned() {
        let mut stack = Stack::new();
        let m = Mem::new(&mut [], &mut stack);
        assert_eq!(m.frame_pointer(0) % 64, 0);
    }

    #[test]
    fn empty_input_is_unreachable() {
        let mut stack = Stack::new();
        let m = Mem::new(&mut [], &mut stack);
        assert_eq!((m.input_addr(), m.input_len()), (0, 0));
        assert_eq!(m.read::<1>(0), None);
    }
}
