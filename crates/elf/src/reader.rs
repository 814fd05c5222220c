//! A bounds-checked little-endian byte reader: running off the end is an error, never a panic.

use thiserror::Error;

/// A read past the end of the data.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
#[error("truncated: need {need} bytes at offset {at}, have {have}")]
pub struct Truncated {
    /// Offset of the read.
    pub at: usize,
    /// Bytes wanted.
    pub need: usize,
    /// Bytes available in total.
    pub have: usize,
}

/// Cursor over a byte slice.
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Reader at offset 0.
    pub fn new(data: &'a [u8]) -> Reader<'a> {
        Reader { data, pos: 0 }
    }

    /// Whether all bytes were consumed.
    pub fn is_empty(&self) -> bool {
        self.pos >= self.data.len()
    }

    /// The next `n` bytes.
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        let s = self.slice(self.pos, n)?;
        self.pos += n;
        Ok(s)
    }

    /// `n` bytes at absolute offset `at`.
    pub fn slice(&self, at: usize, n: usize) -> Result<&'a [u8], Truncated> {
        at.checked_add(n).and_then(|end| self.data.get(at..end)).ok_or(Truncated {
            at,
            need: n,
            have: self.data.len(),
        })
    }

    /// One byte.
    pub fn u8(&mut self) -> Result<u8, Truncated> {
        Ok(self.take(1)?[0])
    }

    /// Little-endian u16.
    pub fn u16(&mut self) -> Result<u16, Truncated> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    /// Little-endian u32.
    pub fn u32(&mut self) -> Result<u32, Truncated> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}
