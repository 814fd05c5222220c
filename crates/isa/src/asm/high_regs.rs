//! `r12`..`r15` (and `w12`..`w15`): register numbers the 4-bit fields can hold but no
//! instruction may use. The lenient assembler keeps them so that the verifier answers
//! `R12 is invalid` as the kernel does; [`crate::Reg`] cannot name them, so the line is parsed
//! with stand-in registers and the fields are patched in the encoded slot.

use super::lexer::Tok;
use super::parse::{self, Parsed};

/// Register fields to overwrite in an instruction's first slot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct RegPatch {
    pub dst: Option<u8>,
    pub src: Option<u8>,
}

impl RegPatch {
    /// Applies the patch to the first slot of `slots`.
    pub fn apply(self, slots: &mut [crate::insn::RawInsn]) {
        if let Some(first) = slots.first_mut() {
            if let Some(d) = self.dst {
                first.dst = d;
            }
            if let Some(s) = self.src {
                first.src = s;
            }
        }
    }
}

/// The number of `r12`..`r15` / `w12`..`w15`, if `tok` is one.
fn high_reg(tok: &Tok<'_>) -> Option<u8> {
    let Tok::Ident(s) = tok else { return None };
    let digits = s.strip_prefix('r').or_else(|| s.strip_prefix('w'))?;
    if digits.len() != 2 || digits.starts_with('0') {
        return None;
    }
    digits.parse::<u8>().ok().filter(|n| (12..16).contains(n))
}

/// The distinct high registers of a line, in the order they appear.
pub(super) fn high_regs(toks: &[Tok<'_>]) -> Vec<u8> {
    let mut v = Vec::new();
    for n in toks.iter().filter_map(high_reg) {
        if !v.contains(&n) {
            v.push(n);
        }
    }
    v
}

/// `toks` with each high register replaced by `r0`/`w0`, except `one`, which becomes `r1`/`w1`.
fn stand_in<'a>(toks: &[Tok<'a>], one: Option<u8>) -> Vec<Tok<'a>> {
    toks.iter()
        .map(|t| match (high_reg(t), t) {
            (Some(n), Tok::Ident(s)) => {
                let wide = s.starts_with('r');
                Tok::Ident(match (Some(n) == one, wide) {
                    (true, true) => "r1",
                    (true, false) => "w1",
                    (false, true) => "r0",
                    (false, false) => "w0",
                })
            }
            _ => *t,
        })
        .collect()
}

/// Parses a line that names high registers: the instruction with stand-ins, and the fields each
/// high register occupies (found by moving one register's stand-in and seeing which field moves).
pub(super) fn parse_with_high_regs<'a>(
    toks: &[Tok<'a>],
    wide_ld: bool,
    highs: &[u8],
) -> Result<(Parsed<'a>, RegPatch), String> {
    let base = parse::parse(&stand_in(toks, None), wide_ld)?;
    let first = base.insn.encode()[0];
    let mut patch = RegPatch::default();
    for &h in highs {
        let moved = parse::parse(&stand_in(toks, Some(h)), wide_ld)?.insn.encode()[0];
        if moved.dst != first.dst {
            patch.dst = Some(h);
        }
        if moved.src != first.src {
            patch.src = Some(h);
        }
    }
    Ok((base, patch))
}
