//! Subprogram discovery (`add_subprogs`) and per-subprogram jump checks (`check_subprogs`).

use crate::error::{PassError, PassErrorKind as K};
use crate::shape::{Flow, shape};
use kbpf_isa::{BpfFunc, CallKind, SlotIdx, SlotTable};

/// Most subprograms per program (`BPF_MAX_SUBPROGS`).
pub const MAX_SUBPROGS: usize = 256;

/// One subprogram: `[start, end)` in slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Subprog {
    /// First slot.
    pub start: SlotIdx,
    /// One past the last slot (the next subprog's start).
    pub end: SlotIdx,
    /// Contains a `bpf_tail_call`.
    pub has_tail_call: bool,
    /// Contains LD_ABS/LD_IND.
    pub has_ld_abs: bool,
}

/// The subprogram table, sorted by start; subprog 0 is the main program.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Subprogs {
    /// Entries in start order.
    pub list: Vec<Subprog>,
}

impl Subprog {
    /// Its slots, for indexing slot-sized tables.
    pub fn slots(&self) -> std::ops::Range<usize> {
        self.start.index()..self.end.index()
    }
}

impl Subprogs {
    /// Index of the subprogram containing `insn`.
    pub fn of_insn(&self, insn: SlotIdx) -> usize {
        self.list.partition_point(|s| s.start <= insn).saturating_sub(1)
    }

    /// Index of the subprogram starting exactly at `insn`.
    pub fn starting_at(&self, insn: SlotIdx) -> Option<usize> {
        self.list.binary_search_by_key(&insn, |s| s.start).ok()
    }

    /// Number of subprograms.
    pub fn len(&self) -> usize {
        self.list.len()
    }

    /// Whether the table is empty (never, after discovery).
    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// The `func#N @start` header lines the level-2 log starts with.
    pub fn log_lines(&self) -> String {
        self.list.iter().enumerate().map(|(i, s)| format!("func#{i} @{}\n", s.start)).collect()
    }
}

/// Finds subprogram starts: insn 0, every pseudo-call target and every `ld_imm64` function reference.
/// kfunc calls are only noted by the caller (they need a registry to resolve).
/// Every slot is read, `ld_imm64` tails included, as the kernel's loop does.
pub fn add_subprogs(slots: &SlotTable<'_>) -> Result<Subprogs, PassError> {
    add_subprogs_with(slots, None)
}

/// [`add_subprogs`] plus the exception callback's start (found from BTF, not from a call, and
/// added after the scan like `add_subprog_and_kfunc` does; a start out of range adds nothing).
pub fn add_subprogs_with(slots: &SlotTable<'_>, exception_cb: Option<usize>) -> Result<Subprogs, PassError> {
    let n = slots.len();
    let mut starts: Vec<usize> = vec![0];
    for i in 0..n {
        let imm = match shape(slots, i).flow {
            Flow::FuncRef(imm) | Flow::Call { kind: Some(CallKind::Local), imm } => imm,
            _ => continue,
        };
        let target = i as i64 + imm as i64 + 1;
        if target < 0 || target >= n as i64 {
            return Err(PassError::new(i, K::InvalidCallDest));
        }
        let t = target as usize;
        if let Err(pos) = starts.binary_search(&t) {
            if starts.len() >= MAX_SUBPROGS {
                return Err(PassError::new(i, K::TooManySubprogs));
            }
            starts.insert(pos, t);
        }
    }
    if let Some(t) = exception_cb.filter(|&t| t < n)
        && let Err(pos) = starts.binary_search(&t)
    {
        if starts.len() >= MAX_SUBPROGS {
            return Err(PassError::new(t, K::TooManySubprogs));
        }
        starts.insert(pos, t);
    }
    let list = starts
        .iter()
        .enumerate()
        .map(|(k, &s)| Subprog {
            start: SlotIdx::new(s),
            end: SlotIdx::new(starts.get(k + 1).copied().unwrap_or(n)),
            has_tail_call: false,
            has_ld_abs: false,
        })
        .collect();
    Ok(Subprogs { list })
}

/// Every jump must stay inside its subprogram and every subprogram must end in `exit` or `ja`.
pub fn check_subprogs(slots: &SlotTable<'_>, subprogs: &mut Subprogs) -> Result<(), PassError> {
    for sp in subprogs.list.iter_mut() {
        for i in sp.slots() {
            let s = shape(slots, i);
            if s.flow == (Flow::Call { kind: Some(CallKind::Helper), imm: BpfFunc::TailCall.id() }) {
                sp.has_tail_call = true;
            }
            if s.ld_abs {
                sp.has_ld_abs = true;
            }
            if let Flow::Goto(off) | Flow::Cond { off, .. } = s.flow {
                let to = i as i64 + off + 1;
                if to < sp.start.index() as i64 || to >= sp.end.index() as i64 {
                    return Err(PassError::new(i, K::JumpOutOfRange { from: i, to }));
                }
            }
            if i + 1 == sp.end.index() && !s.ends_subprog {
                return Err(PassError::new(i, K::LastInsnNotExit));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbpf_isa::RawInsn;

    fn r(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> RawInsn {
        RawInsn::new(code, dst, src, off, imm)
    }

    #[test]
    fn discovery_and_checks() {
        // r1 = 3; call pc+1; exit; r0 = r1; exit
        let p = [
            r(0xb7, 1, 0, 0, 3),
            r(0x85, 0, 1, 0, 1),
            r(0x95, 0, 0, 0, 0),
            r(0xbf, 0, 1, 0, 0),
            r(0x95, 0, 0, 0, 0),
        ];
        let mut s = add_subprogs(&SlotTable::new(&p)).unwrap();
        assert_eq!(
            s.list.iter().map(|s| (s.start.index(), s.end.index())).collect::<Vec<_>>(),
            vec![(0, 3), (3, 5)]
        );
        check_subprogs(&SlotTable::new(&p), &mut s).unwrap();
        assert_eq!(s.log_lines(), "func#0 @0\nfunc#1 @3\n");
        assert_eq!(s.of_insn(SlotIdx::new(4)), 1);
    }

    #[test]
    fn errors() {
        let p = [r(0x05, 0, 0, 5, 0), r(0x95, 0, 0, 0, 0)];
        let mut s = add_subprogs(&SlotTable::new(&p)).unwrap();
        assert_eq!(
            check_subprogs(&SlotTable::new(&p), &mut s).unwrap_err().to_string(),
            "jump out of range from insn 0 to 6"
        );
        let p = [r(0xb7, 0, 0, 0, 0)];
        let mut s = add_subprogs(&SlotTable::new(&p)).unwrap();
        assert_eq!(
            check_subprogs(&SlotTable::new(&p), &mut s).unwrap_err().to_string(),
            "last insn is not an exit or jmp"
        );
        let p = [r(0x85, 0, 1, 0, 7), r(0x95, 0, 0, 0, 0)];
        assert_eq!(add_subprogs(&SlotTable::new(&p)).unwrap_err().to_string(), "call to invalid destination");
        // A subprog that falls into the next one.
        let p = [r(0x85, 0, 1, 0, 1), r(0xb7, 0, 0, 0, 0), r(0x95, 0, 0, 0, 0)];
        let mut s = add_subprogs(&SlotTable::new(&p)).unwrap();
        assert_eq!(
            check_subprogs(&SlotTable::new(&p), &mut s).unwrap_err().to_string(),
            "last insn is not an exit or jmp"
        );
    }
}
