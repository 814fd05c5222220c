//! CO-RE: libbpf's BPF CO-RE relocation engine (`relo_core.c` and the candidate search of
//! `libbpf.c`), written from their semantics.
//!
//! For each `.BTF.ext` core_relo record: the access string is parsed on the local (program)
//! type; target candidates are the types of the target BTF with the same flavor-less name and a
//! compatible kind (vmlinux first, module BTF only when vmlinux has none); each candidate is
//! matched, every matching one must give the same result (else an ambiguity error); the result
//! is checked against the value clang wrote and patched into the instruction, or the
//! instruction is poisoned (a call to helper `0xbad2310`) when the field, type or enumerator
//! does not exist in the target. Candidate lists are cached per local type and pruned to the
//! matching ones, across all programs of a [`Relocator`], as libbpf does per object.

mod calc;
mod compat;
mod patch;
mod spec;

use std::collections::HashMap;

use kbpf_isa::RawInsn;
use thiserror::Error;

use crate::btf::{Btf, CoreRelo, CoreReloKind, TargetBtf};

pub use compat::{Rel, Unresolved, essential_name, essential_name_len, types_are_compat, types_match};
pub use patch::POISON_HELPER;

/// What the kernel's verifier says about a reachable poisoned instruction (Linux 6.18).
pub const POISON_KERNEL_MSG: &str = "invalid func unknown#195896080";

/// The errno a libbpf CO-RE step fails with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Errno {
    /// `EINVAL`.
    Inval,
    /// `E2BIG`.
    TooBig,
    /// `ERANGE`.
    Range,
    /// `EOPNOTSUPP`.
    NotSupp,
}

impl Errno {
    /// The negative errno libbpf returns.
    pub fn code(self) -> i32 {
        match self {
            Errno::Inval => -22,
            Errno::TooBig => -7,
            Errno::Range => -34,
            Errno::NotSupp => -95,
        }
    }

    /// Symbolic name (`-EINVAL`).
    pub fn name(self) -> &'static str {
        match self {
            Errno::Inval => "-EINVAL",
            Errno::TooBig => "-E2BIG",
            Errno::Range => "-ERANGE",
            Errno::NotSupp => "-EOPNOTSUPP",
        }
    }
}

fn warned(w: &Option<String>) -> String {
    w.as_deref().map_or_else(String::new, lead)
}

/// A warning line before the final one, when there is a warning.
fn lead(w: &str) -> String {
    if w.is_empty() { String::new() } else { format!("{w}\n") }
}

/// A relocation libbpf refuses (the object does not load).
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum CoreError {
    /// Spec parsing, candidate search, matching or value computation failed.
    #[error("{}prog '{prog}': relo #{relo}: failed to relocate: {}", warned(warning), errno.code())]
    Relocate {
        /// Program name.
        prog: String,
        /// Relocation number in its section.
        relo: usize,
        /// Why.
        errno: Errno,
        /// libbpf's warning, when it prints one.
        warning: Option<String>,
    },
    /// The instruction does not hold what the relocation expects.
    #[error("{}prog '{prog}': relo #{relo}: failed to patch insn #{insn}: {}", lead(warning), errno.code())]
    Patch {
        /// Program name.
        prog: String,
        /// Relocation number.
        relo: usize,
        /// Instruction index in the program.
        insn: usize,
        /// Why.
        errno: Errno,
        /// libbpf's warning (empty when it prints none).
        warning: String,
    },
    /// The record's instruction lies past the program.
    #[error("prog '{prog}': relo #{relo}: insn #{insn} outside the program's {len} instructions")]
    InsnRange {
        /// Program name.
        prog: String,
        /// Relocation number.
        relo: usize,
        /// Instruction index in the program.
        insn: usize,
        /// Program length.
        len: usize,
    },
}

/// One applied relocation, for the log.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CoreResult {
    /// Relocation number in its section (libbpf's `relo #N`).
    pub relo: usize,
    /// Instruction index in the program.
    pub insn: usize,
    /// Kind.
    pub kind: CoreReloKind,
    /// The local spec, as libbpf formats it (`<byte_off> [3] struct s.a (0:1 @ offset 4)`).
    pub local_spec: String,
    /// The chosen target's spec, when a candidate matched.
    pub target_spec: Option<String>,
    /// The value clang wrote (local result).
    pub orig_val: u64,
    /// The value patched in.
    pub new_val: u64,
    /// The instruction was poisoned.
    pub poisoned: bool,
    /// libbpf's debug lines for this relocation, in its words.
    pub log: Vec<String>,
}

