//! A test case (program + type + maps) and the record of what the kernel said about it.

use kbpf_isa::RawInsn;
use serde::{Deserialize, Serialize};

use crate::errno::Errno;
use crate::load::{LoadRequest, LogLevel, ProgType, VerifierStats, load};
use crate::map::{MapSpec, create_maps};

/// One program for the kernel and kbpf to judge.
///
/// Map `i` of [`Case::maps`] is referenced by `ld_imm64 rX, src=BPF_PSEUDO_MAP_FD (1), imm=i`;
/// the kernel run substitutes the real descriptor, kbpf resolves the index itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Case {
    /// Unique name within its family (file-name safe).
    pub name: String,
    /// Family (directory / JSONL file name).
    pub family: String,
    /// Instruction slots (serialised as space-separated 16-hex-digit little-endian slots).
    #[serde(with = "hex_slots")]
    pub slots: Vec<RawInsn>,
    /// Program type.
    pub prog_type: ProgType,
    /// Maps the program references.
    #[serde(default)]
    pub maps: Vec<MapSpec>,
    /// `prog_flags` (e.g. `BPF_F_STRICT_ALIGNMENT`).
    #[serde(default)]
    pub prog_flags: u32,
    /// License string.
    #[serde(default = "gpl")]
    pub license: String,
    /// Function declarations (sent to the kernel as program BTF + `func_info`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub funcs: Vec<crate::btf::CaseFunc>,
    /// `expected_attach_type` (the uapi number, e.g. 23 `BPF_TRACE_RAW_TP`), when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expected_attach_type: Option<u32>,
    /// The attach target by its name in the kernel's BTF (`bpf_fentry_test1`,
    /// `btf_trace_sched_switch`, `bpf_iter_task`): `attach_btf_id` is resolved at load time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attach_btf: Option<String>,
    /// kfunc calls by name: each slot's `imm` is stored as 0 and set to the function's BTF id
    /// at load time (the kernel's from its vmlinux BTF, kbpf's from its target BTF).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub kfuncs: Vec<KfuncCall>,
}

/// A kfunc call of a case: the slot of its `call` (`src_reg = BPF_PSEUDO_KFUNC_CALL`) and the
/// function's name in the kernel's BTF.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KfuncCall {
    /// Slot index of the call.
    pub slot: usize,
    /// The kfunc's name (`bpf_task_acquire`).
    pub name: String,
}

fn gpl() -> String {
    "GPL".to_string()
}

impl Case {
    /// A case with no maps, no flags and a GPL license.
    pub fn new(family: &str, name: impl Into<String>, prog_type: ProgType, slots: Vec<RawInsn>) -> Case {
        Case {
            name: name.into(),
            family: family.to_string(),
            slots,
            prog_type,
            maps: Vec::new(),
            prog_flags: 0,
            license: gpl(),
            funcs: Vec::new(),
            expected_attach_type: None,
            attach_btf: None,
            kfuncs: Vec::new(),
        }
    }

    /// Sets the expected attach type (uapi number) and the attach target's BTF name.
    pub fn with_attach(mut self, attach_type: u32, target: Option<&str>) -> Case {
        self.expected_attach_type = Some(attach_type);
        self.attach_btf = target.map(str::to_string);
        self
    }

    /// Names the kfunc called at each slot.
    pub fn with_kfuncs(mut self, calls: Vec<KfuncCall>) -> Case {
        self.kfuncs = calls;
        self
    }

    /// Whether kbpf and the kernel judge the case by the kernel's BTF: tracing program types
    /// (their contexts and helpers are typed by it), attach targets and kfuncs. Such records
    /// carry the digest of the BTF they were captured with ([`KernelRecord::btf`]).
    pub fn needs_kernel_btf(&self) -> bool {
        use ProgType as P;
        self.attach_btf.is_some()
            || !self.kfuncs.is_empty()
            || matches!(
                self.prog_type,
                P::Kprobe
                    | P::Tracepoint
                    | P::RawTracepoint
                    | P::RawTracepointWritable
                    | P::PerfEvent
                    | P::Tracing
                    | P::Lsm
            )
    }

    /// Declares functions (argument counts, linkage) as program BTF would.
    pub fn with_funcs(mut self, funcs: Vec<crate::btf::CaseFunc>) -> Case {
        self.funcs = funcs;
        self
    }

