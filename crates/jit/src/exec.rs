//! Executable memory under W^X: no mapping is ever writable and executable at once.
//!
//! Small programs live in dual-mapped arenas: a memfd of [`ARENA_PAGES`] pages mapped twice,
//! once read-write (the view the compiler writes through) and once read-execute (the view the
//! code runs from). A compile copies its code through the read-write view: no system call, no
//! permission change, so compiling a small program costs the copy. Freed pages go back to
//! their arena's free list and are rewritten in place by a later compile (their old program is
//! gone, so no code of it can run). Programs larger than an arena's quarter, hosts where
//! `memfd_create` fails, and architectures other than x86_64 ([`DUAL_MAPPED`]) get a mapping
//! of their own: written read-write, then flipped
//! read-execute with one `mprotect`, unmapped on drop.

use std::sync::Mutex;

use crate::error::JitError;

/// Pages per arena.
pub const ARENA_PAGES: usize = 256;

/// Whether small programs use the dual-mapped arenas: on x86_64, where instruction fetch sees
/// stores made through another mapping of the same page. Elsewhere reused pages would need
/// cache maintenance that emulators (qemu-user) do not honour across aliases, so every program
/// gets a mapping of its own.
const DUAL_MAPPED: bool = cfg!(target_arch = "x86_64");

/// A memfd mapped twice and handed out page by page.
#[derive(Debug)]
struct Arena {
    /// The read-write view.
    rw: usize,
    /// The read-execute view of the same pages.
    rx: usize,
    /// Pages handed out from the start so far (a bump pointer).
    next: usize,
    /// Freed runs `(first page, pages)` below `next`, sorted and coalesced.
    free: Vec<(usize, usize)>,
}

impl Arena {
    /// First page of a run of `pages` free pages, taken.
    fn take(&mut self, pages: usize) -> Option<usize> {
        if let Some(i) = self.free.iter().position(|&(_, n)| n >= pages) {
            let (start, n) = self.free[i];
            if n == pages {
                self.free.remove(i);
            } else {
                self.free[i] = (start + pages, n - pages);
            }
            return Some(start);
        }
        (self.next + pages <= ARENA_PAGES).then(|| {
            self.next += pages;
            self.next - pages
        })
    }

    /// Returns a run, merging it with its free neighbours (and into the bump pointer).
    fn give_back(&mut self, start: usize, pages: usize) {
        let i = self.free.partition_point(|&(s, _)| s < start);
        self.free.insert(i, (start, pages));
        if i + 1 < self.free.len() && self.free[i].0 + self.free[i].1 == self.free[i + 1].0 {
            self.free[i].1 += self.free[i + 1].1;
            self.free.remove(i + 1);
        }
        if i > 0 && self.free[i - 1].0 + self.free[i - 1].1 == self.free[i].0 {
            self.free[i - 1].1 += self.free[i].1;
            self.free.remove(i);
        }
        if let Some(&(s, n)) = self.free.last()
            && s + n == self.next
        {
            self.next = s;
            self.free.pop();
        }
    }
}

/// Every arena; an index is stable (arenas are never unmapped).
static ARENAS: Mutex<Vec<Arena>> = Mutex::new(Vec::new());

fn os_error() -> JitError {
    JitError::Memory(std::io::Error::last_os_error().to_string())
}

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
        return Err(os_error());
    }
    Ok(p as *mut u8)
}

