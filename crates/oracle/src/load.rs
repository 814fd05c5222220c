//! `BPF_PROG_LOAD`: the request, the kernel's verdict and the parsing of its log.

use std::os::fd::{OwnedFd, RawFd};
use std::time::Instant;

use kbpf_isa::RawInsn;
use serde::{Deserialize, Serialize};

use crate::errno::Errno;
use crate::sys::{self, Attr, Cmd};

/// Program types the oracle loads (the kernel's `enum bpf_prog_type` values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProgType {
    /// `BPF_PROG_TYPE_SOCKET_FILTER`: ctx is `struct __sk_buff`, read-mostly.
    SocketFilter,
    /// `BPF_PROG_TYPE_KPROBE`: ctx is `struct pt_regs`.
    Kprobe,
    /// `BPF_PROG_TYPE_SCHED_CLS`: `__sk_buff` with direct packet access.
    SchedCls,
    /// `BPF_PROG_TYPE_SCHED_ACT`.
    SchedAct,
    /// `BPF_PROG_TYPE_TRACEPOINT`.
    Tracepoint,
    /// `BPF_PROG_TYPE_XDP`: ctx is `struct xdp_md`.
    Xdp,
    /// `BPF_PROG_TYPE_PERF_EVENT`.
    PerfEvent,
    /// `BPF_PROG_TYPE_CGROUP_SKB`: return value must be 0 or 1.
    CgroupSkb,
    /// `BPF_PROG_TYPE_RAW_TRACEPOINT`.
    RawTracepoint,
    /// `BPF_PROG_TYPE_SYSCALL`: loaded sleepable (the kernel demands it), kfunc-capable.
    Syscall,
    /// `BPF_PROG_TYPE_CGROUP_SOCK`.
    CgroupSock,
    /// `BPF_PROG_TYPE_LWT_IN`.
    LwtIn,
    /// `BPF_PROG_TYPE_LWT_OUT`.
    LwtOut,
    /// `BPF_PROG_TYPE_LWT_XMIT`.
    LwtXmit,
    /// `BPF_PROG_TYPE_SOCK_OPS`.
    SockOps,
    /// `BPF_PROG_TYPE_SK_SKB`.
    SkSkb,
    /// `BPF_PROG_TYPE_CGROUP_DEVICE`.
    CgroupDevice,
    /// `BPF_PROG_TYPE_SK_MSG`.
    SkMsg,
    /// `BPF_PROG_TYPE_CGROUP_SOCK_ADDR`.
    CgroupSockAddr,
    /// `BPF_PROG_TYPE_SK_REUSEPORT`.
    SkReuseport,
    /// `BPF_PROG_TYPE_FLOW_DISSECTOR`.
    FlowDissector,
    /// `BPF_PROG_TYPE_CGROUP_SYSCTL`.
    CgroupSysctl,
    /// `BPF_PROG_TYPE_CGROUP_SOCKOPT`.
    CgroupSockopt,
    /// `BPF_PROG_TYPE_SK_LOOKUP`.
    SkLookup,
    /// `BPF_PROG_TYPE_TRACING` (fentry, fexit, tp_btf, iter: needs an attach BTF id).
    Tracing,
    /// `BPF_PROG_TYPE_LSM`.
    Lsm,
    /// `BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE`.
    RawTracepointWritable,
}

impl ProgType {
    /// The kernel's numeric program type.
    pub fn raw(self) -> u32 {
        match self {
            ProgType::SocketFilter => 1,
            ProgType::Kprobe => 2,
            ProgType::SchedCls => 3,
            ProgType::SchedAct => 4,
            ProgType::Tracepoint => 5,
            ProgType::Xdp => 6,
            ProgType::PerfEvent => 7,
            ProgType::CgroupSkb => 8,
            ProgType::RawTracepoint => 17,
            ProgType::Syscall => 31,
            ProgType::CgroupSock => 9,
            ProgType::LwtIn => 10,
            ProgType::LwtOut => 11,
            ProgType::LwtXmit => 12,
            ProgType::SockOps => 13,
            ProgType::SkSkb => 14,
            ProgType::CgroupDevice => 15,
            ProgType::SkMsg => 16,
            ProgType::CgroupSockAddr => 18,
            ProgType::SkReuseport => 21,
            ProgType::FlowDissector => 22,
            ProgType::CgroupSysctl => 23,
            ProgType::CgroupSockopt => 25,
            ProgType::SkLookup => 30,
            ProgType::Tracing => 26,
            ProgType::Lsm => 29,
            ProgType::RawTracepointWritable => 24,
        }
    }