    /// Adds maps.
    pub fn with_maps(mut self, maps: Vec<MapSpec>) -> Case {
        self.maps = maps;
        self
    }

    /// Sets `prog_flags`.
    pub fn with_flags(mut self, flags: u32) -> Case {
        self.prog_flags = flags;
        self
    }

    /// Sets the license.
    pub fn with_license(mut self, license: &str) -> Case {
        self.license = license.to_string();
        self
    }

    /// The slots as raw bytes.
    pub fn bytes(&self) -> Vec<u8> {
        self.slots.iter().flat_map(|s| s.to_bytes()).collect()
    }
}

/// Slots as hex text: one 16-digit group per slot, separated by spaces.
pub fn slots_to_hex(slots: &[RawInsn]) -> String {
    let mut s = String::with_capacity(slots.len() * 17);
    for (i, insn) in slots.iter().enumerate() {
        if i > 0 {
            s.push(' ');
        }
        for b in insn.to_bytes() {
            s.push_str(&format!("{b:02x}"));
        }
    }
    s
}

/// Inverse of [`slots_to_hex`]; whitespace anywhere is ignored.
pub fn slots_from_hex(text: &str) -> Result<Vec<RawInsn>, String> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if !digits.len().is_multiple_of(16) {
        return Err(format!("{} hex digits is not a whole number of 8-byte slots", digits.len()));
    }
    let nib = |c: u8| -> Result<u8, String> {
        (c as char).to_digit(16).map(|d| d as u8).ok_or_else(|| format!("bad hex digit {:?}", c as char))
    };
    digits
        .chunks(16)
        .map(|ch| {
            let mut b = [0u8; 8];
            for (k, pair) in ch.chunks(2).enumerate() {
                b[k] = (nib(pair[0])? << 4) | nib(pair[1])?;
            }
            Ok(RawInsn::from_bytes(b))
        })
        .collect()
}

mod hex_slots {
    use super::*;
    use serde::{Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &[RawInsn], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&slots_to_hex(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<RawInsn>, D::Error> {
        let text = String::deserialize(d)?;
        slots_from_hex(&text).map_err(serde::de::Error::custom)
    }
}

/// The kernel's verdict on a case, as stored in `tests/kernel-cases/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KernelRecord {
    /// The program was loaded.
    pub accepted: bool,
    /// errno name of a rejection.
    pub errno: Option<Errno>,
    /// See [`crate::error_line`].
    pub error_line: Option<String>,
    /// Statistics from the log (level 1|4).
    #[serde(flatten)]
    pub stats: VerifierStats,
    /// The log level the record was taken at.
    pub log_level: u32,
    /// The full log at `log_level` when it is short (see [`RecordOptions::max_log`]).
    pub log: Option<String>,
    /// The full level-2 log, for a subset of cases.
    #[serde(default)]
    pub log_level2: Option<String>,
    /// The level-1 log overflowed the 16 MiB buffer: `errno` and stats then come from a
    /// stats-only load (the overflowed load fails with ENOSPC), `error_line` from the kept tail.
    #[serde(default)]
    pub log_truncated: bool,
    /// Release of the kernel that produced the record (`uname -r`).
    #[serde(default)]
    pub kernel: String,
    /// For cases that need the kernel's BTF ([`Case::needs_kernel_btf`]): the digest of the
    /// vmlinux BTF they were captured with ([`crate::kbtf::vmlinux_digest`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub btf: Option<String>,
}

/// A case with the kernel's record: one line of a family's JSONL file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CapturedCase {
    /// The program.
    #[serde(flatten)]
    pub case: Case,
    /// The kernel's verdict.
    pub kernel: KernelRecord,
}

/// How much of the logs to keep in a record.
#[derive(Debug, Clone, Copy)]
pub struct RecordOptions {
    /// Keep the level-1|4 log when it is at most this many bytes.
    pub max_log: usize,
    /// Also load at level 2|4 and keep that log when at most this many bytes (0: never).
    pub max_log_level2: usize,
}

impl Default for RecordOptions {
    fn default() -> Self {
        RecordOptions { max_log: 4096, max_log_level2: 0 }
    }
}

/// The request a case is loaded with at `level`.
pub fn request_for(case: &Case, level: LogLevel) -> LoadRequest {
    let mut req = LoadRequest::new(case.prog_type);
    req.log_level = level;
    req.prog_flags = case.prog_flags;
    req.license = case.license.clone();
    req.funcs = case.funcs.clone();
    req.expected_attach_type = case.expected_attach_type.unwrap_or(0);
    req
}

