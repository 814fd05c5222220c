//! kbpf on the same objects, through its library API: open the object, take each program's
//! loaded instructions (maps normalised to their names, as the oracle does), verify it with the
//! program type of its section and Linux 6.18 semantics (no stack arguments).
//!
//! Each object runs in a worker process (`xtask selftests-kbpf OBJECT`, one JSON line per
//! program, flushed as it goes): a hang is stopped at the timeout and a crash costs only the
//! rest of that object, both reported per program.

use std::io::Write;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use kbpf::ProgTypeError;
use kbpf::isa::{Insn, LdImm64Src, RawInsn, decode_insn};
use kbpf::verifier::{RejectKind, VerifyOptions};
use serde::{Deserialize, Serialize};

/// What kbpf did with one program.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct KbpfRecord {
    /// Object file name (`NAME.bpf.o`).
    pub object: String,
    /// Program (function) name; empty when the object itself failed.
    pub prog: String,
    /// ELF section.
    pub section: String,
    /// The program type kbpf gives the section (libbpf's name for it), empty when none.
    pub prog_type: String,
    /// kbpf's expected attach type, by libbpf's name.
    pub attach_type: String,
    /// kbpf's `expected_attach_type` for `BPF_PROG_LOAD` (struct_ops: the member index).
    pub attach_number: u32,
    /// `accepted`, `rejected`, `unsupported` (kbpf does not model it), `bug` (a kbpf invariant
    /// failed), `loader_failed` (kbpf could not open, relocate or type it), `panicked`,
    /// `crashed` or `timeout` (the worker).
    pub outcome: String,
    /// Why the loader failed, or the panic / crash / timeout.
    pub loader_error: String,
    /// Normalised map references, as in the oracle's records.
    pub refs: Vec<(usize, String)>,
    /// The loaded instructions, normalised, as hex.
    pub insns: String,
    /// The errno of a rejection.
    pub errno: i32,
    /// kbpf's error line (the kernel's last log line) of a rejection.
    pub error_line: String,
    /// Processed instructions.
    pub processed: u64,
    /// Verification time.
    pub micros: u64,
}

/// Replaces map references (map index in `ld_imm64` of a map or map value) by 0 and module BTF
/// object fds by 0, listing what each named (`map_name(slot, imm)`): the form both loaders are
/// compared in.
pub fn normalise(
    slots: &[RawInsn],
    map_name: impl Fn(usize, i32) -> String,
) -> (Vec<(usize, String)>, String) {
    let mut slots = slots.to_vec();
    let mut refs = Vec::new();
    let mut i = 0;
    while i < slots.len() {
        let insn = decode_insn(slots[i], slots.get(i + 1).copied());
        if let Ok(Insn::LdImm64 { src, imm, imm_hi, .. }) = insn {
            match src {
                LdImm64Src::MapFd | LdImm64Src::MapValue => {
                    refs.push((i, map_name(i, imm)));
                    slots[i].imm = 0;
                }
                LdImm64Src::BtfId if imm_hi != 0 => {
                    refs.push((i, "btf_obj_fd".to_string()));
                    slots[i + 1].imm = 0;
                }
                _ => {}
            }
        }
        i += insn.map_or(1, |d| d.slots());
    }
    (refs, hex(&slots))
}

