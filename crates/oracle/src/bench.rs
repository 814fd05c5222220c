//! Kernel bench figures: the `*.kernel.hex` programs of `benches/programs/` run as SOCKET_FILTER
//! through `BPF_PROG_TEST_RUN` with `repeat`, N passed as `__sk_buff.mark` (offset 8).

use std::os::fd::AsFd;
use std::path::Path;

use kbpf_isa::RawInsn;

use crate::case::slots_from_hex;
use crate::errno::Errno;
use crate::load::{LoadRequest, LogLevel, ProgType, load};
use crate::run::{jited_image, test_run};

/// `sizeof(struct __sk_buff)` on 6.18.
pub const SK_BUFF_SIZE: usize = 192;
/// Offset of `__sk_buff.mark`, where the bench programs read N.
pub const MARK_OFFSET: usize = 8;

/// Why a kernel bench could not run.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// Reading the hex file failed.
    #[error("reading {path}: {msg}")]
    Read {
        /// File.
        path: String,
        /// Reason.
        msg: String,
    },
    /// The kernel rejected the program.
    #[error("kernel rejected the program ({errno:?}): {error_line}")]
    Rejected {
        /// errno.
        errno: Option<Errno>,
        /// Last log line.
        error_line: String,
    },
    /// BPF_PROG_TEST_RUN failed.
    #[error("BPF_PROG_TEST_RUN failed: {0}")]
    TestRun(Errno),
}

/// Figures of one kernel bench.
#[derive(Debug, Clone, PartialEq)]
pub struct KernelBench {
    /// Low 32 bits of r0.
    pub retval: u32,
    /// Per-run duration (ns) of each round, sorted.
    pub rounds_ns: Vec<u32>,
    /// Median of `rounds_ns`.
    pub median_ns: f64,
    /// Instruction slots.
    pub insns: usize,
    /// Bytes of the kernel's JIT image.
    pub jited_len: usize,
    /// Kernel `verification time` in usec.
    pub verification_time_us: Option<u64>,
}

/// Reads a bench `.hex` file (one 8-byte slot per line as 16 hex digits).
pub fn read_hex_file(path: &Path) -> Result<Vec<RawInsn>, BenchError> {
    let err = |msg: String| BenchError::Read { path: path.display().to_string(), msg };
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    slots_from_hex(&text).map_err(err)
}

/// The test-run context: a zeroed `__sk_buff` with `mark = n`.
pub fn bench_ctx(n: u32) -> Vec<u8> {
    let mut ctx = vec![0u8; SK_BUFF_SIZE];
    ctx[MARK_OFFSET..MARK_OFFSET + 4].copy_from_slice(&n.to_le_bytes());
    ctx
}

/// The packet: 64 bytes, ethertype IPv4.
pub fn bench_packet() -> Vec<u8> {
    let mut p = vec![0u8; 64];
    p[12] = 0x08;
    p
}

/// Loads `slots` as SOCKET_FILTER and times `rounds` test runs of `repeat` executions each.
pub fn bench_slots(slots: &[RawInsn], n: u32, repeat: u32, rounds: usize) -> Result<KernelBench, BenchError> {
    let mut req = LoadRequest::new(ProgType::SocketFilter);
    req.log_level = LogLevel::STATS;
    req.keep_fd = true;
    req.name = "kbpf_bench".into();
    let v = load(slots, &req);
    let Some(fd) = v.fd else {
        return Err(BenchError::Rejected { errno: v.errno, error_line: v.error_line.unwrap_or_default() });
    };
    let ctx = bench_ctx(n);
    let pkt = bench_packet();
    let mut rounds_ns = Vec::with_capacity(rounds);
    let mut retval = 0;
    for _ in 0..rounds.max(1) {
        let r = test_run(fd.as_fd(), &ctx, &pkt, repeat).map_err(BenchError::TestRun)?;
        retval = r.retval;
        rounds_ns.push(r.duration_ns);
    }
    rounds_ns.sort_unstable();
    let median_ns = median_u32(&rounds_ns);
    let jited_len = jited_image(fd.as_fd()).map(|j| j.len()).unwrap_or(0);
    Ok(KernelBench {
        retval,
        rounds_ns,
        median_ns,
        insns: slots.len(),
        jited_len,
        verification_time_us: v.stats.verification_time_us,
    })
}

fn median_u32(sorted: &[u32]) -> f64 {
    match sorted.len() {
        0 => 0.0,
        l if l % 2 == 1 => sorted[l / 2] as f64,
        l => (sorted[l / 2 - 1] as f64 + sorted[l / 2] as f64) / 2.0,
    }
}

/// ns per execution of the program in `hex_path` with N = `n`: median of 11 rounds of `repeat`.
pub fn bench_kernel(hex_path: &Path, n: u32, repeat: u32) -> Result<f64, BenchError> {
    let slots = read_hex_file(hex_path)?;
    bench_slots(&slots, n, repeat, 11).map(|b| b.median_ns)
}