/// The slots `case` loads with into the running kernel, its attach target resolved into
/// `req` (see [`crate::kbtf::resolve_running`]).
pub fn resolve_for_kernel(case: &Case, req: &mut LoadRequest) -> Result<Vec<RawInsn>, String> {
    let r = crate::kbtf::resolve_running(case)?;
    req.attach_btf_id = r.attach_btf_id;
    Ok(r.slots)
}

/// Runs `case` through the kernel (maps created, loaded at level 1|4, optionally at 2|4).
pub fn record_case(case: &Case, opts: RecordOptions) -> KernelRecord {
    let kernel = kernel_release();
    let btf = case
        .needs_kernel_btf()
        .then(|| crate::kbtf::vmlinux_digest().unwrap_or_else(|e| format!("none: {e}")));
    let failed = |errno: Errno, line: String| KernelRecord {
        accepted: false,
        errno: Some(errno),
        error_line: Some(line),
        stats: VerifierStats::default(),
        log_level: 0,
        log: None,
        log_level2: None,
        log_truncated: false,
        kernel: kernel.clone(),
        btf: btf.clone(),
    };
    let maps = match create_maps(&case.maps) {
        Ok(m) => m,
        Err(e) => return failed(e, format!("(oracle) map creation failed: {e}")),
    };
    let level = LogLevel::LEVEL1 | LogLevel::STATS;
    let mut req = request_for(case, level);
    req.map_fds = maps.iter().map(|m| m.raw()).collect();
    let slots = match resolve_for_kernel(case, &mut req) {
        Ok(s) => s,
        Err(e) => return failed(Errno::ENOENT, format!("(oracle) {e}")),
    };
    let mut v = load(&slots, &req);
    let log_truncated = v.log_truncated;
    if log_truncated {
        // The ENOSPC is an artefact of the buffer: take the verdict from a stats-only load.
        let mut quiet = req.clone();
        quiet.log_level = LogLevel::STATS;
        let q = load(&slots, &quiet);
        v.accepted = q.accepted;
        v.errno = q.errno;
        v.stats = q.stats;
        if q.accepted {
            v.error_line = None;
        }
    }
    let log_level2 = if opts.max_log_level2 > 0 {
        req.log_level = LogLevel::LEVEL2 | LogLevel::STATS;
        let v2 = load(&slots, &req);
        (v2.log.len() <= opts.max_log_level2 && v2.log_true_size as usize <= v2.log.len() + 1)
            .then_some(v2.log)
    } else {
        None
    };
    let keep = v.log.len() <= opts.max_log;
    KernelRecord {
        accepted: v.accepted,
        errno: v.errno,
        error_line: v.error_line,
        stats: v.stats,
        log_level: level.0,
        log: keep.then_some(v.log),
        log_level2,
        log_truncated,
        kernel,
        btf,
    }
}

/// `uname -r` of the running kernel (empty if unknown).
pub fn kernel_release() -> String {
    std::fs::read_to_string("/proc/sys/kernel/osrelease").map(|s| s.trim().to_string()).unwrap_or_default()
}

/// Whether two `uname -r` strings name the same kernel version: equal up to the local build
/// suffix (`6.18.44-fc-v657` and `6.18.44-fc-v1300` are both 6.18.44).
pub fn same_version(a: &str, b: &str) -> bool {
    let base = |r: &str| r.split('-').next().unwrap_or("").to_string();
    !a.is_empty() && base(a) == base(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip() {
        let slots = vec![RawInsn::new(0xb7, 0, 0, 0, 42), RawInsn::new(0x95, 0, 0, 0, 0)];
        let h = slots_to_hex(&slots);
        assert_eq!(h, "b70000002a000000 9500000000000000");
        assert_eq!(slots_from_hex(&h).unwrap(), slots);
        assert!(slots_from_hex("b7").is_err());
        assert!(slots_from_hex("zz00000000000000").is_err());
    }

    #[test]
    fn case_json_round_trip() {
        let c = Case::new("f", "n", ProgType::Xdp, vec![RawInsn::new(0x95, 0, 0, 0, 0)])
            .with_maps(vec![MapSpec::array(8, 1, "m")]);
        let j = serde_json::to_string(&c).unwrap();
        let back: Case = serde_json::from_str(&j).unwrap();
        assert_eq!(back, c);
    }
}