fn hex(slots: &[RawInsn]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(slots.len() * 16);
    for b in slots.iter().flat_map(|r| r.to_bytes()) {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// `xtask selftests-kbpf OBJECT`: the worker. Prints one JSON line per program.
pub fn worker(args: &[String]) -> Result<bool, String> {
    let [path] = args else { return Err("usage: xtask selftests-kbpf OBJECT".into()) };
    let path = Path::new(path);
    let object = path.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // the default hook would print every caught panic; the record carries the message
    std::panic::set_hook(Box::new(|_| {}));
    let mut out = std::io::stdout().lock();
    let mut emit = |r: &KbpfRecord| -> Result<(), String> {
        let line = serde_json::to_string(r).map_err(|e| e.to_string())?;
        writeln!(out, "{line}").and_then(|_| out.flush()).map_err(|e| e.to_string())
    };
    // what `kbpf verify --kernel 6.18 --prog NAME OBJECT` opens an object with: the running
    // kernel's BTF, config and kallsyms, the documented map defaults
    let load = kbpf::LoadOptions {
        object_name: kbpf::elf::map_names::object_name(path),
        ..kbpf::LoadOptions::running_kernel()
    };
    let opened = catch_unwind(|| kbpf::open_object(&bytes, &load));
    let obj = match opened {
        Ok(Ok(o)) => o,
        Ok(Err(e)) => {
            emit(&failed(&object, "", "", "loader_failed", e.to_string()))?;
            return Ok(true);
        }
        Err(p) => {
            emit(&failed(&object, "", "", "panicked", panic_text(p)))?;
            return Ok(true);
        }
    };
    let registry = kbpf::kfunc::profiles::testmod();
    let kfuncs = kbpf::kfunc_table(&registry);
    // the running kernel as the target: its BTF types BTF pointers of every program (not
    // only those the loader needed it for), and whether it loads trampoline programs at all
    let btf = load.target().ok().map(|t| kbpf::verifier::KernelBtf(t.vmlinux.clone()));
    let map_elem_iter = btf.as_ref().and_then(|b| b.func_by_name("bpf_iter_bpf_map_elem")).map(|(id, _)| id);
    let target = KernelFacts {
        trampolines: kbpf_oracle::kernel_loads_trampolines().unwrap_or(true),
        iter_buffers: map_elem_iter.and_then(kbpf_oracle::kernel_loads_buffer_iters).unwrap_or(true),
        btf,
    };
    for p in &obj.programs {
        let rec = catch_unwind(AssertUnwindSafe(|| {
            let (refs, insns) = normalise(&p.insns, |slot, i| {
                // an unrelocated reference is a literal fd, as the oracle names it
                if p.literal_fds.contains(&slot) {
                    return format!("?fd-{i}");
                }
                usize::try_from(i)
                    .ok()
                    .and_then(|i| obj.maps.get(i))
                    .map_or(format!("?map-{i}"), |m| m.name.clone())
            });
            let mut r = KbpfRecord {
                object: object.clone(),
                prog: p.name.clone(),
                section: p.section.clone(),
                prog_type: p.prog_type.map_or(String::new(), |t| t.name().to_string()),
                attach_type: attach_name(p.expected_attach_type),
                attach_number: p.expected_attach_number(),
                refs,
                insns,
                ..Default::default()
            };
            verify(&obj, p, &kfuncs, &target, &mut r);
            r
        }));
        let rec = rec.unwrap_or_else(|e| failed(&object, &p.name, &p.section, "panicked", panic_text(e)));
        emit(&rec)?;
    }
    Ok(true)
}

/// libbpf's name of an expected attach type (`libbpf_bpf_attach_type_str`): the uapi name in
/// lower case without `BPF_`; none is 0, `cgroup_inet_ingress`.
fn attach_name(t: Option<kbpf::elf::sections::AttachType>) -> String {
    t.map_or("BPF_CGROUP_INET_INGRESS", |t| t.uapi_name()).trim_start_matches("BPF_").to_ascii_lowercase()
}

/// Verifies one program through the facade, as `kbpf verify --prog NAME OBJECT` does.
/// What the worker knows about the running kernel beyond what the loader resolved.
struct KernelFacts {
    btf: Option<kbpf::verifier::KernelBtf>,
    trampolines: bool,
    iter_buffers: bool,
}

fn verify(
    obj: &kbpf::LoadedObject,
    p: &kbpf::LoadedProgram,
    kfuncs: &kbpf::verifier::KfuncTable,
    target: &KernelFacts,
    r: &mut KbpfRecord,
) {
    if let Some(e) = &p.error {
        r.outcome = "loader_failed".into();
        r.loader_error = e.to_string();
        return;
    }
    let module = match kbpf::module_from_object(obj, p) {
        Ok(m) => m,
        Err(e) => {
            r.outcome = "loader_failed".into();
            r.loader_error = e.to_string();
            return;
        }
    };
    let prog_type = match kbpf::prog_type_for_section(&p.section) {
        Ok(t) => t,
        // a type the verifier does not model is no verdict, not a loader failure
        Err(e @ ProgTypeError::UnmodelledSection { .. }) => {
            r.outcome = "unsupported".into();
            r.error_line = e.to_string();
            return;
        }
        Err(e) => {
            r.outcome = "loader_failed".into();
            r.loader_error = e.to_string();
            return;
        }
    };
    // the running kernel is the oracle: its lockdown and config decide which helpers exist
    static KERNEL: std::sync::OnceLock<kbpf::verifier::KernelConfig> = std::sync::OnceLock::new();
    let kernel_config = *KERNEL.get_or_init(|| kbpf::running_kernel_config().unwrap_or_default());
    let opts = VerifyOptions {
        prog_type,
        stack_args: false,
        kfuncs: kfuncs.clone(),
        btf: target.btf.clone(),
        trampolines: target.trampolines,
        iter_buffers: target.iter_buffers,
        kernel_config,
        ..Default::default()
    };
    let t = Instant::now();
    let out = kbpf::verify_module(&module, opts);
    r.micros = t.elapsed().as_micros() as u64;
    r.processed = out.stats.processed_insns;
    match &out.error {
        None => r.outcome = "accepted".into(),
        Some(e) => {
            r.outcome = match e.kind() {
                RejectKind::Rejected => "rejected",
                RejectKind::Unsupported => "unsupported",
                RejectKind::Bug => "bug",
            }
            .into();
            r.errno = e.errno().number();
            // the whole message, picked like the kernel's log: a state dump after the error
            // line (`infinite loop detected`, then `cur state:`/`old state:`) is skipped
            r.error_line = match kbpf::libbpf_error_line(&module, e) {
                // libbpf rewrote the log of a refused poisoned call
                Some(line) => line,
                None => super::oracle::error_line(&e.reject().to_string()).to_string(),
            };
            // refused before the verifier ran: the kernel's log, and so its error line, is empty
            if e.reject().before_verifier() {
                r.error_line.clear();
            }
        }
    }
}

fn failed(object: &str, prog: &str, section: &str, outcome: &str, why: String) -> KbpfRecord {
    KbpfRecord {
        object: object.into(),
        prog: prog.into(),
        section: section.into(),
        outcome: outcome.into(),
        loader_error: why,
        ..Default::default()
    }
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    let msg = p
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "(non-text panic)".into());
    format!("panic: {msg}")
}

/// Runs a worker per object, `jobs` at a time.
pub fn run_all(objects: &[PathBuf], jobs: usize, timeout_secs: u64) -> Result<Vec<KbpfRecord>, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    println!("selftests: kbpf on {} objects", objects.len());
    let results = super::parallel(objects, jobs, |obj| one(&exe, obj, Duration::from_secs(timeout_secs)));
    let mut all = Vec::new();
    for r in results {
        all.extend(r?);
    }
    Ok(all)
}