    /// The snake_case name used in files and on command lines.
    pub fn name(self) -> &'static str {
        match self {
            ProgType::SocketFilter => "socket_filter",
            ProgType::Kprobe => "kprobe",
            ProgType::SchedCls => "sched_cls",
            ProgType::SchedAct => "sched_act",
            ProgType::Tracepoint => "tracepoint",
            ProgType::Xdp => "xdp",
            ProgType::PerfEvent => "perf_event",
            ProgType::CgroupSkb => "cgroup_skb",
            ProgType::RawTracepoint => "raw_tracepoint",
            ProgType::Syscall => "syscall",
            ProgType::CgroupSock => "cgroup_sock",
            ProgType::LwtIn => "lwt_in",
            ProgType::LwtOut => "lwt_out",
            ProgType::LwtXmit => "lwt_xmit",
            ProgType::SockOps => "sock_ops",
            ProgType::SkSkb => "sk_skb",
            ProgType::CgroupDevice => "cgroup_device",
            ProgType::SkMsg => "sk_msg",
            ProgType::CgroupSockAddr => "cgroup_sock_addr",
            ProgType::SkReuseport => "sk_reuseport",
            ProgType::FlowDissector => "flow_dissector",
            ProgType::CgroupSysctl => "cgroup_sysctl",
            ProgType::CgroupSockopt => "cgroup_sockopt",
            ProgType::SkLookup => "sk_lookup",
            ProgType::Tracing => "tracing",
            ProgType::Lsm => "lsm",
            ProgType::RawTracepointWritable => "raw_tracepoint_writable",
        }
    }

    /// Whether BPF_PROG_TEST_RUN accepts `repeat > 1` for this type.
    pub fn supports_repeat(self) -> bool {
        matches!(self, ProgType::SocketFilter | ProgType::SchedCls | ProgType::SchedAct | ProgType::Xdp)
    }
}

/// Verifier log level bits (`log_level` of `BPF_PROG_LOAD`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct LogLevel(pub u32);

impl LogLevel {
    /// No log.
    pub const NONE: LogLevel = LogLevel(0);
    /// `BPF_LOG_LEVEL1`: the failing path (rolled back to the stats line on success).
    pub const LEVEL1: LogLevel = LogLevel(1);
    /// `BPF_LOG_LEVEL2`: every instruction with states.
    pub const LEVEL2: LogLevel = LogLevel(2);
    /// `BPF_LOG_STATS`: `verification time`, `stack depth` and the `processed` line.
    pub const STATS: LogLevel = LogLevel(4);
}

impl std::ops::BitOr for LogLevel {
    type Output = LogLevel;
    fn bitor(self, rhs: LogLevel) -> LogLevel {
        LogLevel(self.0 | rhs.0)
    }
}

/// `BPF_F_STRICT_ALIGNMENT`.
pub const BPF_F_STRICT_ALIGNMENT: u32 = 1 << 0;
/// `BPF_F_TEST_STATE_FREQ`: a checkpoint at every prune point.
pub const BPF_F_TEST_STATE_FREQ: u32 = 1 << 3;
/// `BPF_F_TEST_REG_INVARIANTS`: a broken register invariant fails the load.
pub const BPF_F_TEST_REG_INVARIANTS: u32 = 1 << 7;
/// `BPF_F_SLEEPABLE` (forced on for [`ProgType::Syscall`]).
pub const BPF_F_SLEEPABLE: u32 = 1 << 4;
/// `BPF_PSEUDO_MAP_FD`: `ld_imm64` src value naming a map by fd.
pub const BPF_PSEUDO_MAP_FD: u8 = 1;
/// `BPF_PSEUDO_MAP_VALUE`: `ld_imm64` src value naming a map value by fd + offset.
pub const BPF_PSEUDO_MAP_VALUE: u8 = 2;

