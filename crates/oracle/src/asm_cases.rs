//! Files of generated assembly programs with the kernel's answer in each header, the verifier
//! crate's `tests/data/*.txt`:
//!
//! ```text
//! ### NAME | VERDICT | PROCESSED MAX_STATES_PER_INSN TOTAL_STATES PEAK_STATES [| ERROR LINE]
//! <assembly, kfuncs called by name>
//! ```
//!
//! VERDICT is `accept` or `reject ERRNO`. [`recapture`] is the only writer of the headers: it
//! assembles each program, resolves its kfunc calls in the running kernel's BTF, loads it as a
//! socket filter and writes what the kernel answered.

use kbpf_elf::btf::Kind;
use kbpf_isa::asm::{KfuncResolver, assemble_module_slots};

use crate::load::{LoadRequest, ProgType, load};

/// Kfunc names resolved in the running kernel's vmlinux BTF.
struct RunningKernel(std::sync::Arc<kbpf_elf::btf::Btf>);

impl KfuncResolver for RunningKernel {
    fn kfunc_id(&self, name: &str) -> Option<i32> {
        self.0.find_by_name_kind(name, Kind::Func).and_then(|id| i32::try_from(id).ok())
    }
}

/// The header the kernel's answer for `src` makes, named `name`.
fn header(name: &str, src: &str, kernel: &RunningKernel) -> Result<String, String> {
    let m = assemble_module_slots(src, kernel).map_err(|e| format!("{name}: {e}"))?;
    let v = load(&m.slots, &LoadRequest::new(ProgType::SocketFilter));
    let verdict = match (v.accepted, v.errno) {
        (true, _) => "accept".to_string(),
        (false, Some(e)) => format!("reject {}", e.name()),
        (false, None) => return Err(format!("{name}: rejected without an errno")),
    };
    let s = &v.stats;
    let n = |x: Option<u64>| x.map_or_else(|| "?".to_string(), |x| x.to_string());
    let stats = format!(
        "{} {} {} {}",
        n(s.processed_insns),
        n(s.max_states_per_insn),
        n(s.total_states),
        n(s.peak_states)
    );
    Ok(match (&v.error_line, v.accepted) {
        (Some(line), false) => format!("### {name} | {verdict} | {stats} | {line}"),
        _ => format!("### {name} | {verdict} | {stats}"),
    })
}

/// `text` with every case header replaced by the running kernel's answer; the comment lines
/// before the first case and every program's source (blank lines included) stay as they are.
pub fn recapture(text: &str) -> Result<String, String> {
    let kernel = RunningKernel(crate::kbtf::vmlinux()?);
    // pieces after the first start with a case header (their "### " was the separator)
    let mut pieces: Vec<String> = Vec::new();
    for (i, piece) in text.split("\n### ").enumerate() {
        let case = if i == 0 { piece.strip_prefix("### ") } else { Some(piece) };
        let Some(case) = case else {
            pieces.push(piece.to_string());
            continue;
        };
        let (head, src) = case.split_once('\n').unwrap_or((case, ""));
        let name = head.split(" | ").next().unwrap_or(head);
        let new = header(name, src, &kernel)?;
        let new = if i == 0 { new } else { new.trim_start_matches("### ").to_string() };
        pieces.push(format!("{new}\n{src}"));
    }
    Ok(pieces.join("\n### "))
}
