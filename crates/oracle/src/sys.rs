//! The raw `bpf(2)` syscall and the byte layout of the `union bpf_attr` variants we use.
//!
//! Attributes are built in a zeroed, 8-byte aligned 256-byte buffer: bigger than the kernel's
//! `union bpf_attr`, whose tail the kernel requires to be zero, which it is.

use crate::errno::Errno;

/// `bpf()` commands used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
pub(crate) enum Cmd {
    MapCreate = 0,
    MapUpdateElem = 2,
    ProgLoad = 5,
    ProgTestRun = 10,
    ObjGetInfoByFd = 15,
    BtfLoad = 18,
    MapFreeze = 22,
}

/// A zeroed attribute buffer with little-endian field writers.
#[repr(C, align(8))]
pub(crate) struct Attr {
    bytes: [u8; 256],
}

impl Attr {
    pub(crate) fn new() -> Attr {
        Attr { bytes: [0; 256] }
    }

    pub(crate) fn put_u32(&mut self, off: usize, v: u32) {
        self.bytes[off..off + 4].copy_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn put_u64(&mut self, off: usize, v: u64) {
        self.bytes[off..off + 8].copy_from_slice(&v.to_le_bytes());
    }

    pub(crate) fn put_bytes(&mut self, off: usize, v: &[u8]) {
        self.bytes[off..off + v.len()].copy_from_slice(v);
    }

    pub(crate) fn get_u32(&self, off: usize) -> u32 {
        let mut b = [0u8; 4];
        b.copy_from_slice(&self.bytes[off..off + 4]);
        u32::from_le_bytes(b)
    }
}

/// Address of a buffer as the u64 the kernel expects in attribute pointer fields.
pub(crate) fn addr<T>(p: *const T) -> u64 {
    p as usize as u64
}

/// Calls `bpf(cmd, attr, sizeof attr)`; returns the non-negative result or the errno.
#[cfg(all(target_os = "linux", target_arch = "x86_64"))]
pub(crate) fn bpf(cmd: Cmd, attr: &mut Attr) -> Result<i64, Errno> {
    let size = attr.bytes.len() as libc::c_uint;
    // SAFETY: `attr` is a live, exclusively borrowed 256-byte buffer for the whole call, and every
    // pointer field the caller stored in it refers to memory the caller keeps alive and sized as
    // declared (checked at each call site). The kernel reads and writes only within those bounds.
    let r = unsafe { libc::syscall(libc::SYS_bpf, cmd as libc::c_int, attr.bytes.as_mut_ptr(), size) };
    if r < 0 {
        Err(Errno::from_raw(std::io::Error::last_os_error().raw_os_error().unwrap_or(0)))
    } else {
        Ok(r)
    }
}

/// Off Linux x86_64 there is no oracle.
#[cfg(not(all(target_os = "linux", target_arch = "x86_64")))]
pub(crate) fn bpf(_cmd: Cmd, _attr: &mut Attr) -> Result<i64, Errno> {
    Err(Errno::ENOSYS)
}

/// Takes ownership of a descriptor the kernel just returned.
#[cfg(unix)]
pub(crate) fn own_fd(raw: i64) -> Option<std::os::fd::OwnedFd> {
    use std::os::fd::FromRawFd;
    let fd = i32::try_from(raw).ok()?;
    if fd < 0 {
        return None;
    }
    // SAFETY: `fd` was just returned by a successful bpf() call, so it is open and owned by no
    // one else; the OwnedFd becomes its only owner and closes it on drop.
    Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })
}