/// Everything `BPF_PROG_LOAD` is told besides the instructions.
#[derive(Debug, Clone)]
pub struct LoadRequest {
    /// Program type.
    pub prog_type: ProgType,
    /// Log level bits.
    pub log_level: LogLevel,
    /// Log buffer size in bytes (the kernel wants at least 128 when a log is requested).
    pub log_size: u32,
    /// License string (GPL-only helpers need a GPL-compatible one).
    pub license: String,
    /// `prog_flags` (e.g. [`BPF_F_STRICT_ALIGNMENT`]).
    pub prog_flags: u32,
    /// `expected_attach_type`.
    pub expected_attach_type: u32,
    /// `attach_btf_id` (vmlinux), 0 for none.
    pub attach_btf_id: u32,
    /// `fd_array` (for `BPF_PSEUDO_MAP_IDX` / kfunc BTF fds); empty for none.
    pub fd_array: Vec<RawFd>,
    /// Map descriptors substituted into map references: an `ld_imm64` whose src is
    /// `BPF_PSEUDO_MAP_FD` or `BPF_PSEUDO_MAP_VALUE` and whose imm is `i < map_fds.len()` gets
    /// `imm = map_fds[i]`. Other imm values go to the kernel unchanged.
    pub map_fds: Vec<RawFd>,
    /// Keep the program descriptor open in the verdict (for test runs and image dumps).
    pub keep_fd: bool,
    /// Program name (at most 15 bytes are used).
    pub name: String,
    /// Function declarations: when not empty, program BTF and `func_info` are built from them
    /// ([`crate::btf::program_btf`]) so the kernel knows argument counts and linkage.
    pub funcs: Vec<crate::btf::CaseFunc>,
    /// The object's own BTF with its func_info and line_info (what libbpf passes for a clang
    /// object); takes precedence over [`LoadRequest::funcs`].
    pub prog_btf: Option<ProgBtf>,
}

/// Program BTF as a loader passes it: the `.BTF` blob (loaded with `BPF_BTF_LOAD` first), and
/// the `bpf_func_info` / `bpf_line_info` records with instruction indices of the linked program.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProgBtf {
    /// The raw BTF blob.
    pub blob: Vec<u8>,
    /// `(insn_off, type_id)` per function, sorted.
    pub func_info: Vec<[u32; 2]>,
    /// `(insn_off, file_name_off, line_off, line_col)`, sorted.
    pub line_info: Vec<[u32; 4]>,
}

impl LoadRequest {
    /// A request for `prog_type` with log level 1|4, a 16 MiB log, GPL and the fd closed.
    pub fn new(prog_type: ProgType) -> LoadRequest {
        LoadRequest {
            prog_type,
            log_level: LogLevel::LEVEL1 | LogLevel::STATS,
            log_size: 16 << 20,
            license: "GPL".to_string(),
            prog_flags: 0,
            expected_attach_type: 0,
            attach_btf_id: 0,
            fd_array: Vec::new(),
            map_fds: Vec::new(),
            keep_fd: false,
            name: "kbpf_oracle".to_string(),
            funcs: Vec::new(),
            prog_btf: None,
        }
    }
}

/// Counters of the `processed N insns ...` line.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct VerifierStats {
    /// `processed N insns`.
    pub processed_insns: Option<u64>,
    /// `total_states`.
    pub total_states: Option<u64>,
    /// `peak_states`.
    pub peak_states: Option<u64>,
    /// `max_states_per_insn`.
    pub max_states_per_insn: Option<u64>,
    /// `mark_read`.
    pub mark_read: Option<u64>,
    /// `verification time N usec` (needs [`LogLevel::STATS`]).
    pub verification_time_us: Option<u64>,
    /// `stack depth A+B+...`, one entry per subprogram.
    pub stack_depth: Option<Vec<u32>>,
}

