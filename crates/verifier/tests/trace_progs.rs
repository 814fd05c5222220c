//! The tracing program types of `kernel/trace/bpf_trace.c` (kprobe, tracepoint, raw
//! tracepoint, writable raw tracepoint, perf event): their context rules, helper sets and the
//! checks that only apply to them. Messages are Linux 6.18's (`check_ctx_access`,
//! `check_helper_call`, `check_get_func_ip`, `__check_buffer_access`,
//! `check_map_prog_compatibility`).

mod common;
use common::*;
use kbpf_verifier::{
    Errno, KernelConfig, KprobeAttach, KprobeProg, Lockdown, MapDef, MapKind, ProgType, VerifyOptions,
    VerifyOutcome,
};

fn run_as(pt: ProgType, src: &str, f: impl FnOnce(&mut VerifyOptions)) -> VerifyOutcome {
    let mut opts = VerifyOptions { prog_type: pt, log_level: 1, stack_args: false, ..Default::default() };
    f(&mut opts);
    verify_src(src, Vec::new(), opts)
}

fn kprobe() -> ProgType {
    ProgType::Kprobe(KprobeProg::default())
}

fn map(fd: i32, kind: MapKind, key_size: u32, value_size: u32) -> MapDef {
    MapDef { fd, name: format!("m{fd}"), kind, key_size, value_size, max_entries: 4096, ..Default::default() }
}

#[test]
fn context_reads_and_writes() {
    let read = |pt, off: i32| run_as(pt, &format!("r0 = *(u64 *)(r1 {off:+})\nexit\n"), |_| {});
    accepts(&read(kprobe(), 160));
    rejects(&read(kprobe(), 168), Errno::EACCES, "invalid bpf_context access off=168 size=8");
    let write = run_as(kprobe(), "*(u64 *)(r1 +0) = 0\nr0 = 0\nexit\n", |_| {});
    rejects(&write, Errno::EACCES, "invalid bpf_context access off=0 size=8");
    rejects(&read(ProgType::Tracepoint, 0), Errno::EACCES, "invalid bpf_context access off=0 size=8");
    accepts(&read(ProgType::Tracepoint, 8));
    accepts(&read(ProgType::RawTracepoint, 88));
    rejects(&read(ProgType::RawTracepoint, 96), Errno::EACCES, "invalid bpf_context access off=96 size=8");
    let pe = ProgType::PerfEvent { arch: Default::default() };
    accepts(&read(pe, 176));
    let narrow_reg = run_as(pe, "r0 = *(u32 *)(r1 +0)\nexit\n", |_| {});
    rejects(&narrow_reg, Errno::EACCES, "invalid bpf_context access off=0 size=4");
    accepts(&run_as(pe, "r0 = *(u32 *)(r1 +172)\nexit\n", |_| {}));
}

#[test]
fn writable_tracepoint_buffer() {
    let w = ProgType::RawTracepointWritable;
    let ok =
        run_as(w, "r6 = *(u64 *)(r1 +0)\nr6 += 8\nr0 = *(u64 *)(r6 +0)\n*(u64 *)(r6 +8) = r0\nexit\n", |o| {
            o.log_level = 2
        });
    accepts(&ok);
    assert!(ok.log.contains("R6=tp_buffer()"), "{}", ok.log);
    let negative = run_as(w, "r6 = *(u64 *)(r1 +0)\nr0 = *(u64 *)(r6 -8)\nexit\n", |_| {});
    rejects(&negative, Errno::EACCES, "R6 invalid tracepoint buffer access: off=-8, size=8");
    let variable = run_as(
        w,
        "r6 = *(u64 *)(r1 +0)\nr2 = *(u64 *)(r1 +8)\nr2 &= 0xff\nr6 += r2\nr0 = *(u8 *)(r6 +0)\nexit\n",
        |_| {},
    );
    rejects(&variable, Errno::EACCES, "R6 invalid variable buffer offset: off=0, var_off=(0x0; 0xff)");
}

#[test]
fn helper_sets_per_type() {
    let call = |pt, helper: &str| run_as(pt, &format!("call {helper}\nexit\n"), |_| {});
    // the tracing set: not the packet helpers, not the coarse clock
    accepts(&call(kprobe(), "bpf_get_current_pid_tgid"));
    rejects(
        &call(ProgType::RawTracepoint, "bpf_ktime_get_coarse_ns"),
        Errno::EINVAL,
        "program of this type cannot use helper bpf_ktime_get_coarse_ns#160",
    );
    // bpf_get_func_ip: only kprobes (and trampolines) support it
    let ip = "r1 = r1\ncall bpf_get_func_ip\nexit\n";
    accepts(&run_as(kprobe(), ip, |_| {}));
    rejects(
        &run_as(ProgType::Tracepoint, ip, |_| {}),
        Errno::ENOTSUPP,
        "func bpf_get_func_ip#173 not supported for program type 5",
    );
    // the lockdown the kernel booted with withholds probe_write_user
    let write_user =
        "r1 = 0\nr2 = r10\nr2 += -8\n*(u64 *)(r10 -8) = 0\nr3 = 8\ncall bpf_probe_write_user\nexit\n";
    accepts(&run_as(kprobe(), write_user, |_| {}));
    let locked = run_as(kprobe(), write_user, |o| {
        o.kernel_config =
            KernelConfig { lockdown: Lockdown::Integrity, kprobe_override: false, lirc_mode2: false };
    });
    rejects(&locked, Errno::EINVAL, "program of this type cannot use helper bpf_probe_write_user#36");
    // a BTF-typed helper kbpf does not model is unsupported, not refused
    let btf = call(kprobe(), "bpf_get_current_task_btf");
    assert_eq!(btf.error.expect("refused").kind(), kbpf_verifier::RejectKind::Unsupported);
}