/// A new arena: a memfd of `len` bytes, mapped read-write and read-execute.
fn new_arena(len: usize) -> Result<Arena, JitError> {
    // SAFETY: a NUL-terminated name; the result is checked.
    let fd = unsafe { libc::memfd_create(c"kbpf-jit".as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(os_error());
    }
    let map = |prot| {
        // SAFETY: a shared mapping of the whole memfd with no address hint; checked.
        let p = unsafe { libc::mmap(std::ptr::null_mut(), len, prot, libc::MAP_SHARED, fd, 0) };
        if p == libc::MAP_FAILED { Err(os_error()) } else { Ok(p as usize) }
    };
    // SAFETY: `fd` is ours; `len` fits `off_t` (a few hundred pages).
    let r = if unsafe { libc::ftruncate(fd, len as libc::off_t) } != 0 {
        Err(os_error())
    } else {
        map(libc::PROT_READ | libc::PROT_WRITE).and_then(|rw| match map(libc::PROT_READ | libc::PROT_EXEC) {
            Ok(rx) => Ok(Arena { rw, rx, next: 0, free: Vec::new() }),
            Err(e) => {
                // SAFETY: the view just mapped, which nothing else knows of.
                unsafe { libc::munmap(rw as *mut libc::c_void, len) };
                Err(e)
            }
        })
    };
    // SAFETY: the mappings keep the memory; the descriptor is no longer needed.
    unsafe { libc::close(fd) };
    r
}

/// `pages` pages from an arena: `(read-write address, read-execute address, arena, first
/// page)`, or `None` when no arena can be made (the caller maps the code on its own).
fn arena_alloc(pages: usize, page: usize) -> Result<Option<(*mut u8, *mut u8, usize, usize)>, JitError> {
    let mut arenas = ARENAS.lock().map_err(|_| JitError::Memory("arena lock poisoned".into()))?;
    let at = |a: &Arena, i: usize, first: usize| {
        Some(((a.rw + first * page) as *mut u8, (a.rx + first * page) as *mut u8, i, first))
    };
    for (i, a) in arenas.iter_mut().enumerate() {
        if let Some(first) = a.take(pages) {
            return Ok(at(a, i, first));
        }
    }
    let Ok(mut a) = new_arena(ARENA_PAGES * page) else { return Ok(None) };
    let first = a.take(pages).ok_or_else(|| JitError::Memory("arena smaller than a program".into()))?;
    arenas.push(a);
    let i = arenas.len() - 1;
    Ok(at(&arenas[i], i, first))
}

/// Returns `pages` pages starting at `first` to arena `i`.
fn arena_free(i: usize, first: usize, pages: usize) {
    let Ok(mut arenas) = ARENAS.lock() else { return };
    if let Some(a) = arenas.get_mut(i) {
        a.give_back(first, pages);
    }
}

/// Where the pages of an [`ExecMemory`] come from.
#[derive(Debug)]
enum Pages {
    /// Arena `arena`, from page `first`: returned to it on drop.
    Arena { arena: usize, first: usize },
    /// A mapping of its own, unmapped on drop.
    Own,
}

/// A read-execute mapping holding finished machine code.
#[derive(Debug)]
pub struct ExecMemory {
    ptr: *mut u8,
    map_len: usize,
    code_len: usize,
    pages: Pages,
}

// SAFETY: the code is immutable (nothing writes the pages while the value lives) and owned
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

/// Copies `code` to `dst` and pads the rest of `len` bytes with int3, so that a stray jump
/// past the end traps.
///
/// # Safety
///
/// `dst` starts `len >= code.len()` writable bytes that nothing else uses.
unsafe fn fill(dst: *mut u8, len: usize, code: &[u8]) {
    // SAFETY: by the contract; `code` cannot overlap pages nothing else uses.
    unsafe {
        std::ptr::copy_nonoverlapping(code.as_ptr(), dst, code.len());
        std::ptr::write_bytes(dst.add(code.len()), 0xcc, len - code.len());
    }
}

impl ExecMemory {
    /// Copies `code` into read-execute memory: through an arena's read-write view, or into a
    /// mapping of its own that is then made read-execute.
    pub fn new(code: &[u8]) -> Result<ExecMemory, JitError> {
        let page = page_size();
        let pages = code.len().max(1).div_ceil(page);
        let map_len = pages * page;
        if DUAL_MAPPED
            && pages <= ARENA_PAGES / 4
            && let Some((rw, rx, arena, first)) = arena_alloc(pages, page)?
        {
            // SAFETY: the run's read-write view, handed to this value alone.
            unsafe { fill(rw, map_len, code) };
            return Ok(ExecMemory {
                ptr: rx,
                map_len,
                code_len: code.len(),
                pages: Pages::Arena { arena, first },
            });
        }
        let ptr = map_rw(map_len)?;
        // SAFETY: a fresh mapping of `map_len` bytes.
        unsafe { fill(ptr, map_len, code) };
        let mem = ExecMemory { ptr, map_len, code_len: code.len(), pages: Pages::Own };
        // SAFETY: `ptr`/`map_len` are whole pages owned by this value.
        let rc =
            unsafe { libc::mprotect(ptr as *mut libc::c_void, map_len, libc::PROT_READ | libc::PROT_EXEC) };
        if rc != 0 {
            let err = os_error();
            drop(mem);
            return Err(err);
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
        match self.pages {
            // no code in them can be running: running borrows the owning program
            Pages::Arena { arena, first } => arena_free(arena, first, self.map_len / page_size()),
            // SAFETY: a mapping of its own, owned by `self` alone; no code in it can be
            // running, since running borrows the owning program.
            Pages::Own => unsafe {
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
    fn never_writable_and_executable_and_pages_are_reused() {
        let page = page_size();
        // more compile/drop cycles than an arena has pages: freed pages are reused
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
        assert!(!DUAL_MAPPED || seen.len() < 3 * ARENA_PAGES, "{} distinct pages", seen.len());
        // a large program gets a mapping of its own, unmapped on drop
        let big = ExecMemory::new(&vec![0xc3; page * (ARENA_PAGES / 4 + 1)]).unwrap();
        assert!(matches!(big.pages, Pages::Own));
        assert!(perms_of(big.as_ptr() as usize).starts_with("r-x"));
    }

    #[test]
    fn free_runs_coalesce_into_the_bump_pointer() {
        let mut a = Arena { rw: 0, rx: 0, next: 0, free: Vec::new() };
        let (x, y, z) = (a.take(1).unwrap(), a.take(2).unwrap(), a.take(1).unwrap());
        assert_eq!((x, y, z, a.next), (0, 1, 3, 4));
        a.give_back(y, 2);
        assert_eq!(a.free, vec![(1, 2)]);
        assert_eq!(a.take(1), Some(1));
        assert_eq!(a.free, vec![(2, 1)]);
        a.give_back(x, 1);
        a.give_back(1, 1);
        assert_eq!(a.free, vec![(0, 3)]);
        a.give_back(z, 1);
        assert_eq!((a.next, a.free.len()), (0, 0));
        assert_eq!(a.take(ARENA_PAGES), Some(0));
        assert_eq!(a.take(1), None);
    }

    #[test]
    fn maps_and_reads_back() {
        let m = ExecMemory::new(&[0x90, 0xc3]).unwrap();
        assert_eq!(m.bytes(), &[0x90, 0xc3]);
        assert_eq!(m.len(), 2);
    }
}
