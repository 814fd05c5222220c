//! Executable memory under W^X: mapped read-write, filled, then flipped to read-execute. A page
//! is never writable and executable at the same time.

use std::sync::Mutex;

use crate::error::JitError;

/// Read-write mappings returned by dropped programs, reused to save an mmap, a page fault and an
/// munmap per compile (each a few microseconds in a VM). Pooled pages are never executable.
static POOL: Mutex<Vec<(usize, usize)>> = Mutex::new(Vec::new());
/// Most pooled mappings kept.
const POOL_MAX: usize = 32;

fn take_pooled(map_len: usize) -> Option<*mut u8> {
    let mut pool = POOL.lock().ok()?;
    let i = pool.iter().position(|&(_, len)| len == map_len)?;
    Some(pool.swap_remove(i).0 as *mut u8)
}

/// A read-execute mapping holding finished machine code; unmapped on drop.
#[derive(Debug)]
pub struct ExecMemory {
    ptr: *mut u8,
    map_len: usize,
    code_len: usize,
}

// SAFETY: the mapping is immutable (read-execute) for the whole life of the value and owned
// exclusively by it, so sharing or moving it between threads is sound.
unsafe impl Send for ExecMemory {}
// SAFETY: see `Send`; no interior mutability.
unsafe impl Sync for ExecMemory {}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions.
    let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    if p <= 0 { 4096 } else { p as usize }
}

impl ExecMemory {
    /// Maps fresh pages read-write, copies `code` in, and makes them read-execute.
    pub fn new(code: &[u8]) -> Result<ExecMemory, JitError> {
        let page = page_size();
        let map_len = code.len().max(1).div_ceil(page) * page;
        let ptr = match take_pooled(map_len) {
            Some(p) => p,
            None => {
                // SAFETY: anonymous private mapping with no address hint; the result is checked.
                let p = unsafe {
                    libc::mmap(
                        std::ptr::null_mut(),
                        map_len,
                        libc::PROT_READ | libc::PROT_WRITE,
                        libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
                        -1,
                        0,
                    )
                };
                if p == libc::MAP_FAILED {
                    return Err(JitError::Memory(std::io::Error::last_os_error().to_string()));
                }
                p as *mut u8
            }
        };
        // SAFETY: `ptr` is a fresh writable mapping of `map_len >= code.len()` bytes that
        // cannot overlap `code`.
        unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), ptr, code.len()) };
        // Pad the tail with int3 so that a stray jump past the end traps.
        // SAFETY: the range [code.len(), map_len) lies inside the mapping.
        unsafe { std::ptr::write_bytes(ptr.add(code.len()), 0xcc, map_len - code.len()) };
        // SAFETY: `ptr`/`map_len` describe exactly the mapping made above.
        let rc =
            unsafe { libc::mprotect(ptr as *mut libc::c_void, map_len, libc::PROT_READ | libc::PROT_EXEC) };
        if rc != 0 {
            let err = std::io::Error::last_os_error().to_string();
            // SAFETY: unmapping the mapping made above, which nothing else references.
            unsafe { libc::munmap(ptr as *mut libc::c_void, map_len) };
            return Err(JitError::Memory(err));
        }
        Ok(ExecMemory { ptr, map_len, code_len: code.len() })
    }

    /// Start of the code.
    pub fn as_ptr(&self) -> *const u8 {
        self.ptr
    }

    /// Length of the code in bytes (the mapping is rounded up to whole pages).
    pub fn len(&self) -> usize {
        self.code_len
    }

    /// Whether no code was copied in.
    pub fn is_empty(&self) -> bool {
        self.code_len == 0
    }

    /// The code bytes (the mapping is readable).
    pub fn bytes(&self) -> &[u8] {
        // SAFETY: the mapping is readable, at least `code_len` long, and lives as long as `self`.
        unsafe { std::slice::from_raw_parts(self.ptr, self.code_len) }
    }
}

impl Drop for ExecMemory {
    fn drop(&mut self) {
        // Back to read-write (never executable again unless refilled) and into the pool.
        // SAFETY: the mapping was made in `new` and is owned by `self` alone; no code in it can
        // be running, since running borrows the owning program.
        let rw = unsafe {
            libc::mprotect(self.ptr as *mut libc::c_void, self.map_len, libc::PROT_READ | libc::PROT_WRITE)
        };
        if rw == 0
            && let Ok(mut pool) = POOL.lock()
            && pool.len() < POOL_MAX
        {
            pool.push((self.ptr as usize, self.map_len));
            return;
        }
        // SAFETY: as above; the mapping is not pooled, so nothing refers to it afterwards.
        unsafe { libc::munmap(self.ptr as *mut libc::c_void, self.map_len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn perms_of(addr: usize) -> String {
        let maps = std::fs::read_to_string("/proc/self/maps").expect("procfs");
        for l in maps.lines() {
            let mut it = l.split_whitespace();
            let (range, perms) = (it.next().unwrap(), it.next().unwrap());
            let (a, b) = range.split_once('-').unwrap();
            let (a, b) = (usize::from_str_radix(a, 16).unwrap(), usize::from_str_radix(b, 16).unwrap());
            if a <= addr && addr < b {
                return perms.to_string();
            }
        }
        String::new()
    }

    #[test]
    fn read_execute_while_alive_and_reused_without_execute() {
        for round in 0..3 {
            let m = ExecMemory::new(&[0xc3; 100]).unwrap();
            let addr = m.as_ptr() as usize;
            assert!(perms_of(addr).starts_with("r-x"), "round {round}: {}", perms_of(addr));
            drop(m);
            let p = perms_of(addr);
            assert!(!p.contains('x'), "round {round}: freed code page is {p}");
        }
    }

    #[test]
    fn maps_and_reads_back() {
        let m = ExecMemory::new(&[0x90, 0xc3]).unwrap();
        assert_eq!(m.bytes(), &[0x90, 0xc3]);
        assert_eq!(m.len(), 2);
    }
}