#[test]
fn session_kprobes_return_zero_or_one() {
    let session = ProgType::Kprobe(KprobeProg { attach: KprobeAttach::KprobeSession, ..Default::default() });
    accepts(&run_as(session, "r0 = 1\nexit\n", |_| {}));
    rejects(
        &run_as(session, "r0 = 2\nexit\n", |_| {}),
        Errno::EINVAL,
        "At program exit the register R0 has smin=2 smax=2 should have been in [0, 1]",
    );
    accepts(&run_as(kprobe(), "r0 = 2\nexit\n", |_| {}));
}

#[test]
fn stack_traces_and_perf_events() {
    let maps = |o: &mut VerifyOptions| {
        o.maps = vec![map(1, MapKind::StackTrace, 4, 1016), map(2, MapKind::PerfEventArray, 4, 4)]
    };
    let stackid = "r6 = r1\nr2 = map_fd(1) ll\nr3 = 0\ncall bpf_get_stackid\nexit\n";
    accepts(&run_as(ProgType::Tracepoint, stackid, maps));
    let lookup = "*(u32 *)(r10 -4) = 0\nr2 = r10\nr2 += -4\nr1 = map_fd(1) ll\ncall bpf_map_lookup_elem\nr0 = 0\nexit\n";
    rejects(
        &run_as(ProgType::Tracepoint, lookup, maps),
        Errno::EINVAL,
        "cannot pass map_type 7 into func bpf_map_lookup_elem#1",
    );
    let output = "*(u64 *)(r10 -8) = 0\nr4 = r10\nr4 += -8\nr2 = map_fd(2) ll\nr3 = 0\nr5 = 8\n\
                  call bpf_perf_event_output\nexit\n";
    accepts(&run_as(ProgType::RawTracepoint, output, maps));
    let wrong_map = "r6 = r1\nr2 = map_fd(2) ll\nr3 = 0\ncall bpf_get_stackid\nexit\n";
    rejects(
        &run_as(kprobe(), wrong_map, maps),
        Errno::EINVAL,
        "cannot pass map_type 4 into func bpf_get_stackid#27",
    );
}

#[test]
fn ring_buffer_records_are_references() {
    let rb = |o: &mut VerifyOptions| {
        o.maps = vec![MapDef {
            fd: 1,
            name: "rb".into(),
            kind: MapKind::RingBuf,
            max_entries: 4096,
            ..Default::default()
        }]
    };
    let reserve = "r1 = map_fd(1) ll\nr2 = 16\nr3 = 0\ncall bpf_ringbuf_reserve\n";
    let submit = format!(
        "{reserve}if r0 == 0 goto out\n*(u64 *)(r0 +8) = 1\nr1 = r0\nr2 = 0\ncall bpf_ringbuf_submit\nout:\nr0 = 0\nexit\n"
    );
    let out = run_as(kprobe(), &submit, |o| {
        rb(o);
        o.log_level = 2;
    });
    accepts(&out);
    assert!(out.log.contains("R0=ringbuf_mem_or_null(id=2,ref_obj_id=2,sz=16)"), "{}", out.log);
    let leak = run_as(kprobe(), &format!("{reserve}r0 = 0\nexit\n"), rb);
    rejects(&leak, Errno::EINVAL, "BPF_EXIT instruction in main prog would lead to reference leak");
    let unchecked =
        run_as(kprobe(), &format!("{reserve}r1 = r0\nr2 = 0\ncall bpf_ringbuf_discard\nr0 = 0\nexit\n"), rb);
    rejects(&unchecked, Errno::EACCES, "R1 type=ringbuf_mem_or_null expected=ringbuf_mem");
    let past = run_as(
        kprobe(),
        &format!(
            "{reserve}if r0 == 0 goto out\n*(u64 *)(r0 +16) = 1\nr1 = r0\nr2 = 0\ncall bpf_ringbuf_discard\nout:\nr0 = 0\nexit\n"
        ),
        rb,
    );
    rejects(&past, Errno::EACCES, "R0 min value is outside of the allowed memory range");
    assert!(past.log.contains("invalid access to memory, mem_size=16 off=16 size=8\n"), "{}", past.log);
    let moved = run_as(
        kprobe(),
        &format!(
            "{reserve}if r0 == 0 goto out\nr0 += 8\nr1 = r0\nr2 = 0\ncall bpf_ringbuf_submit\nout:\nr0 = 0\nexit\n"
        ),
        rb,
    );
    rejects(
        &moved,
        Errno::EINVAL,
        "R1 must have zero offset when passed to release func or trusted arg to kfunc",
    );
}

#[test]
fn tracing_programs_cannot_use_timers() {
    let timer_map = |o: &mut VerifyOptions| {
        o.maps = vec![MapDef {
            record: MapDef::timer_record(Some(0)),
            max_entries: 1,
            ..map(1, MapKind::Array, 4, 16)
        }]
    };
    let src = "r1 = map_fd(1) ll\nr0 = 0\nexit\n";
    rejects(&run_as(kprobe(), src, timer_map), Errno::EINVAL, "tracing progs cannot use bpf_timer yet");
    accepts(&run_as(ProgType::SchedCls, src, timer_map));
}
