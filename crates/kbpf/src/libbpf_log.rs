//! libbpf's rewriting of a failed load's log.
//!
//! libbpf turns what it could not resolve into instructions the kernel refuses: a failed CO-RE
//! relocation becomes a call to helper `0xbad2310`, a call of an unresolved weak kfunc a call
//! to helper `2002000000 + extern index`. When the kernel refuses such a call, libbpf replaces
//! the two log lines it produced (`N: (85) call unknown#ID` and `invalid func unknown#ID`) with
//! its own explanation. A program loaded from an ELF object is a libbpf load, so its log (and
//! the error line a user or veristat reads) carries libbpf's words; the kernel's typed
//! rejection stays what [`VerifyError::reject`] says.

use kbpf_elf::POISON_CALL_KFUNC_BASE;
use kbpf_elf::core::POISON_HELPER;
use kbpf_verifier::{Reject, VerifyError};

use crate::source::Module;

/// libbpf looks this many lines back from the end of the log.
const LAST_LINES: usize = 10;

/// What the loader poisoned in one program, for the log rewrite.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Poisons {
    /// Failed CO-RE relocations: the poisoned instruction's slot in the loaded program and the
    /// relocation's local spec as libbpf formats it.
    pub core: Vec<(usize, String)>,
    /// The object's extern names by extern index (a poisoned kfunc call carries the index).
    pub externs: Vec<String>,
}

impl Poisons {
    /// libbpf's two replacement lines for the refused call to helper `id` at slot `insn`, when
    /// the call is one it poisoned.
    pub fn rewrite(&self, insn: usize, id: i32) -> Option<[String; 2]> {
        if id == POISON_HELPER {
            let (_, spec) = self.core.iter().find(|(at, _)| *at == insn)?;
            // libbpf formats the spec into 256 bytes (255 and a NUL) and marks a cut with "..."
            let more = if spec.len() >= 256 { "..." } else { "" };
            let spec = truncate(spec, 255);
            return Some([
                format!("{insn}: <invalid CO-RE relocation>"),
                format!("failed to resolve CO-RE relocation {spec}{more}"),
            ]);
        }
        let idx = usize::try_from(id.checked_sub(POISON_CALL_KFUNC_BASE)?).ok()?;
        let name = self.externs.get(idx)?;
        Some([
            format!("{insn}: <invalid kfunc call>"),
            format!("kfunc '{name}' is referenced but wasn't resolved"),
        ])
    }

    /// The replacement lines for `err`, when it is the refusal of a poisoned call.
    fn for_error(&self, err: &VerifyError) -> Option<[String; 2]> {
        match err.reject() {
            Reject::InvalidFunc(_, id) => self.rewrite(err.insn()?, *id),
            _ => None,
        }
    }

    /// Rewrites `log` as libbpf does after a failed load: the instruction line and the error
    /// line of a refused poisoned call, looked for among the last lines only.
    pub(crate) fn fixup_log(&self, err: &VerifyError, log: &mut String) {
        let Some(new) = self.for_error(err) else { return };
        let lines: Vec<&str> = log.split_inclusive('\n').collect();
        let error = err.message();
        let from = lines.len().saturating_sub(LAST_LINES);
        let Some(at) = (from.max(1)..lines.len()).rev().find(|&i| lines[i].trim_end_matches('\n') == error)
        else {
            return;
        };
        // libbpf checks that the line before names the poisoned instruction
        let insn = lines[at - 1].split(':').next().and_then(|n| n.trim().parse::<usize>().ok());
        if insn != err.insn() {
            return;
        }
        let mut out = String::with_capacity(log.len() + 64);
        lines[..at - 1].iter().for_each(|l| out.push_str(l));
        for l in &new {
            out.push_str(l);
            out.push('\n');
        }
        lines[at + 1..].iter().for_each(|l| out.push_str(l));
        *log = out;
    }
}

/// The last error line of `module`'s failed load as a user of libbpf reads it: libbpf's
/// rewrite of a refused poisoned call, else `None` (the kernel's line stands).
pub fn libbpf_error_line(module: &Module, err: &VerifyError) -> Option<String> {
    let [_, line] = module.elf.as_ref()?.poisons.for_error(err)?;
    Some(line)
}

fn truncate(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn poisons() -> Poisons {
        Poisons {
            core: vec![(7, "<byte_off> [5] struct s.a (0:0 @ offset 0)".into())],
            externs: vec!["bpf_iter_num_new".into(), "bpf_nonexistent_kfunc".into()],
        }
    }

    #[test]
    fn a_failed_core_relocation_is_named() {
        let err = VerifyError::new(Some(7), Reject::InvalidFunc("unknown".into(), POISON_HELPER));
        let mut log = "0: (b7) r1 = 0\n7: (85) call unknown#195896080\ninvalid func unknown#195896080\n\
                       processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n"
            .to_string();
        poisons().fixup_log(&err, &mut log);
        assert_eq!(
            log,
            "0: (b7) r1 = 0\n7: <invalid CO-RE relocation>\n\
             failed to resolve CO-RE relocation <byte_off> [5] struct s.a (0:0 @ offset 0)\n\
             processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0\n"
        );
    }

    #[test]
    fn a_long_spec_is_cut_as_libbpf_cuts_it() {
        let fits = "s".repeat(255);
        let long = "s".repeat(300);
        let p = Poisons { core: vec![(1, fits.clone()), (2, long)], externs: vec![] };
        assert_eq!(
            p.rewrite(1, POISON_HELPER).unwrap()[1],
            format!("failed to resolve CO-RE relocation {fits}")
        );
        assert_eq!(
            p.rewrite(2, POISON_HELPER).unwrap()[1],
            format!("failed to resolve CO-RE relocation {fits}...")
        );
    }

    #[test]
    fn an_unresolved_kfunc_is_named() {
        let id = POISON_CALL_KFUNC_BASE + 1;
        let err = VerifyError::new(Some(3), Reject::InvalidFunc("unknown".into(), id));
        assert_eq!(
            poisons().for_error(&err).unwrap()[1],
            "kfunc 'bpf_nonexistent_kfunc' is referenced but wasn't resolved"
        );
    }

    #[test]
    fn other_refusals_and_foreign_ids_stay_the_kernels() {
        let p = poisons();
        // a poisoned helper id at an instruction libbpf did not poison
        assert!(p.rewrite(8, POISON_HELPER).is_none());
        // an extern index past the object's
        assert!(p.rewrite(3, POISON_CALL_KFUNC_BASE + 2).is_none());
        // an ordinary unknown helper
        assert!(p.rewrite(3, 999).is_none());
        let mut log = "3: (85) call unknown#999\ninvalid func unknown#999\n".to_string();
        let before = log.clone();
        p.fixup_log(&VerifyError::new(Some(3), Reject::InvalidFunc("unknown".into(), 999)), &mut log);
        assert_eq!(log, before);
    }
}
