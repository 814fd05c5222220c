//! Program BTF for the kernel: a minimal type section and `func_info` built from kbpf's
//! function declarations, so the kernel learns each subprogram's argument count and linkage
//! (static or global) exactly as kbpf's verifier does from `.func` / ELF `func_info`.
//!
//! Every parameter is a 64-bit integer (what `.func NAME, N` declares), every function returns
//! one; the entry function's prototype has no parameters (a `void *ctx` would make the kernel
//! log `arg#0 reference type('UNKNOWN ') size cannot be determined`, which is about BTF, not
//! about the program). Subprograms the declarations omit get a static
//! 5-parameter prototype, because the kernel wants one `func_info` record per subprogram.

use std::os::fd::OwnedFd;

use kbpf_isa::RawInsn;
use serde::{Deserialize, Serialize};

use crate::errno::Errno;
use crate::sys::{self, Attr, Cmd};

/// A declared function: start slot, name, parameter count, linkage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CaseFunc {
    /// Slot index of the first instruction.
    pub pc: usize,
    /// Name (a C identifier).
    pub name: String,
    /// Parameter count.
    pub nargs: u32,
    /// Global linkage (verified separately by the kernel).
    #[serde(default)]
    pub global: bool,
}

const BTF_MAGIC: u16 = 0xeb9f;
const KIND_INT: u32 = 1;
const KIND_FUNC: u32 = 12;
const KIND_FUNC_PROTO: u32 = 13;
/// `BTF_INT_SIGNED` in the INT encoding word.
const INT_SIGNED: u32 = 1 << 24;

/// Type id of the fixed prefix: 1 = `long` (64-bit signed INT).
const T_LONG: u32 = 1;

/// A BTF blob under construction.
struct Builder {
    types: Vec<u8>,
    strings: Vec<u8>,
    next_id: u32,
}

impl Builder {
    fn new() -> Builder {
        Builder { types: Vec::new(), strings: vec![0], next_id: 1 }
    }

    fn name(&mut self, s: &str) -> u32 {
        let off = self.strings.len() as u32;
        self.strings.extend_from_slice(s.as_bytes());
        self.strings.push(0);
        off
    }

    /// Appends a `struct btf_type` header; returns its id.
    fn header(&mut self, name_off: u32, kind: u32, vlen: u32, size_or_type: u32) -> u32 {
        let info = (kind << 24) | (vlen & 0xffff);
        for w in [name_off, info, size_or_type] {
            self.types.extend_from_slice(&w.to_le_bytes());
        }
        self.next_id += 1;
        self.next_id - 1
    }

    fn word(&mut self, w: u32) {
        self.types.extend_from_slice(&w.to_le_bytes());
    }

    fn func(&mut self, f: &CaseFunc, entry: bool) -> u32 {
        let params: Vec<(u32, u32)> = if entry {
            Vec::new()
        } else {
            (0..f.nargs).map(|i| (self.name(&format!("a{}", i + 1)), T_LONG)).collect()
        };
        let proto = self.header(0, KIND_FUNC_PROTO, params.len() as u32, T_LONG);
        for (name, ty) in params {
            self.word(name);
            self.word(ty);
        }
        let name = self.name(&f.name);
        // a FUNC's vlen holds its linkage: 0 static, 1 global
        self.header(name, KIND_FUNC, u32::from(f.global || entry), proto)
    }

    fn finish(self) -> Vec<u8> {
        let hdr_len = 24u32;
        let mut out = Vec::with_capacity(24 + self.types.len() + self.strings.len());
        out.extend_from_slice(&BTF_MAGIC.to_le_bytes());
        out.push(1); // version
        out.push(0); // flags
        for w in [hdr_len, 0, self.types.len() as u32, self.types.len() as u32, self.strings.len() as u32] {
            out.extend_from_slice(&w.to_le_bytes());
        }
        out.extend_from_slice(&self.types);
        out.extend_from_slice(&self.strings);
        out
    }
}

/// Subprogram starts of `slots` as the kernel finds them: 0, pseudo-call targets and
/// `ld_imm64` function references.
pub fn subprog_starts(slots: &[RawInsn]) -> Vec<usize> {
    let mut starts = vec![0usize];
    for (i, s) in slots.iter().enumerate() {
        let call = s.call_kind() == Some(kbpf_isa::CallKind::Local);
        let func_ref = s.is_pseudo_func();
        if call || func_ref {
            let t = i as i64 + s.imm as i64 + 1;
            if let Ok(t) = usize::try_from(t)
                && t < slots.len()
            {
                starts.push(t);
            }
        }
    }
    starts.sort_unstable();
    starts.dedup();
    starts
}

/// The BTF blob and `func_info` records (`insn_off`, `type_id`) for `slots` with `funcs`.
pub fn program_btf(slots: &[RawInsn], funcs: &[CaseFunc]) -> (Vec<u8>, Vec<[u32; 2]>) {
    let mut b = Builder::new();
    let long = b.name("long");
    b.header(long, KIND_INT, 0, 8);
    b.word(INT_SIGNED | 64);
    let mut info = Vec::new();
    for pc in subprog_starts(slots) {
        let f = funcs.iter().find(|f| f.pc == pc).cloned().unwrap_or_else(|| CaseFunc {
            pc,
            name: if pc == 0 { "prog".to_string() } else { format!("sub_{pc}") },
            nargs: 5,
            global: false,
        });
        let id = b.func(&f, pc == 0);
        info.push([pc as u32, id]);
    }
    (b.finish(), info)
}

/// `BPF_BTF_LOAD`: loads `blob`; on failure the errno and the kernel's BTF log.
pub fn load_btf(blob: &[u8]) -> Result<OwnedFd, (Errno, String)> {
    let mut log = vec![0u8; 64 << 10];
    let mut a = Attr::new();
    a.put_u64(0, sys::addr(blob.as_ptr()));
    a.put_u64(8, sys::addr(log.as_mut_ptr()));
    a.put_u32(16, blob.len() as u32);
    a.put_u32(20, log.len() as u32);
    a.put_u32(24, 1);
    // `blob` and `log` outlive the call; their sizes are the ones stored above.
    match sys::bpf(Cmd::BtfLoad, &mut a) {
        Ok(fd) => sys::own_fd(fd).ok_or((Errno::from_raw(9), String::new())),
        Err(e) => {
            let end = log.iter().position(|&c| c == 0).unwrap_or(log.len());
            Err((e, String::from_utf8_lossy(&log[..end]).into_owned()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(off: i32) -> RawInsn {
        RawInsn { code: 0x85, dst: 0, src: 1, off: 0, imm: off }
    }

    #[test]
    fn starts_and_records() {
        let exit = RawInsn { code: 0x95, dst: 0, src: 0, off: 0, imm: 0 };
        let slots = [call(1), exit, exit];
        assert_eq!(subprog_starts(&slots), [0, 2]);
        let funcs = [CaseFunc { pc: 2, name: "g".into(), nargs: 2, global: true }];
        let (blob, info) = program_btf(&slots, &funcs);
        assert_eq!(info.len(), 2);
        assert_eq!(info[0][0], 0);
        assert_eq!(info[1][0], 2);
        assert_eq!(&blob[..2], &BTF_MAGIC.to_le_bytes());
        // types: long, proto(prog), FUNC prog, proto(g), FUNC g
        assert_eq!(info[1][1], 5);
    }
}
