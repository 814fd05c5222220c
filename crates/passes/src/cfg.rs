//! CFG check (`check_cfg`): iterative DFS from insn 0 that rejects unreachable instructions,
//! back-edges (unprivileged only) and jumps into the middle of an ld_imm64, and marks prune
//! points, jump-history points and forced checkpoints for the main walk.

use crate::error::{PassError, PassErrorKind as K};
use crate::shape::{Flow, shape};
use kbpf_isa::{BpfFunc, CallKind, SlotTable};

const DISCOVERED: u8 = 0x10;
const EXPLORED: u8 = 0x20;
const FALLTHROUGH: u8 = 1;
const BRANCH: u8 = 2;

/// Per-instruction marks written by the CFG walk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InsnMarks {
    /// `is_state_visited` runs here.
    pub prune_point: bool,
    /// A jump-history entry is recorded when the walk arrives here.
    pub jmp_point: bool,
    /// A checkpoint is always added here (may_goto, callback-calling helpers).
    pub force_checkpoint: bool,
    /// A helper call that invokes a callback.
    pub calls_callback: bool,
}

/// Result of the CFG check.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Cfg {
    /// One entry per slot.
    pub marks: Vec<InsnMarks>,
}

enum Step {
    Done,
    Keep,
}

struct Walk<'a> {
    slots: &'a SlotTable<'a>,
    state: Vec<u8>,
    stack: Vec<usize>,
    marks: Vec<InsnMarks>,
    privileged: bool,
}

impl Walk<'_> {
    fn push(&mut self, t: usize, w: i64, e: u8) -> Result<Step, PassError> {
        if e == FALLTHROUGH && self.state[t] >= (DISCOVERED | FALLTHROUGH) {
            return Ok(Step::Done);
        }
        if e == BRANCH && self.state[t] >= (DISCOVERED | BRANCH) {
            return Ok(Step::Done);
        }
        if w < 0 || w >= self.slots.len() as i64 {
            return Err(PassError::new(t, K::JumpOutOfRange { from: t, to: w }));
        }
        let w = w as usize;
        if e == BRANCH {
            self.marks[w].prune_point = true;
            self.marks[w].jmp_point = true;
        }
        if self.state[w] == 0 {
            self.state[t] = DISCOVERED | e;
            self.state[w] = DISCOVERED;
            self.stack.push(w);
            return Ok(Step::Keep);
        } else if self.state[w] & 0xf0 == DISCOVERED {
            if self.privileged {
                return Ok(Step::Done);
            }
            return Err(PassError::new(t, K::BackEdge { from: t, to: w }));
        } else if self.state[w] == EXPLORED {
            self.state[t] = DISCOVERED | e;
        } else {
            return Err(PassError::new(t, K::Bug("insn state internal bug")));
        }
        Ok(Step::Done)
    }

    /// A call or a subprogram reference; `callee` is its relative target when the walk enters it.
    fn visit_call(&mut self, t: usize, sz: usize, callee: Option<i32>) -> Result<Step, PassError> {
        let s = self.push(t, (t + sz) as i64, FALLTHROUGH)?;
        if let Step::Keep = s {
            return Ok(s);
        }
        if let Some(m) = self.marks.get_mut(t + sz) {
            m.prune_point = true;
            m.jmp_point = true;
        }
        if let Some(imm) = callee {
            self.marks[t].prune_point = true;
            return self.push(t, t as i64 + imm as i64 + 1, BRANCH);
        }
        Ok(s)
    }

    fn visit(&mut self, t: usize) -> Result<Step, PassError> {
        let s = shape(self.slots, t);
        match s.flow {
            Flow::FuncRef(imm) => self.visit_call(t, s.len, Some(imm)),
            Flow::Next => self.push(t, (t + s.len) as i64, FALLTHROUGH),
            Flow::Exit => Ok(Step::Done),
            Flow::Call { kind, imm } => {
                let helper = if kind == Some(CallKind::Helper) { BpfFunc::from_id(imm) } else { None };
                if helper == Some(BpfFunc::TimerSetCallback) {
                    self.marks[t].prune_point = true;
                }
                if helper.is_some_and(BpfFunc::calls_sync_callback) {
                    let m = &mut self.marks[t];
                    m.calls_callback = true;
                    m.force_checkpoint = true;
                    m.prune_point = true;
                    m.jmp_point = true;
                }
                self.visit_call(t, s.len, (kind == Some(CallKind::Local)).then_some(imm))
            }
            Flow::Goto(off) => {
                let w = t as i64 + off + 1;
                let s = self.push(t, w, FALLTHROUGH)?;
                if let Step::Keep = s {
                    return Ok(s);
                }
                if w >= 0 && (w as usize) < self.marks.len() {
                    self.marks[w as usize].prune_point = true;
                    self.marks[w as usize].jmp_point = true;
                }
                Ok(s)
            }
            Flow::Cond { off, may_goto } => {
                self.marks[t].prune_point = true;
                if may_goto {
                    self.marks[t].force_checkpoint = true;
                }
                let s = self.push(t, t as i64 + 1, FALLTHROUGH)?;
                if let Step::Keep = s {
                    return Ok(s);
                }
                self.push(t, t as i64 + off + 1, BRANCH)
            }
        }
    }
}

