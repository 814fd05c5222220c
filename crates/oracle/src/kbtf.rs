//! The running kernel's BTF (`/sys/kernel/btf/vmlinux`) for cases that name kernel types:
//! attach targets and kfuncs are stored by name in the case files and resolved to this
//! kernel's BTF ids at load time (ids differ between kernel builds, names do not).

use std::sync::{Arc, OnceLock};

use kbpf_elf::btf::{Btf, Kind};
use kbpf_isa::RawInsn;

use crate::case::Case;

/// Where the running kernel exposes its BTF.
const VMLINUX: &str = "/sys/kernel/btf/vmlinux";

/// The running kernel's vmlinux BTF and its digest, read once.
fn loaded() -> &'static Result<(Arc<Btf>, String), String> {
    static BTF: OnceLock<Result<(Arc<Btf>, String), String>> = OnceLock::new();
    BTF.get_or_init(|| {
        let bytes = std::fs::read(VMLINUX).map_err(|e| format!("{VMLINUX}: {e}"))?;
        let btf = Btf::parse(&bytes).map_err(|e| format!("{VMLINUX}: {e}"))?;
        Ok((Arc::new(btf), digest(&bytes)))
    })
}

/// The running kernel's vmlinux BTF.
pub fn vmlinux() -> Result<Arc<Btf>, String> {
    loaded().as_ref().map(|(b, _)| b.clone()).map_err(Clone::clone)
}

/// What identifies the running kernel's BTF in the records: FNV-1a 64 of the raw blob with
/// its length (`fnv64:<hex>:<len>`), or the reason there is none.
pub fn vmlinux_digest() -> Result<String, String> {
    loaded().as_ref().map(|(_, d)| d.clone()).map_err(Clone::clone)
}

fn digest(bytes: &[u8]) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for &b in bytes {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("fnv64:{h:016x}:{}", bytes.len())
}

/// A case's names resolved in one kernel BTF.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// The slots with every named kfunc call's `imm` set to the function's BTF id.
    pub slots: Vec<RawInsn>,
    /// `attach_btf_id` of [`Case::attach_btf`] (0 when the case names none).
    pub attach_btf_id: u32,
}

/// Resolves `case`'s attach target (a `FUNC`, else a `TYPEDEF` such as `btf_trace_*`, else a
/// `STRUCT`) and kfunc calls (`FUNC`s) in `btf`. A name `btf` lacks, or a kfunc slot that is
/// not a `call` with `src_reg = BPF_PSEUDO_KFUNC_CALL`, is an error naming it.
pub fn resolve(case: &Case, btf: &Btf) -> Result<Resolved, String> {
    let mut slots = case.slots.clone();
    for k in &case.kfuncs {
        let id = btf
            .find_by_name_kind(&k.name, Kind::Func)
            .ok_or_else(|| format!("no kfunc {} in BTF", k.name))?;
        let slot = slots
            .get_mut(k.slot)
            .ok_or_else(|| format!("kfunc {} at slot {} past the end", k.name, k.slot))?;
        if slot.code != 0x85 || slot.src != 2 {
            return Err(format!("slot {} of kfunc {} is not a kfunc call", k.slot, k.name));
        }
        slot.imm = i32::try_from(id).map_err(|_| format!("kfunc {} id {id} out of range", k.name))?;
    }
    let attach_btf_id = match &case.attach_btf {
        None => 0,
        Some(n) => [Kind::Func, Kind::Typedef, Kind::Struct]
            .into_iter()
            .find_map(|kind| btf.find_by_name_kind(n, kind))
            .ok_or_else(|| format!("no attach target {n} in BTF"))?,
    };
    Ok(Resolved { slots, attach_btf_id })
}

/// [`resolve`] against the running kernel's BTF when `case` names kernel types; the case's own
/// slots otherwise.
pub fn resolve_running(case: &Case) -> Result<Resolved, String> {
    if case.kfuncs.is_empty() && case.attach_btf.is_none() {
        return Ok(Resolved { slots: case.slots.clone(), attach_btf_id: 0 });
    }
    resolve(case, &*vmlinux()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::case::KfuncCall;
    use crate::load::ProgType;

    fn case() -> Case {
        let slots = vec![
            RawInsn::new(0x85, 0, 2, 0, 0),
            RawInsn::new(0xb7, 0, 0, 0, 0),
            RawInsn::new(0x95, 0, 0, 0, 0),
        ];
        Case::new("f", "n", ProgType::Syscall, slots)
    }

    #[test]
    fn names_the_btf_lacks_and_bad_slots_are_errors() {
        let btf = Btf::default();
        let plain = case();
        assert_eq!(resolve(&plain, &btf).unwrap(), Resolved { slots: plain.slots.clone(), attach_btf_id: 0 });
        let k = case().with_kfuncs(vec![KfuncCall { slot: 0, name: "bpf_task_acquire".into() }]);
        assert_eq!(resolve(&k, &btf).unwrap_err(), "no kfunc bpf_task_acquire in BTF");
        let t = case().with_attach(23, Some("btf_trace_x"));
        assert_eq!(resolve(&t, &btf).unwrap_err(), "no attach target btf_trace_x in BTF");
        assert!(t.needs_kernel_btf() && k.needs_kernel_btf() && !plain.needs_kernel_btf());
    }

    #[test]
    fn digest_names_the_blob() {
        assert_eq!(digest(b""), "fnv64:cbf29ce484222325:0");
        assert_ne!(digest(b"a"), digest(b"b"));
    }
}
