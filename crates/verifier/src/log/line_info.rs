//! The program's BTF line info and func_info as the verifier sees them: the kernel's checks of
//! the records (`check_btf_func`, `check_btf_line`) and the source-line comments of the log
//! (`verbose_linfo`: `; <line> @ <file>:<n>`, printed where the kernel prints them).

use crate::log::Log;
use crate::messages::BtfInfoReject;
use kbpf_isa::{Decoded, FuncDecl, SlotTable};

/// One `bpf_line_info` record with its strings resolved.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct LineInfo {
    /// Instruction (slot) the line starts at.
    pub insn_off: u32,
    /// Source file as recorded (`None`: the string offset is not in the BTF).
    pub file: Option<String>,
    /// Source line text (`None`: the string offset is not in the BTF).
    pub line: Option<String>,
    /// Line number.
    pub line_num: u32,
    /// Column.
    pub column: u32,
}

/// The func_info checks that need only the records (`prepare_btf_func`), then those against
/// the subprogram starts (`check_btf_func`). `funcs` are the program's complete func_info.
pub(crate) fn check_func_info(funcs: &[FuncDecl], starts: &[usize]) -> Result<(), BtfInfoReject> {
    let mut prev = 0u32;
    for (i, f) in funcs.iter().enumerate() {
        let off = u32::try_from(f.pc).unwrap_or(u32::MAX);
        if i == 0 && off != 0 {
            return Err(BtfInfoReject::FuncFirstNonzero(off));
        }
        if i > 0 && off <= prev {
            return Err(BtfInfoReject::FuncOrder(off, prev));
        }
        prev = off;
    }
    if funcs.is_empty() {
        return Ok(());
    }
    if funcs.len() != starts.len() {
        return Err(BtfInfoReject::FuncCount);
    }
    if funcs.iter().zip(starts).any(|(f, &s)| f.pc != s) {
        return Err(BtfInfoReject::FuncLayout);
    }
    Ok(())
}

/// `check_btf_line`: offsets strictly increasing and inside the program, on an instruction
/// (not the second half of an `ld_imm64`), strings present, and every subprogram's first
/// instruction starting a record.
pub(crate) fn check_line_info(
    lines: &[LineInfo],
    slots: &SlotTable<'_>,
    starts: &[usize],
) -> Result<(), BtfInfoReject> {
    let mut prev = 0u32;
    let mut s = 0usize;
    for (i, l) in lines.iter().enumerate() {
        let off = l.insn_off;
        if (i > 0 && off <= prev) || off as usize >= slots.len() {
            return Err(BtfInfoReject::LineInsnOff { index: i, off, prev, len: slots.len() });
        }
        // the kernel refuses a zero opcode byte: an `ld_imm64` tail, or a slot the table could
        // not decode whose opcode byte is zero (no instruction has opcode 0)
        let zero = match slots.get(off as usize) {
            Some(Decoded::Insn(_)) => false,
            Some(Decoded::Tail) => true,
            _ => slots.raw()[off as usize].code == 0,
        };
        if zero {
            return Err(BtfInfoReject::LineInsnCode(i));
        }
        if l.line.is_none() || l.file.is_none() {
            return Err(BtfInfoReject::LineStrings(i));
        }
        if let Some(&start) = starts.get(s) {
            if off as usize == start {
                s += 1;
            } else if start < off as usize {
                return Err(BtfInfoReject::LineMissingFunc(s));
            }
        }
        prev = off;
    }
    if !lines.is_empty() && s != starts.len() {
        return Err(BtfInfoReject::LineMissingFuncs(starts.len() - s, s));
    }
    Ok(())
}

/// `find_linfo`: the last record starting at or before `insn`.
fn find(lines: &[LineInfo], prog_len: usize, insn: usize) -> Option<usize> {
    if lines.is_empty() || insn >= prog_len {
        return None;
    }
    let after = lines.partition_point(|l| l.insn_off as usize <= insn);
    Some(after.saturating_sub(1))
}

/// `verbose_linfo`: prints `prefix`, the source line of `insn` without its leading whitespace
/// and ` @ <file name>:<line>`, unless it is the record printed last or names the same file
/// and line number (records differing only in column).
pub(crate) fn verbose_linfo(log: &mut Log, lines: &[LineInfo], prog_len: usize, insn: usize, prefix: &str) {
    if log.level == 0 {
        return;
    }
    let Some(i) = find(lines, prog_len, insn) else { return };
    let rec = &lines[i];
    if let Some(p) = log.prev_linfo {
        if p == i {
            return;
        }
        if lines.get(p).is_some_and(|q| q.file == rec.file && q.line_num == rec.line_num) {
            return;
        }
    }
    log.put(&format!("{prefix}{}\n", rec.source()));
    log.prev_linfo = Some(i);
}