fn one(exe: &Path, obj: &Path, timeout: Duration) -> Result<Vec<KbpfRecord>, String> {
    let object = obj.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let out = super::worker_proc::run_worker::<KbpfRecord>(
        Command::new(exe).arg("selftests-kbpf").arg(obj),
        timeout,
    )?;
    let mut records = out.records;
    if out.timed_out || !out.status.success() {
        let why = if out.timed_out {
            format!("worker stopped after {}s", timeout.as_secs())
        } else {
            format!("worker {}: {}", out.status, out.stderr.lines().last().unwrap_or(""))
        };
        let outcome = if out.timed_out { "timeout" } else { "crashed" };
        // the programs after the last one reported are the ones the worker never finished
        records.push(failed(&object, "", "", outcome, why));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalises_map_references() {
        let slots = [
            RawInsn::new(0x18, 1, 1, 0, 3), // r1 = map[3]
            RawInsn::new(0, 0, 0, 0, 0),
            RawInsn::new(0x18, 2, 2, 0, 1), // r2 = map_value[1] + 8
            RawInsn::new(0, 0, 0, 0, 8),
            RawInsn::new(0x18, 3, 3, 0, 77), // r3 = btf var 77 in module fd 5
            RawInsn::new(0, 0, 0, 0, 5),
            RawInsn::new(0x95, 0, 0, 0, 0),
        ];
        let (refs, hex) =
            normalise(&slots, |at, i| if at == 2 { format!("?fd-{i}") } else { format!("m{i}") });
        assert_eq!(refs, [(0, "m3".to_string()), (2, "?fd-1".into()), (4, "btf_obj_fd".into())]);
        let expect = [
            RawInsn::new(0x18, 1, 1, 0, 0),
            RawInsn::new(0, 0, 0, 0, 0),
            RawInsn::new(0x18, 2, 2, 0, 0),
            RawInsn::new(0, 0, 0, 0, 8),
            RawInsn::new(0x18, 3, 3, 0, 77),
            RawInsn::new(0, 0, 0, 0, 0),
            RawInsn::new(0x95, 0, 0, 0, 0),
        ];
        assert_eq!(hex, super::hex(&expect));
        assert_eq!(&hex[..16], "1811000000000000");
    }

    #[test]
    fn undecodable_slots_pass_through() {
        let slots = [RawInsn::new(0xff, 0, 0, 0, 1), RawInsn::new(0x95, 0, 0, 0, 0)];
        let (refs, hex) = normalise(&slots, |_, _| unreachable!());
        assert!(refs.is_empty());
        assert_eq!(hex, "ff000000010000009500000000000000");
    }
}
