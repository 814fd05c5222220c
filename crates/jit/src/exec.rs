//! Executable memory under W^X: code is written into read-write pages, which are then flipped
//! to read-execute. A page is never writable and executable at the same time.
//!
//! Small programs come from arenas ([`ARENA_PAGES`] pages mapped read-write once): a compile
//! takes fresh pages, writes them and flips them read-execute, one `mprotect` in all. Freed
//! pages stay read-execute (never writable again) until every page of their arena has been
//! handed out and freed; then one `mprotect` makes the whole arena read-write for reuse. So a
//! compile-and-drop cycle costs one system call instead of an `mmap`/`munmap` pair or two
//! `mprotect`s. Programs larger than an arena's quarter get mappings of their own.

use std::sync::Mutex;

use crate::error::JitError;

/// Pages per arena.
pub const ARENA_PAGES: usize = 256;

/// A region mapped read-write once and handed out page by page.
#[derive(Debug)]
struct Arena {
    base: usize,
    /// Pages handed out so far (a bump pointer).
    next: usize,
    /// Of those, pages freed again.
    freed: usize,
}

/// Every arena; an index is stable (arenas are never unmapped).
static ARENAS: Mutex<Vec<Arena>> = Mutex::new(Vec::new());

/// An anonymous read-write mapping of `len` bytes.
fn map_rw(len: usize) -> Result<*mut u8, JitError> {
    // SAFETY: anonymous private mapping with no address hint; the result is checked.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_POPULATE,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        return Err(JitError::Memory(std::io::Error::last_os_error().to_string()));
    }
    Ok(p as *mut u8)
}

/// `pages` fresh read-write pages from an arena: `(address, arena index)`.
fn arena_alloc(pages: usize, page: usize) -> Result<(*mut u8, usize), JitError> {
    let mut arenas = ARENAS.lock().map_err(|_| JitError::Memory("arena lock poisoned".into()))?;
    if let Some((i, a)) = arenas.iter_mut().enumerate().find(|(_, a)| a.next + pages <= ARENA_PAGES) {
        let p = a.base + a.next * page;
        a.next += pages;
        return Ok((p as *mut u8, i));
    }
    let base = map_rw(ARENA_PAGES * page)? as usize;
    arenas.push(Arena { base, next: pages, freed: 0 });
    Ok((base as *mut u8, arenas.len() - 1))
}

/// Returns `pages` pages to arena `i`; an arena whose pages were all handed out and freed
/// becomes read-write again, for reuse from its start.
fn arena_free(i: usize, pages: usize, page: usize) {
    let Ok(mut arenas) = ARENAS.lock() else { return };
    let Some(a) = arenas.get_mut(i) else { return };
    a.freed += pages;
    if a.freed < a.next || a.next + ARENA_PAGES / 4 <= ARENA_PAGES {
        return;
    }
    // SAFETY: the arena's mapping, none of whose pages is owned by a live program (all freed),
    // so no code in it can run.
    let rc = unsafe {
        libc::mprotect(a.base as *mut libc::c_void, ARENA_PAGES * page, libc::PROT_READ | libc::PROT_WRITE)
    };
    if rc == 0 {
        a.next = 0;
        a.freed = 0;
    } else {
        // stays read-execute; never handed out again
        a.next = ARENA_PAGES;
    }
}

/// A read-execute mapping holding finished machine code.
#[derive(Debug)]
pub struct ExecMemory {
    ptr: *mut u8,
    map_len: usize,
    code_len: usize,
    /// The arena the pages come from, or `None` for a mapping of their own (unmapped on drop).
    arena: Option<usize>,
}

// SAFETY: the mapping is immutable (read-execute) for the whole life of the value and owned
// exclusively by it, so sharing or moving it between threads is sound.
unsafe impl Send for ExecMemory {}
// SAFETY: see `Send`; no interior mutability.
unsafe impl Sync for ExecMemory {}

fn page_size() -> usize {
    static PAGE: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *PAGE.get_or_init(|| {
        // SAFETY: sysconf has no preconditions.
        let p = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if p <= 0 { 4096 } else { p as usize }
    })
}

impl ExecMemory {
    /// Takes fresh read-write pages, copies `code` in, and makes them read-execute.
    pub fn new(code: &[u8]) -> Result<ExecMemory, JitError> {
        let page = page_size();
        let pages = code.len().max(1).div_ceil(page);
        let map_len = pages * page;
        let (ptr, arena) = if pages <= ARENA_PAGES / 4 {
            let (p, i) = arena_alloc(pages, page)?;
            (p, Some(i))
        } else {
            (map_rw(map_len)?, None)
        };
        // SAFETY: `ptr` starts `map_len >= code.len()` fresh writable bytes that nothing else
        // owns and that cannot overlap `code`.
        unsafe { std::ptr::copy_nonoverlapping(code.as_ptr(), ptr, code.len()) };
        // Pad the tail with int3 so that a stray jump past the end traps.
        // SAFETY: the range [code.len(), map_len) lies inside those pages.
        unsafe { std::ptr::write_bytes(ptr.add(code.len()), 0xcc, map_len - code.len()) };
        // SAFETY: `ptr`/`map_len` are whole pages owned by this value.
        let rc =
            unsafe { libc::mprotect(ptr as *mut libc::c_void, map_len, libc::PROT_READ | libc::PROT_EXEC) };
        let mem = ExecMemory { ptr, map_len, code_len: code.len(), arena };
        if rc != 0 {
            let err = std::io::Error::last_os_error().to_string();
            drop(mem);
            return Err(JitError::Memory(err));
        }
        Ok(mem)
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
        let page = page_size();
        match self.arena {
            // the pages stay read-execute until their whole arena is recycled read-write
            Some(i) => arena_free(i, self.map_len / page, page),
            // SAFETY: a mapping of its own, owned by `self` alone; no code in it can be
            // running, since running borrows the owning program.
            None => unsafe {
                libc::munmap(self.ptr as *mut libc::c_void, self.map_len);
            },
        }
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
    fn never_writable_and_executable_and_arenas_recycle() {
        let page = page_size();
        // more compile/drop cycles than an arena has pages: arenas get recycled
        let mut seen = std::collections::HashSet::new();
        for round in 0..3 * ARENA_PAGES {
            let m = ExecMemory::new(&[0xc3; 100]).unwrap();
            let addr = m.as_ptr() as usize;
            if round % 97 == 0 {
                assert!(perms_of(addr).starts_with("r-x"), "round {round}: {}", perms_of(addr));
            }
            seen.insert(addr);
            drop(m);
            let p = perms_of(addr);
            assert!(!(p.contains('w') && p.contains('x')), "round {round}: freed code page is {p}");
        }
        // pages were reused (other tests compile concurrently, so not exactly one arena)
        assert!(seen.len() < 3 * ARENA_PAGES, "{} distinct pages", seen.len());
        // a large program gets a mapping of its own, unmapped on drop
        let big = ExecMemory::new(&vec![0xc3; page * (ARENA_PAGES / 4 + 1)]).unwrap();
        assert!(big.arena.is_none());
    }

    #[test]
    fn maps_and_reads_back() {
        let m = ExecMemory::new(&[0x90, 0xc3]).unwrap();
        assert_eq!(m.bytes(), &[0x90, 0xc3]);
        assert_eq!(m.len(), 2);
    }
}