/// What the kernel said about one program.
#[derive(Debug)]
pub struct KernelVerdict {
    /// The program was loaded.
    pub accepted: bool,
    /// errno of a rejection.
    pub errno: Option<Errno>,
    /// The verifier log (may be the rotated tail if the buffer was too small).
    pub log: String,
    /// `log_true_size`: bytes the full log needed.
    pub log_true_size: u32,
    /// Statistics parsed from the log.
    pub stats: VerifierStats,
    /// See [`error_line`].
    pub error_line: Option<String>,
    /// The program descriptor when accepted and [`LoadRequest::keep_fd`] was set.
    pub fd: Option<OwnedFd>,
    /// Wall-clock duration of the syscall in nanoseconds.
    pub load_wall_ns: u64,
    /// The log did not fit the buffer (`log_true_size` > buffer). The kernel then keeps the
    /// tail of a level-1 log and fails the load with ENOSPC, whatever the verdict was.
    pub log_truncated: bool,
}

impl KernelVerdict {
    /// `processed N insns`.
    pub fn processed_insns(&self) -> Option<u64> {
        self.stats.processed_insns
    }

    /// `verification time N usec`.
    pub fn verification_time_us(&self) -> Option<u64> {
        self.stats.verification_time_us
    }
}

/// Loads `slots` into the running kernel. Never panics; a kernel that refuses the syscall
/// itself (no permission, not Linux) shows up as a rejection with that errno and an empty log.
/// A log that overflows `log_size` makes the kernel fail the load with ENOSPC even for a valid
/// program ([`KernelVerdict::log_truncated`] tells); reload with [`LogLevel::STATS`] for the verdict.
pub fn load(slots: &[RawInsn], req: &LoadRequest) -> KernelVerdict {
    let mut bytes = Vec::with_capacity(slots.len() * RawInsn::BYTES);
    for &s in slots {
        let mut s = s;
        let map_ref = s.is_ldimm64() && (s.src == BPF_PSEUDO_MAP_FD || s.src == BPF_PSEUDO_MAP_VALUE);
        if map_ref && let Some(&fd) = usize::try_from(s.imm).ok().and_then(|k| req.map_fds.get(k)) {
            s.imm = fd;
        }
        bytes.extend_from_slice(&s.to_bytes());
    }
    let license = nul_terminated(&req.license);
    let want_log = req.log_level.0 != 0;
    let log_size = if want_log { req.log_size.max(128) } else { 0 };
    let mut log = vec![0u8; log_size as usize];
    let mut flags = req.prog_flags;
    if req.prog_type == ProgType::Syscall {
        flags |= BPF_F_SLEEPABLE;
    }
    let insn_cnt = u32::try_from(slots.len()).unwrap_or(u32::MAX);

    let mut a = Attr::new();
    a.put_u32(0, req.prog_type.raw());
    a.put_u32(4, insn_cnt);
    a.put_u64(8, sys::addr(bytes.as_ptr()));
    a.put_u64(16, sys::addr(license.as_ptr()));
    if want_log {
        a.put_u32(24, req.log_level.0);
        a.put_u32(28, log_size);
        a.put_u64(32, sys::addr(log.as_mut_ptr()));
    }
    a.put_u32(44, flags);
    let name: Vec<u8> =
        req.name.bytes().filter(|b| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'.').take(15).collect();
    a.put_bytes(48, &name);
    a.put_u32(68, req.expected_attach_type);
    a.put_u32(108, req.attach_btf_id);
    if !req.fd_array.is_empty() {
        a.put_u64(120, sys::addr(req.fd_array.as_ptr()));
    }
    let mut _btf_fd = None;
    let mut func_info: Vec<u8> = Vec::new(); // outlives the syscall
    let mut line_info: Vec<u8> = Vec::new(); // outlives the syscall
    let built = if let Some(p) = &req.prog_btf {
        Some((p.blob.clone(), p.func_info.clone()))
    } else if !req.funcs.is_empty() {
        Some(crate::btf::program_btf(slots, &req.funcs))
    } else {
        None
    };
    if let Some((blob, records)) = built {
        match crate::btf::load_btf(&blob) {
            Ok(fd) => {
                use std::os::fd::AsRawFd;
                a.put_u32(72, fd.as_raw_fd() as u32);
                _btf_fd = Some(fd);
            }
            Err((e, log)) => {
                return KernelVerdict {
                    accepted: false,
                    errno: Some(e),
                    error_line: Some(format!("(oracle) BTF load failed: {}", log.trim_end())),
                    log,
                    log_true_size: 0,
                    stats: VerifierStats::default(),
                    fd: None,
                    load_wall_ns: 0,
                    log_truncated: false,
                };
            }
        }
        func_info.extend(records.iter().flat_map(|r| r.iter().flat_map(|w| w.to_le_bytes())));
        if !records.is_empty() {
            a.put_u32(76, 8);
            a.put_u64(80, sys::addr(func_info.as_ptr()));
            a.put_u32(88, records.len() as u32);
        }
        let lines = req.prog_btf.as_ref().map_or(&[][..], |p| &p.line_info[..]);
        line_info.extend(lines.iter().flat_map(|r| r.iter().flat_map(|w| w.to_le_bytes())));
        if !lines.is_empty() {
            a.put_u32(92, 16);
            a.put_u64(96, sys::addr(line_info.as_ptr()));
            a.put_u32(104, lines.len() as u32);
        }
    }
    let t = Instant::now();
    // `bytes`, `license`, `log`, `fd_array`, `func_info` and `line_info` outlive the call;
    // sizes and counts are those stored above.
    let r = sys::bpf(Cmd::ProgLoad, &mut a);
    let load_wall_ns = u64::try_from(t.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let log_true_size = a.get_u32(140);
    let log_truncated = want_log && log_true_size > log_size;
    let end = log.iter().position(|&b| b == 0).unwrap_or(log.len());
    let log = String::from_utf8_lossy(&log[..end]).into_owned();
    let stats = parse_stats(&log);
    match r {
        Ok(fd) => {
            let owned = sys::own_fd(fd);
            KernelVerdict {
                accepted: true,
                errno: None,
                log,
                log_true_size,
                stats,
                error_line: None,
                fd: if req.keep_fd { owned } else { None },
                load_wall_ns,
                log_truncated,
            }
        }
        Err(e) => {
            let error_line = error_line(&log);
            KernelVerdict {
                accepted: false,
                errno: Some(e),
                log,
                log_true_size,
                stats,
                error_line,
                fd: None,
                load_wall_ns,
                log_truncated,
            }
        }
    }
}

fn nul_terminated(s: &str) -> Vec<u8> {
    let mut v: Vec<u8> = s.bytes().filter(|&b| b != 0).collect();
    v.push(0);
    v
}

/// Whether `line` is one of the summary lines the kernel appends after verification
/// (`verification time`, `stack depth`, `processed N insns (limit ...)`).
pub fn is_trailer_line(line: &str) -> bool {
    line.starts_with("verification time ")
        || line.starts_with("stack depth ")
        || (line.starts_with("processed ") && line.contains(" insns (limit "))
}

/// The kernel's error line of a rejection log: the last non-empty line once the summary lines
/// ([`is_trailer_line`]) are removed, with trailing whitespace trimmed. This is the line
/// `kernel-diff` compares byte for byte with kbpf's. For most rejections it is the message
/// itself (`R2 !read_ok`, `invalid shift 64`); where the kernel prints a two-line message (e.g.
/// `invalid access to map value, ...` then `R0 min value is outside of the allowed memory
/// range`) it is the second line; for `infinite loop detected` it is the `old state: ...` dump
/// the kernel prints after it. `None` when the log has no such line (no log requested, or the
/// syscall failed before the verifier ran).
pub fn error_line(log: &str) -> Option<String> {
    log.lines().map(str::trim_end).rfind(|l| !l.is_empty() && !is_trailer_line(l)).map(str::to_string)
}

/// Parses the `processed`, `verification time` and `stack depth` lines of a log.
pub fn parse_stats(log: &str) -> VerifierStats {
    let mut st = VerifierStats::default();
    for line in log.lines() {
        if let Some(rest) = line.strip_prefix("verification time ") {
            st.verification_time_us = rest.split_whitespace().next().and_then(|n| n.parse().ok());
        } else if let Some(rest) = line.strip_prefix("stack depth ") {
            st.stack_depth = rest.trim().split('+').map(|n| n.parse().ok()).collect();
        } else if line.starts_with("processed ") && line.contains(" insns (limit ") {
            let toks: Vec<&str> = line.split_whitespace().collect();
            let after = |key: &str| -> Option<u64> {
                let p = toks.iter().position(|t| *t == key)?;
                toks.get(p + 1)?.parse().ok()
            };
            st.processed_insns = after("processed");
            st.max_states_per_insn = after("max_states_per_insn");
            st.total_states = after("total_states");
            st.peak_states = after("peak_states");
            st.mark_read = after("mark_read");
        }
    }
    st
}

/// Whether the running kernel loads programs that need a BPF trampoline: an fentry program
/// without an attach BTF id is refused by the verifier (`EINVAL`) on a kernel that does, and
/// with `EPERM` before verification by one built to refuse them. `None`: no answer (no
/// `bpf()`, or another errno).
pub fn kernel_loads_trampolines() -> Option<bool> {
    // BPF_TRACE_FENTRY
    let req = LoadRequest { expected_attach_type: 24, ..LoadRequest::new(ProgType::Tracing) };
    let exit = [RawInsn::new(0xb7, 0, 0, 0, 0), RawInsn::new(0x95, 0, 0, 0, 0)];
    let v = load(&exit, &req);
    match v.errno {
        Some(Errno::EINVAL) => Some(true),
        Some(Errno::EPERM) => Some(false),
        _ => None,
    }
}

/// Whether the running kernel loads iterators with buffer context arguments: an iterator on
/// the map element target (`btf_id` of `bpf_iter_bpf_map_elem` in vmlinux) is accepted by a
/// kernel that does and refused with `EPERM` by one built not to. `None`: no answer.
pub fn kernel_loads_buffer_iters(btf_id: u32) -> Option<bool> {
    // BPF_TRACE_ITER
    let req = LoadRequest {
        expected_attach_type: 28,
        attach_btf_id: btf_id,
        ..LoadRequest::new(ProgType::Tracing)
    };
    let exit = [RawInsn::new(0xb7, 0, 0, 0, 0), RawInsn::new(0x95, 0, 0, 0, 0)];
    let v = load(&exit, &req);
    match (v.accepted, v.errno) {
        (true, _) => Some(true),
        (false, Some(Errno::EPERM)) => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "0: R1=ctx() R10=fp0\n0: (bf) r0 = r2\nR2 !read_ok\nverification time 58 usec\n\
                       stack depth 0+16\nprocessed 1 insns (limit 1000000) max_states_per_insn 2 \
                       total_states 3 peak_states 4 mark_read 5\n";

    #[test]
    fn stats_are_parsed() {
        let st = parse_stats(LOG);
        assert_eq!(st.processed_insns, Some(1));
        assert_eq!(st.max_states_per_insn, Some(2));
        assert_eq!(st.total_states, Some(3));
        assert_eq!(st.peak_states, Some(4));
        assert_eq!(st.mark_read, Some(5));
        assert_eq!(st.verification_time_us, Some(58));
        assert_eq!(st.stack_depth, Some(vec![0, 16]));
    }

    #[test]
    fn error_line_skips_trailer() {
        assert_eq!(error_line(LOG).as_deref(), Some("R2 !read_ok"));
        assert_eq!(error_line(""), None);
        assert_eq!(error_line("processed 0 insns (limit 1000000) max_states_per_insn 0\n"), None);
    }
}