#[derive(Clone, Copy)]
struct Cand<'a> {
    btf: &'a Btf,
    id: u32,
}

/// Applies CO-RE relocations of one object against a target BTF.
pub struct Relocator<'a> {
    local: &'a Btf,
    target: &'a TargetBtf,
    /// Candidates per local root type id, pruned to the ones that matched.
    cache: HashMap<u32, Vec<Cand<'a>>>,
    /// Debug lines of the last failed relocation.
    failed_log: Vec<String>,
}

impl<'a> Relocator<'a> {
    /// A relocator for an object whose BTF is `local`.
    pub fn new(local: &'a Btf, target: &'a TargetBtf) -> Relocator<'a> {
        Relocator { local, target, cache: HashMap::new(), failed_log: Vec::new() }
    }

    /// `bpf_core_find_cands`: same flavor-less name, compatible kind; vmlinux first, modules
    /// only when vmlinux has none.
    fn find_cands(&self, local_id: u32, log: &mut Vec<String>) -> Option<Vec<Cand<'a>>> {
        let lt = self.local.get(local_id)?;
        if lt.name().is_empty() {
            return None;
        }
        let essent = essential_name(lt.name());
        let mut out = Vec::new();
        for (module, btf, _) in self.target.btfs() {
            if module.is_some() && !out.is_empty() {
                break;
            }
            for &id in btf.own_ids_by_essential_name(essent) {
                let Some(t) = btf.get(id).filter(|t| compat::kind_core_compat(t, lt)) else { continue };
                log.push(format!(
                    "CO-RE relocating [{local_id}] {} {}: found target candidate [{id}] {} {} in [{}]",
                    lt.kind().name(),
                    lt.name(),
                    t.kind().name(),
                    t.name(),
                    module.unwrap_or("vmlinux")
                ));
                out.push(Cand { btf, id });
            }
        }
        Some(out)
    }

    /// Applies the records `relos` of one ELF section (their `insn` counts slots of the
    /// section) that fall inside the program `insns`, which starts at slot `prog_off` of the
    /// section. Relocation numbers are positions in `relos`, as in libbpf's log.
    ///
    /// libbpf walks a section's records in file order, whichever program each belongs to; when
    /// a section holds several programs whose records interleave, use [`Relocator::apply_record`]
    /// in record order to keep its log order and candidate pruning.
    pub fn apply<'r>(
        &mut self,
        prog: &str,
        insns: &mut [RawInsn],
        prog_off: usize,
        relos: impl IntoIterator<Item = &'r CoreRelo>,
    ) -> Result<Vec<CoreResult>, CoreError> {
        let mut out = Vec::new();
        for (i, relo) in relos.into_iter().enumerate() {
            let Some(idx) = (relo.insn as usize).checked_sub(prog_off) else { continue };
            if idx >= insns.len() {
                // another program of the section
                continue;
            }
            out.push(self.apply_one(prog, insns, idx, i, relo)?);
        }
        Ok(out)
    }

    /// Applies record number `relo_idx` of its section to `insns[insn]` of program `prog`.
    pub fn apply_record(
        &mut self,
        prog: &str,
        insns: &mut [RawInsn],
        insn: usize,
        relo_idx: usize,
        relo: &CoreRelo,
    ) -> Result<CoreResult, CoreError> {
        if insn >= insns.len() {
            return Err(CoreError::InsnRange {
                prog: prog.to_string(),
                relo: relo_idx,
                insn,
                len: insns.len(),
            });
        }
        self.apply_one(prog, insns, insn, relo_idx, relo)
    }

    /// libbpf's debug lines of the relocation that failed last (up to its failure).
    pub fn failed_log(&self) -> &[String] {
        &self.failed_log
    }

    fn apply_one(
        &mut self,
        prog: &str,
        insns: &mut [RawInsn],
        idx: usize,
        i: usize,
        relo: &CoreRelo,
    ) -> Result<CoreResult, CoreError> {
        let mut log = Vec::new();
        let r = self.relocate(prog, insns, idx, i, relo, &mut log);
        if r.is_err() {
            self.failed_log = log;
        }
        r
    }

    fn relocate(
        &mut self,
        prog: &str,
        insns: &mut [RawInsn],
        idx: usize,
        i: usize,
        relo: &CoreRelo,
        log: &mut Vec<String>,
    ) -> Result<CoreResult, CoreError> {
        let who = format!("prog '{prog}': relo #{i}");
        let fail = |errno: Errno, warning: Option<String>| CoreError::Relocate {
            prog: prog.to_string(),
            relo: i,
            errno,
            warning,
        };
        let lt = self.local.get(relo.type_id).ok_or_else(|| fail(Errno::Inval, None))?;
        let lname = if lt.name().is_empty() { "<anon>" } else { lt.name() };
        if relo.kind != CoreReloKind::TypeIdLocal && !self.cache.contains_key(&relo.type_id) {
            let cands = self.find_cands(relo.type_id, log).ok_or_else(|| {
                let w = format!(
                    "{who}: target candidate search failed for [{}] {} {lname}: {}",
                    relo.type_id,
                    lt.kind().name(),
                    Errno::Inval.code()
                );
                fail(Errno::Inval, Some(w))
            })?;
            self.cache.insert(relo.type_id, cands);
        }
        let local = spec::parse(self.local, relo.type_id, &relo.access, relo.kind).map_err(|e| {
            let w = format!(
                "{who}: parsing [{}] {} {lname} + {} failed: {}",
                relo.type_id,
                lt.kind().name(),
                relo.access,
                e.code()
            );
            fail(Errno::Inval, Some(w))
        })?;
        let local_spec = spec::format(&local);
        log.push(format!("{who}: {local_spec}"));
        let at = format!("insn #{}", relo.insn);
        let calc_err = |f: calc::Fail| match f {
            calc::Fail::Err(e, w) => fail(e, w.map(|w| format!("prog '{prog}': {w}"))),
            calc::Fail::Poison => fail(Errno::Inval, None),
        };
        let mut target_spec = None;
        let res = if relo.kind == CoreReloKind::TypeIdLocal {
            // no candidates: the local id itself, never checked (linking may renumber it)
            calc::Res { orig_val: relo.type_id as u64, new_val: relo.type_id as u64, ..Default::default() }
        } else {
            let cands = self.cache.get(&relo.type_id).cloned().unwrap_or_default();
            let mut kept = Vec::new();
            let mut chosen: Option<(calc::Res, u64)> = None;
            for (c, cand) in cands.iter().enumerate() {
                let (r, cspec) = spec::matching(&local, cand.btf, cand.id);
                let text = spec::format(&cspec);
                let matched = r.map_err(|e| {
                    fail(e, Some(format!("{who}: error matching candidate #{c} {text}: {}", e.code())))
                })?;
                log.push(format!(
                    "{who}: {} candidate #{c} {text}",
                    if matched { "matching" } else { "non-matching" }
                ));
                if !matched {
                    continue;
                }
                let res = calc::relo(relo.kind, &local, Some(&cspec), &at).map_err(calc_err)?;
                match &chosen {
                    None => {
                        chosen = Some((res, cspec.bit_offset));
                        target_spec = Some(text);
                    }
                    Some((_, off)) if *off != cspec.bit_offset => {
                        let w = format!("{who}: field offset ambiguity: {} != {off}", cspec.bit_offset);
                        return Err(fail(Errno::Inval, Some(w)));
                    }
                    Some((t, _)) if t.poison != res.poison || t.new_val != res.new_val => {
                        let word = |p: bool| if p { "failure" } else { "success" };
                        let w = format!(
                            "{who}: relocation decision ambiguity: {} {} != {} {}",
                            word(res.poison),
                            res.new_val,
                            word(t.poison),
                            t.new_val
                        );
                        return Err(fail(Errno::Inval, Some(w)));
                    }
                    Some(_) => {}
                }
                kept.push(*cand);
            }
            match chosen {
                Some((res, _)) => {
                    self.cache.insert(relo.type_id, kept);
                    res
                }
                None => {
                    log.push(format!("{who}: no matching targets found"));
                    calc::relo(relo.kind, &local, None, &at).map_err(calc_err)?
                }
            }
        };
        let patched = patch::patch(insns, idx, &res, &who).map_err(|(errno, warning)| CoreError::Patch {
            prog: prog.to_string(),
            relo: i,
            insn: idx,
            errno,
            warning,
        })?;
        log.extend(patched.log);
        Ok(CoreResult {
            relo: i,
            insn: idx,
            kind: relo.kind,
            local_spec,
            target_spec,
            orig_val: res.orig_val,
            new_val: res.new_val,
            poisoned: patched.poisoned,
            log: std::mem::take(log),
        })
    }
}

/// Applies `relos` (whose `insn` indexes `insns`) to one program: a [`Relocator`] used once.
pub fn apply(
    prog: &str,
    insns: &mut [RawInsn],
    relos: &[CoreRelo],
    local: &Btf,
    target: &TargetBtf,
) -> Result<Vec<CoreResult>, CoreError> {
    Relocator::new(local, target).apply(prog, insns, 0, relos)
}