impl LineInfo {
    /// `<line without leading whitespace> @ <file name without directories>:<line number>`,
    /// the text after `; ` in the kernel's log.
    pub fn source(&self) -> String {
        let text =
            self.line.as_deref().unwrap_or("").trim_start_matches([' ', '\t', '\n', '\x0b', '\x0c', '\r']);
        let file = self.file.as_deref().unwrap_or("");
        let base = file.rsplit('/').next().unwrap_or(file);
        format!("{text} @ {base}:{}", self.line_num)
    }
}

/// The source comment above each of `prog_len` slots, as a straight walk of the program
/// would print them in the log (a line once, until another line is printed): for listings.
pub fn source_comments(lines: &[LineInfo], prog_len: usize) -> Vec<Option<String>> {
    let mut log = Log { level: crate::log::LEVEL1, ..Log::default() };
    (0..prog_len)
        .map(|i| {
            log.buf.clear();
            verbose_linfo(&mut log, lines, prog_len, i, "");
            log.buf.strip_suffix('\n').map(str::to_string)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log::LEVEL1;

    fn rec(off: u32, line: &str, n: u32, col: u32) -> LineInfo {
        LineInfo {
            insn_off: off,
            file: Some("./dir/a.c".into()),
            line: Some(line.into()),
            line_num: n,
            column: col,
        }
    }

    #[test]
    fn prints_once_per_line_and_skips_column_changes() {
        let lines = [rec(0, "\tint x = 1;", 3, 2), rec(2, "  x++;", 4, 1), rec(3, "  x++;", 4, 5)];
        let mut log = Log { level: LEVEL1, ..Log::default() };
        for i in 0..5 {
            verbose_linfo(&mut log, &lines, 5, i, "; ");
        }
        assert_eq!(log.buf, "; int x = 1; @ a.c:3\n; x++; @ a.c:4\n");
        assert_eq!(log.prev_linfo, Some(1));
        verbose_linfo(&mut log, &lines, 5, 9, "; ");
        assert_eq!(log.prev_linfo, Some(1));
        let c = source_comments(&lines, 5);
        assert_eq!(c[0].as_deref(), Some("int x = 1; @ a.c:3"));
        assert_eq!((c[1].as_deref(), c[3].as_deref()), (None, None));
        assert_eq!(c[2].as_deref(), Some("x++; @ a.c:4"));
    }

    #[test]
    fn record_checks() {
        let insn = |code| kbpf_isa::RawInsn { code, dst: 0, src: 0, off: 0, imm: 0 };
        let raw = [insn(0xb7), insn(0x18), insn(0), insn(0x95)];
        let slots = SlotTable::new(&raw);
        assert_eq!(check_line_info(&[rec(0, "a", 1, 0), rec(3, "b", 2, 0)], &slots, &[0]), Ok(()));
        assert_eq!(
            check_line_info(&[rec(0, "a", 1, 0), rec(0, "b", 2, 0)], &slots, &[0]),
            Err(BtfInfoReject::LineInsnOff { index: 1, off: 0, prev: 0, len: 4 })
        );
        assert_eq!(
            check_line_info(&[rec(0, "a", 1, 0), rec(2, "b", 2, 0)], &slots, &[0]),
            Err(BtfInfoReject::LineInsnCode(1))
        );
        // a malformed slot with a zero opcode byte is refused as well
        let raw = [insn(0xb7), kbpf_isa::RawInsn { code: 0, dst: 1, src: 0, off: 0, imm: 0 }, insn(0x95)];
        assert_eq!(
            check_line_info(&[rec(0, "a", 1, 0), rec(1, "b", 2, 0)], &SlotTable::new(&raw), &[0]),
            Err(BtfInfoReject::LineInsnCode(1))
        );
        assert_eq!(
            check_line_info(&[rec(1, "a", 1, 0)], &slots, &[0]),
            Err(BtfInfoReject::LineMissingFunc(0))
        );
        assert_eq!(
            check_line_info(&[rec(0, "a", 1, 0)], &slots, &[0, 3]),
            Err(BtfInfoReject::LineMissingFuncs(1, 1))
        );
        let f = |pc| FuncDecl {
            pc,
            name: "f".into(),
            nargs: 0,
            global: false,
            ret_scalar: true,
            exception_cb: false,
            params: Vec::new(),
        };
        assert_eq!(check_func_info(&[f(1)], &[0]), Err(BtfInfoReject::FuncFirstNonzero(1)));
        assert_eq!(check_func_info(&[f(0), f(0)], &[0]), Err(BtfInfoReject::FuncOrder(0, 0)));
        assert_eq!(check_func_info(&[f(0)], &[0, 3]), Err(BtfInfoReject::FuncCount));
        assert_eq!(check_func_info(&[f(0), f(2)], &[0, 3]), Err(BtfInfoReject::FuncLayout));
    }
}