/// Runs the CFG check. `privileged` = CAP_BPF (back-edges allowed).
pub fn check_cfg(slots: &SlotTable<'_>, privileged: bool) -> Result<Cfg, PassError> {
    check_cfg_with(slots, privileged, None)
}

/// [`check_cfg`] with the exception callback as a second root: no call reaches it, so the
/// kernel walks it after the main program's depth-first search.
pub fn check_cfg_with(
    slots: &SlotTable<'_>,
    privileged: bool,
    exception_cb: Option<usize>,
) -> Result<Cfg, PassError> {
    let n = slots.len();
    if n == 0 {
        return Ok(Cfg::default());
    }
    let mut w =
        Walk { slots, state: vec![0; n], stack: vec![0], marks: vec![InsnMarks::default(); n], privileged };
    w.state[0] = DISCOVERED;
    let mut roots = exception_cb.filter(|&t| t > 0 && t < n).into_iter();
    loop {
        while let Some(&t) = w.stack.last() {
            match w.visit(t)? {
                Step::Done => {
                    w.state[t] = EXPLORED;
                    w.stack.pop();
                }
                Step::Keep => {}
            }
        }
        match roots.next() {
            Some(t) if w.state[t] != EXPLORED => {
                w.state[t] = DISCOVERED;
                w.stack.push(t);
            }
            Some(_) => {}
            None => break,
        }
    }
    let mut i = 0;
    while i < n {
        if w.state[i] != EXPLORED {
            return Err(PassError::new(i, K::Unreachable(i)));
        }
        // an `ld_imm64`, well formed or not, covers the next slot
        if shape(slots, i).len == 2 {
            if i + 1 < n && w.state[i + 1] != 0 {
                return Err(PassError::new(i, K::JumpIntoLdImm64(i)));
            }
            i += 1;
        }
        i += 1;
    }
    Ok(Cfg { marks: w.marks })
}

#[cfg(test)]
mod tests {
    use super::*;
    use kbpf_isa::RawInsn;

    fn r(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> RawInsn {
        RawInsn::new(code, dst, src, off, imm)
    }
    const EXIT: (u8, u8, u8, i16, i32) = (0x95, 0, 0, 0, 0);
    fn p(v: &[(u8, u8, u8, i16, i32)]) -> Vec<RawInsn> {
        v.iter().map(|&(c, d, s, o, i)| r(c, d, s, o, i)).collect()
    }

    #[test]
    fn unreachable_and_backedge() {
        let prog = p(&[(0xb7, 0, 0, 0, 0), EXIT, EXIT]);
        assert_eq!(check_cfg(&SlotTable::new(&prog), true).unwrap_err().to_string(), "unreachable insn 2");
        let prog = p(&[(0xb7, 0, 0, 0, 0), (0x05, 0, 0, -2, 0), EXIT]);
        assert_eq!(
            check_cfg(&SlotTable::new(&prog), false).unwrap_err().to_string(),
            "back-edge from insn 1 to 0"
        );
        // privileged: the loop is fine but insn 2 is unreachable
        assert_eq!(check_cfg(&SlotTable::new(&prog), true).unwrap_err().to_string(), "unreachable insn 2");
        let prog = p(&[(0xb7, 0, 0, 0, 0), (0x15, 0, 0, -2, 0), EXIT]);
        check_cfg(&SlotTable::new(&prog), true).unwrap();
    }

    #[test]
    fn ldimm64_middle_and_marks() {
        let prog = p(&[(0x15, 1, 0, 1, 0), (0x18, 0, 0, 0, 1), (0, 0, 0, 0, 0), EXIT]);
        assert_eq!(
            check_cfg(&SlotTable::new(&prog), true).unwrap_err().to_string(),
            "jump into the middle of ldimm64 insn 1"
        );
        let prog = p(&[(0xb7, 0, 0, 0, 0), (0x15, 1, 0, 1, 0), (0xb7, 0, 0, 0, 1), EXIT]);
        let cfg = check_cfg(&SlotTable::new(&prog), true).unwrap();
        assert!(cfg.marks[1].prune_point && !cfg.marks[1].jmp_point);
        assert!(cfg.marks[3].prune_point && cfg.marks[3].jmp_point);
        assert!(!cfg.marks[2].prune_point);
        let prog = p(&[(0xe5, 0, 0, 1, 0), (0xb7, 0, 0, 0, 1), (0xb7, 0, 0, 0, 0), EXIT]);
        let cfg = check_cfg(&SlotTable::new(&prog), true).unwrap();
        assert!(cfg.marks[0].force_checkpoint);
    }

    #[test]
    fn calls() {
        let prog = p(&[(0x85, 0, 1, 0, 2), (0xb7, 0, 0, 0, 0), EXIT, (0xb7, 0, 0, 0, 1), EXIT]);
        let cfg = check_cfg(&SlotTable::new(&prog), true).unwrap();
        assert!(cfg.marks[0].prune_point);
        assert!(cfg.marks[1].prune_point && cfg.marks[1].jmp_point);
        assert!(cfg.marks[3].prune_point);
    }
}
