//! Tracing contexts without an attach target: kprobe (`struct pt_regs`), tracepoint (the raw
//! record), raw_tracepoint (`u64` arguments), raw_tracepoint.w (the writable buffer) and
//! perf_event (`struct bpf_perf_event_data`); each type's helpers and return values.

use kbpf_isa::BpfFunc as F;

use super::asm::*;
use super::rng::Rng;
use crate::case::Case;
use crate::load::ProgType;
use crate::map::{MapKind, MapSpec};

const FAM: &str = "trace_ctx";

/// The program types of the family, with the size of their context's readable area on x86_64
/// (pt_regs 168; a tracepoint record up to 8192, `PERF_MAX_TRACE_SIZE`; 12 raw arguments;
/// perf data 184).
const TYPES: [(ProgType, i64); 5] = [
    (ProgType::Kprobe, 168),
    (ProgType::Tracepoint, 8192),
    (ProgType::RawTracepoint, 96),
    (ProgType::RawTracepointWritable, 96),
    (ProgType::PerfEvent, 184),
];

/// Helpers whose availability differs between tracing types.
const HELPERS: [F; 18] = [
    F::ProbeReadKernel,
    F::ProbeReadUser,
    F::ProbeReadKernelStr,
    F::ProbeReadUserStr,
    F::GetCurrentTask,
    F::GetCurrentTaskBtf,
    F::GetStack,
    F::PerfEventOutput,
    F::GetFuncIp,
    F::GetAttachCookie,
    F::KtimeGetNs,
    F::GetCurrentPidTgid,
    F::SendSignal,
    F::CopyFromUser,
    F::GetStackid,
    F::TracePrintk,
    F::SkcToTcpSock,
    F::GetSmpProcessorId,
];

/// The family: deterministic helper × type and return-value grids, then random context
/// accesses per type.
pub fn trace_ctx(rng: &mut Rng, n: usize) -> Vec<Case> {
    let mut out = Vec::new();
    for (ty, _) in TYPES {
        for h in HELPERS {
            let (p, maps) = helper_call(h);
            let c = Case::new(FAM, format!("helper_{}_{}", ty.name(), helper_label(h as i32)), ty, p)
                .with_maps(maps);
            out.push(c);
        }
        // a helper that writes its buffer may be given uninitialised stack
        let (mut p, _) = helper_call(F::GetStack);
        p.drain(1..3);
        out.push(Case::new(FAM, format!("get_stack_uninit_{}", ty.name()), ty, p));
        // just before the context (a tracepoint's check of negative offsets is unsigned)
        for off in [-16i16, -8, -4, -1] {
            for sz in [Sz::Dw, Sz::W, Sz::B] {
                let p = vec![ldx(sz, 0, 1, off), exit()];
                out.push(Case::new(FAM, format!("neg_{}_{}_{off}", ty.name(), sz.bytes()), ty, p));
            }
        }
        for (tag, ret) in [("r0_unset", None), ("r0_0", Some(0)), ("r0_1", Some(1)), ("r0_m1", Some(-1))] {
            let mut p = Vec::new();
            if let Some(v) = ret {
                p.push(mov(0, v));
            }
            p.push(exit());
            out.push(Case::new(FAM, format!("ret_{}_{tag}", ty.name()), ty, p));
        }
    }
    while out.len() < n {
        let i = out.len();
        let (ty, size) = rng.pick(&TYPES);
        let (desc, p) = access(rng, ty, size);
        out.push(Case::new(FAM, format!("{i:04}_{}_{desc}", ty.name()), ty, p));
    }
    out
}

/// One random context access of `ty` near the edges of its readable area.
fn access(rng: &mut Rng, ty: ProgType, size: i64) -> (String, Vec<kbpf_isa::RawInsn>) {
    let sz = rng.pick(&SIZES);
    let off = match rng.below(4) {
        0 => rng.range(-8, 16),
        1 => size - rng.range(-8, 16),
        2 => rng.range(0, size / 8) * 8,
        _ => rng.range(0, size / 8) * 8 + rng.range(1, 7),
    };
    let off16 = off.clamp(-512, 4096) as i16;
    match rng.below(6) {
        0 => ("stx".into(), vec![mov(2, 1), stx(sz, 1, 2, off16), mov(0, 0), exit()]),
        1 => ("st".into(), vec![st(sz, 1, off16, 3), mov(0, 0), exit()]),
        // raw_tracepoint.w's argument 0 is the writable buffer: through it
        2 if ty == ProgType::RawTracepointWritable => {
            let w = rng.chance(1, 2);
            let o = rng.range(-4, 64) as i16;
            let body = if w { st(sz, 2, o, 1) } else { ldx(sz, 0, 2, o) };
            let tag = if w { "buf_st" } else { "buf_ld" };
            (format!("{tag}_{}_{o}", sz.bytes()), vec![ldx(Sz::Dw, 2, 1, 0), body, mov(0, 0), exit()])
        }
        // a loaded value used as a pointer: scalars from the context are not pointers
        3 => ("deref".into(), vec![ldx(Sz::Dw, 2, 1, 8), ldx(Sz::Dw, 0, 2, 0), exit()]),
        // a variable offset into the context
        4 => {
            let p = vec![
                ldx(Sz::Dw, 2, 1, 16),
                alu64i(Op::And, 2, 8),
                alu64r(Op::Add, 1, 2),
                ldx(Sz::Dw, 0, 1, 0),
                exit(),
            ];
            ("varoff".into(), p)
        }
        _ => (format!("ld_{}_{off}", sz.bytes()), vec![ldx(sz, 0, 1, off16), exit()]),
    }
}

/// `helper(args)` with arguments each helper accepts, saving the context in r6 first.
fn helper_call(h: F) -> (Vec<kbpf_isa::RawInsn>, Vec<MapSpec>) {
    let mut p = vec![movr(6, 1), st(Sz::Dw, 10, -8, 0), st(Sz::Dw, 10, -16, 0)];
    let mut maps = Vec::new();
    let buf = |p: &mut Vec<_>, reg: u8| {
        p.push(movr(reg, 10));
        p.push(alu64i(Op::Add, reg, -16));
    };
    match h {
        F::ProbeReadKernel
        | F::ProbeReadUser
        | F::ProbeReadKernelStr
        | F::ProbeReadUserStr
        | F::CopyFromUser => {
            buf(&mut p, 1);
            p.push(mov(2, 16));
            p.push(mov(3, 0));
        }
        F::GetStack => {
            p.push(movr(1, 6));
            buf(&mut p, 2);
            p.push(mov(3, 16));
            p.push(mov(4, 0));
        }
        F::PerfEventOutput => {
            maps.push(MapSpec::keyed(MapKind::PerfEventArray, 4, 4, "events"));
            p.push(movr(1, 6));
            p.extend(ld_map(2, 0));
            p.extend(ld_imm64(3, 0xffff_ffff));
            buf(&mut p, 4);
            p.push(mov(5, 16));
        }
        F::GetStackid => {
            maps.push(MapSpec::keyed(MapKind::PerfEventArray, 4, 4, "events"));
            p.push(movr(1, 6));
            p.extend(ld_map(2, 0));
            p.push(mov(3, 0));
        }
        F::GetFuncIp | F::GetAttachCookie => p.push(movr(1, 6)),
        F::SendSignal => p.push(mov(1, 10)),
        F::TracePrintk => {
            buf(&mut p, 1);
            p.push(mov(2, 8));
        }
        F::SkcToTcpSock => p.push(mov(1, 0)),
        _ => {}
    }
    p.push(call(h as i32));
    p.extend(ret0());
    (p, maps)
}
