//! Map memory: 8-byte aligned cells that the program reaches through raw host pointers (JIT
//! code, helper natives) and the interpreter through checked, safe byte accesses.
//!
//! Every cell is a `Cell<u64>`, so writes through pointers the program holds are writes to
//! interior-mutable memory, and the interpreter never needs `&mut` to it.

use std::cell::Cell;

/// A fixed block of zeroed, 8-byte aligned memory that never moves.
#[derive(Debug)]
pub(crate) struct Block {
    cells: Box<[Cell<u64>]>,
    len: usize,
}

impl Block {
    pub(crate) fn new(len: usize) -> Block {
        Block { cells: (0..len.div_ceil(8).max(1)).map(|_| Cell::new(0)).collect(), len }
    }

    /// Host address of byte 0.
    pub(crate) fn addr(&self) -> u64 {
        self.cells.as_ptr() as u64
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn byte(&self, i: usize) -> u8 {
        (self.cells[i / 8].get() >> (8 * (i % 8))) as u8
    }

    pub(crate) fn set_byte(&self, i: usize, b: u8) {
        let c = &self.cells[i / 8];
        let sh = 8 * (i % 8);
        c.set((c.get() & !(0xff << sh)) | (b as u64) << sh);
    }

    /// Bytes `[off, off + n)`.
    pub(crate) fn read(&self, off: usize, n: usize) -> Vec<u8> {
        (off..off + n).map(|i| self.byte(i)).collect()
    }

    pub(crate) fn write(&self, off: usize, bytes: &[u8]) {
        for (k, b) in bytes.iter().enumerate() {
            self.set_byte(off + k, *b);
        }
    }

    /// Little-endian load of `size` bytes at host address `addr`, if it lies inside.
    pub(crate) fn load(&self, addr: u64, size: u8) -> Option<u64> {
        let o = self.offset(addr, size)?;
        Some((0..size as usize).rev().fold(0u64, |acc, k| acc << 8 | self.byte(o + k) as u64))
    }

    /// Little-endian store of the low `size` bytes of `v`, if inside.
    pub(crate) fn store(&self, addr: u64, size: u8, v: u64) -> Option<()> {
        let o = self.offset(addr, size)?;
        for k in 0..size as usize {
            self.set_byte(o + k, (v >> (8 * k)) as u8);
        }
        Some(())
    }

    fn offset(&self, addr: u64, size: u8) -> Option<usize> {
        let o = usize::try_from(addr.checked_sub(self.addr())?).ok()?;
        (o.checked_add(size as usize)? <= self.len).then_some(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_and_words() {
        let b = Block::new(12);
        assert_eq!(b.addr() % 8, 0);
        b.write(3, &[1, 2, 3, 4, 5, 6, 7]);
        assert_eq!(b.read(2, 9), [0, 1, 2, 3, 4, 5, 6, 7, 0]);
        assert_eq!(b.load(b.addr() + 3, 8), Some(0x0007_0605_0403_0201));
        assert_eq!(b.load(b.addr() + 5, 8), None, "past the end");
        assert_eq!(b.store(b.addr() + 8, 4, 0xdead_beef), Some(()));
        assert_eq!(b.load(b.addr() + 8, 4), Some(0xdead_beef));
        assert_eq!(b.load(b.addr().wrapping_sub(1), 1), None);
    }
}
