//! `BPF_PROG_TEST_RUN` and `BPF_OBJ_GET_INFO_BY_FD`.

use std::os::fd::{AsRawFd, BorrowedFd};

use crate::errno::Errno;
use crate::sys::{self, Attr, Cmd};

/// Result of one `BPF_PROG_TEST_RUN`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestRunResult {
    /// `retval` (low 32 bits of r0).
    pub retval: u32,
    /// Kernel-measured average duration of one run in ns (0 when `repeat` is unsupported).
    pub duration_ns: u32,
    /// `data_out` as written by the kernel.
    pub data_out: Vec<u8>,
    /// `ctx_out` as written by the kernel.
    pub ctx_out: Vec<u8>,
}

/// Runs a loaded program `repeat` times (0 and 1 mean once) on `data_in` (packet) and `ctx_in`.
pub fn test_run(
    fd: BorrowedFd<'_>,
    ctx_in: &[u8],
    data_in: &[u8],
    repeat: u32,
) -> Result<TestRunResult, Errno> {
    let mut data_out = vec![0u8; if data_in.is_empty() { 0 } else { data_in.len() + 512 }];
    let mut ctx_out = vec![0u8; ctx_in.len()];
    let mut a = Attr::new();
    a.put_u32(0, fd.as_raw_fd() as u32);
    if !data_in.is_empty() {
        a.put_u32(8, len32(data_in.len()));
        a.put_u32(12, len32(data_out.len()));
        a.put_u64(16, sys::addr(data_in.as_ptr()));
        a.put_u64(24, sys::addr(data_out.as_mut_ptr()));
    }
    a.put_u32(32, repeat);
    if !ctx_in.is_empty() {
        a.put_u32(40, len32(ctx_in.len()));
        a.put_u32(44, len32(ctx_out.len()));
        a.put_u64(48, sys::addr(ctx_in.as_ptr()));
        a.put_u64(56, sys::addr(ctx_out.as_mut_ptr()));
    }
    sys::bpf(Cmd::ProgTestRun, &mut a)?;
    data_out.truncate(a.get_u32(12) as usize);
    ctx_out.truncate(a.get_u32(44) as usize);
    Ok(TestRunResult { retval: a.get_u32(4), duration_ns: a.get_u32(36), data_out, ctx_out })
}

fn len32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

// Offsets in `struct bpf_prog_info`.
const INFO_JITED_LEN: usize = 16;
const INFO_XLATED_LEN: usize = 20;
const INFO_JITED_PTR: usize = 24;
const INFO_XLATED_PTR: usize = 32;
const INFO_SIZE: usize = 256;

fn prog_info(fd: BorrowedFd<'_>, info: &mut [u8; INFO_SIZE]) -> Result<(), Errno> {
    let mut a = Attr::new();
    a.put_u32(0, fd.as_raw_fd() as u32);
    a.put_u32(4, INFO_SIZE as u32);
    a.put_u64(8, sys::addr(info.as_mut_ptr()));
    sys::bpf(Cmd::ObjGetInfoByFd, &mut a).map(|_| ())
}

fn get_u32(b: &[u8], off: usize) -> u32 {
    u32::from_le_bytes([b[off], b[off + 1], b[off + 2], b[off + 3]])
}

/// Fetches one of the two images: jited (`want_jit`) or xlated.
fn image(fd: BorrowedFd<'_>, want_jit: bool) -> Result<Vec<u8>, Errno> {
    let mut info = [0u8; INFO_SIZE];
    prog_info(fd, &mut info)?;
    let (len_off, ptr_off) =
        if want_jit { (INFO_JITED_LEN, INFO_JITED_PTR) } else { (INFO_XLATED_LEN, INFO_XLATED_PTR) };
    let len = get_u32(&info, len_off);
    let mut buf = vec![0u8; len as usize];
    if len == 0 {
        return Ok(buf);
    }
    let mut info2 = [0u8; INFO_SIZE];
    info2[len_off..len_off + 4].copy_from_slice(&len.to_le_bytes());
    info2[ptr_off..ptr_off + 8].copy_from_slice(&sys::addr(buf.as_mut_ptr()).to_le_bytes());
    prog_info(fd, &mut info2)?;
    // The kernel reports the full length again; it copied at most `len` bytes.
    let got = get_u32(&info2, len_off).min(len);
    buf.truncate(got as usize);
    Ok(buf)
}

/// The kernel's native (JIT) image of a loaded program.
pub fn jited_image(fd: BorrowedFd<'_>) -> Result<Vec<u8>, Errno> {
    image(fd, true)
}

/// The instructions after the verifier's rewrites (`xlated`), as raw bytes (8 per slot).
pub fn xlated(fd: BorrowedFd<'_>) -> Result<Vec<u8>, Errno> {
    image(fd, false)
}
