//! Dynptr stack objects: constructors, overwrites, slices, ringbuf references.

use super::*;

#[test]
fn skb_dynptr_slots_and_size() {
    let out = run(&format!("{SKB_DYNPTR_16}r1 = r10\nr1 += -16\ncall bpf_dynptr_size\nexit\n"));
    accepts(&out);
    assert_eq!(post(&out, 3), "R0=scalar() fp-16=dynptr_skb(id=1,dynptr_id=1)");
    assert_eq!(post(&out, 6), "R0=scalar() fp-16=dynptr_skb(id=1,dynptr_id=1)");
}

#[test]
fn dynptr_constructor_is_program_type_gated() {
    let out = run_with(&format!("{SKB_DYNPTR_16}r0 = 0\nexit\n"), |o| o.prog_type = ProgType::Xdp);
    rejects(&out, Errno::EACCES, "calling kernel function bpf_dynptr_from_skb is not allowed");
}

#[test]
fn dynptr_uninit_and_init_rules() {
    let misaligned = run("r2 = 0\nr3 = r10\nr3 += -12\ncall bpf_dynptr_from_skb\nr0 = 0\nexit\n");
    rejects(&misaligned, Errno::EINVAL, "Dynptr has to be an uninitialized dynptr");
    assert!(misaligned.log.contains("cannot pass in dynptr at an offset=-12\n"));
    let uninit = run("r1 = r10\nr1 += -16\ncall bpf_dynptr_size\nexit\n");
    rejects(&uninit, Errno::EINVAL, "Expected an initialized dynptr as arg #0");
    let second_slot = run(&format!("{SKB_DYNPTR_16}r1 = r10\nr1 += -8\ncall bpf_dynptr_size\nexit\n"));
    rejects(&second_slot, Errno::EINVAL, "Expected an initialized dynptr as arg #0");
    let scalar = run("r1 = 0\ncall bpf_dynptr_size\nexit\n");
    rejects(&scalar, Errno::EINVAL, "arg#0 expected pointer to stack or const struct bpf_dynptr");
}

#[test]
fn partial_overwrite_destroys_the_dynptr() {
    let src =
        format!("{SKB_DYNPTR_16}*(u32 *)(r10 -12) = 0\nr1 = r10\nr1 += -16\ncall bpf_dynptr_size\nexit\n");
    let out = run(&src);
    assert_eq!(post(&out, 4), "R10=fp0 fp-16=0000????");
    rejects(&out, Errno::EINVAL, "Expected an initialized dynptr as arg #0");
}

#[test]
fn overlapping_constructor_destroys_both_neighbours() {
    // [d1][d1][d2][d2], then a dynptr at the middle: both old ones die
    let out = run("
        r6 = r1
        r2 = 0
        r3 = r10
        r3 += -16
        call bpf_dynptr_from_skb
        r1 = r6
        r2 = 0
        r3 = r10
        r3 += -32
        call bpf_dynptr_from_skb
        r1 = r6
        r2 = 0
        r3 = r10
        r3 += -24
        call bpf_dynptr_from_skb
        r1 = r10
        r1 += -32
        call bpf_dynptr_size
        exit
    ");
    rejects(&out, Errno::EINVAL, "Expected an initialized dynptr as arg #0");
}

#[test]
fn dynptr_bytes_are_not_data() {
    let read = run(&format!("{SKB_DYNPTR_16}r1 = *(u32 *)(r10 -8)\nexit\n"));
    rejects(&read, Errno::EACCES, "invalid read from stack off -8+0 size 4");
    // bpf_dynptr_read into the dynptr's own bytes
    let write = run(&format!(
        "{SKB_DYNPTR_16}r1 = r10\nr1 += -16\nr2 = 8\nr3 = r10\nr3 += -16\nr4 = 0\nr5 = 0\ncall 201\nexit\n"
    ));
    rejects(&write, Errno::EACCES, "potential write to dynptr at off=-16 disallowed");
}

#[test]
fn dynptr_from_mem_needs_a_map_value() {
    let src = "
        r1 = r10
        r1 += -64
        r2 = 16
        r3 = 0
        r4 = r10
        r4 += -16
        call 197
        exit
    ";
    rejects(&run(src), Errno::EACCES, "Unsupported reg type fp for bpf_dynptr_from_mem data");
    let map = MapDef {
        fd: 3,
        name: "m".into(),
        kind: MapKind::Array,
        key_size: 4,
        value_size: 54,
        max_entries: 1,
        ..Default::default()
    };
    let src = "
        r1 = map_value(3, 0) ll
        r2 = 54
        r3 = 0
        r4 = r10
        r4 += -16
        call 197
        r1 = r10
        r1 += -16
        call bpf_dynptr_size
        exit
    ";
    let out = run_with(src, |o| o.maps = vec![map]);
    accepts(&out);
    assert!(out.log.contains("fp-16=dynptr_local(id=1,dynptr_id=1)"), "{}", out.log);
}

#[test]
fn dynptr_data_slice_dies_with_its_dynptr() {
    let map = MapDef {
        fd: 3,
        name: "m".into(),
        kind: MapKind::Array,
        key_size: 4,
        value_size: 24,
        max_entries: 1,
        ..Default::default()
    };
    let from_mem = "r1 = map_value(3, 0) ll\nr2 = 16\nr3 = 0\nr4 = r10\nr4 += -16\ncall 197\n";
    let src = format!(
        "{from_mem}r1 = r10\nr1 += -16\nr2 = 0\nr3 = 8\ncall 203\nif r0 == 0 goto out\nr6 = r0\n\
         r7 = *(u64 *)(r6 +0)\n{from_mem}r0 = *(u64 *)(r6 +0)\nout:\nr0 = 0\nexit\n"
    );
    let out = run_with(&src, |o| o.maps = vec![map.clone()]);
    assert!(
        out.log.contains("\n12: R0=mem_or_null(id=2,sz=8) fp-16=dynptr_local(id=1,dynptr_id=1)\n"),
        "{}",
        out.log
    );
    assert!(out.log.contains("\n22: R0=scalar() fp-16=dynptr_local(id=3,dynptr_id=1)\n"), "{}", out.log);
    rejects(&out, Errno::EACCES, "R6 invalid mem access 'scalar'");
    assert_eq!(stats(&out), (21, 0, 2, 2));
    let src = format!("{from_mem}r1 = r10\nr1 += -16\nr2 = 0\nr3 = r0\ncall 203\nr0 = 0\nexit\n");
    let out = run_with(&src, |o| o.maps = vec![map]);
    rejects(&out, Errno::EACCES, "R3 is not a known constant'");
}

#[test]
fn dynptr_slices() {
    let slice = |f: &str, size: &str| {
        format!(
            "{SKB_DYNPTR_16}r1 = r10\nr1 += -16\nr2 = 0\nr3 = 0\nr4 = {size}\ncall {f}\n\
             if r0 == 0 goto out\nr0 = *(u32 *)(r0 +0)\nexit\nout:\nr0 = 0\nexit\n"
        )
    };
    let out = run(&slice("bpf_dynptr_slice", "4"));
    accepts(&out);
    assert_eq!(post(&out, 9), "R0=rdonly_mem_or_null(id=2,sz=4) fp-16=dynptr_skb(id=1,dynptr_id=1)");
    let out = run(&slice("bpf_dynptr_slice_rdwr", "4"));
    rejects(&out, Errno::EINVAL, "the prog does not allow writes to packet data");
    let out = run(&slice("bpf_dynptr_slice", "*(u32 *)(r10 -24)"));
    rejects(&out, Errno::EINVAL, "R4 must be a known constant");
    // an xdp slice is packet memory: bpf_xdp_adjust_head invalidates it
    let out = run_with(
        "
        r6 = r1
        r2 = 0
        r3 = r10
        r3 += -16
        call bpf_dynptr_from_xdp
        r1 = r10
        r1 += -16
        r2 = 0
        r3 = r10
        r3 += -32
        r4 = 8
        call bpf_dynptr_slice_rdwr
        if r0 == 0 goto out
        r7 = r0
        *(u32 *)(r7 +0) = 1
        r1 = r6
        r2 = 0
        call 44
        r0 = *(u32 *)(r7 +0)
        exit
    out:
        r0 = 0
        exit
    ",
        |o| o.prog_type = ProgType::Xdp,
    );
    rejects(&out, Errno::EACCES, "R7 invalid mem access 'scalar'");
}

#[test]
fn kfunc_memory_pairs_are_also_checked_as_writes() {
    // an iterator's read-only element as the slice buffer (kernel: R3 cannot write into
    // rdonly_mem, then the pair line, which the stack-args series words with argument names)
    let out = run("
        r6 = r1
        r1 = r10
        r1 += -24
        r2 = 0
        r3 = 3
        call bpf_iter_num_new
        r1 = r10
        r1 += -24
        call bpf_iter_num_next
        if r0 == 0 goto out
        r7 = r0
        r1 = r6
        r2 = 0
        r3 = r10
        r3 += -16
        call bpf_dynptr_from_skb
        r1 = r10
        r1 += -16
        r2 = 0
        r3 = r7
        r4 = 4
        call bpf_dynptr_slice
    out:
        r1 = r10
        r1 += -24
        call bpf_iter_num_destroy
        r0 = 0
        exit
    ");
    rejects(&out, Errno::EACCES, "R3 and R4 memory, len pair leads to invalid memory access");
    assert!(out.log.contains("\nR3 cannot write into rdonly_mem\n"));
    assert_eq!(out.log.matches("mark_precise: frame0: regs=r4 stack= before").count(), 1);
}

#[test]
fn ringbuf_dynptrs_hold_a_reference() {
    let rb =
        MapDef { fd: 3, name: "rb".into(), kind: MapKind::RingBuf, max_entries: 4096, ..Default::default() };
    let reserve = "r1 = map_fd(3) ll\nr2 = 8\nr3 = 0\nr4 = r10\nr4 += -16\ncall 198\n";
    let with_rb = |src: &str| run_with(src, |o| o.maps = vec![rb.clone()]);
    let out = with_rb(&format!("{reserve}r1 = r10\nr1 += -16\nr2 = 0\ncall 199\nr0 = 0\nexit\n"));
    accepts(&out);
    assert_eq!(post(&out, 6), "R0=scalar() fp-16=dynptr_ringbuf(id=1,ref_id=2,dynptr_id=1) refs=2");
    assert_eq!(post(&out, 10), "");
    let leak = with_rb(&format!("{reserve}r0 = 0\nexit\n"));
    rejects(&leak, Errno::EINVAL, "BPF_EXIT instruction in main prog would lead to reference leak");
    assert!(leak.log.contains("Unreleased reference id=2 alloc_insn=6\n"));
    let overwrite = with_rb(&format!("{reserve}*(u64 *)(r10 -8) = 0\nr0 = 0\nexit\n"));
    rejects(&overwrite, Errno::EINVAL, "cannot overwrite referenced dynptr");
    let unacquired = run(&format!("{SKB_DYNPTR_16}r1 = r10\nr1 += -16\nr2 = 0\ncall 199\nr0 = 0\nexit\n"));
    rejects(&unacquired, Errno::EINVAL, "arg 1 is an unacquired reference");
    // a slice of the sample dies with the discarded dynptr
    let slice = with_rb(&format!(
        "{reserve}r1 = r10\nr1 += -16\nr2 = 0\nr3 = 8\ncall 203\nr6 = r0\nr1 = r10\nr1 += -16\nr2 = 0\n\
         call 200\nif r6 == 0 goto o\nr0 = *(u64 *)(r6 +0)\no:\nr0 = 0\nexit\n"
    ));
    assert_eq!(
        post(&slice, 12),
        "R0=mem_or_null(id=3,ref_obj_id=2,sz=8) R6=mem_or_null(id=3,ref_obj_id=2,sz=8) refs=2"
    );
    assert_eq!(post(&slice, 17), "R6=scalar(umin=1)");
    rejects(&slice, Errno::EACCES, "R6 invalid mem access 'scalar'");
    assert_eq!(stats(&slice), (18, 0, 1, 1));
    // a ring buffer's key is zero bytes long: the kernel refuses the lookup there
    let lookup =
        with_rb("r1 = map_fd(3) ll\nr2 = r10\nr2 += -8\n*(u64 *)(r10 -8) = 0\ncall 1\nr0 = 0\nexit\n");
    rejects(&lookup, Errno::EACCES, "invalid zero-sized read");
}

#[test]
fn ringbuf_clone_shares_the_reference() {
    let mut kfuncs = table();
    kfuncs.push(KfuncDecl {
        btf_id: 20,
        name: "bpf_dynptr_clone".into(),
        args: vec![a("p", KfuncArgKind::Dynptr), a("clone__uninit", KfuncArgKind::Dynptr)],
        ret: KfuncRet::Scalar,
        ..Default::default()
    });
    let src = "
        r1 = map_fd(3) ll
        r2 = 8
        r3 = 0
        r4 = r10
        r4 += -16
        call 198
        r1 = r10
        r1 += -16
        r2 = r10
        r2 += -32
        call bpf_dynptr_clone
        r1 = r10
        r1 += -16
        r2 = 0
        call 199
        r1 = r10
        r1 += -32
        call bpf_dynptr_size
        r0 = 0
        exit
    ";
    let m = assemble_module(src, &Names(kfuncs.clone())).expect("assembles");
    let rb =
        MapDef { fd: 3, name: "rb".into(), kind: MapKind::RingBuf, max_entries: 4096, ..Default::default() };
    let opts = VerifyOptions { kfuncs: kfuncs.into(), maps: vec![rb], log_level: 2, ..Default::default() };
    let out = verify(&m.program.to_slots(), &opts);
    assert_eq!(
        post(&out, 11),
        "R0=scalar() fp-16=dynptr_ringbuf(id=1,ref_id=2,dynptr_id=1) \
         fp-32=dynptr_ringbuf(id=3,ref_id=2,dynptr_id=1) refs=2"
    );
    // submitting the parent ends the clone too
    rejects(&out, Errno::EINVAL, "Expected an initialized dynptr as arg #0");
    assert_eq!(stats(&out), (18, 0, 1, 1));
}

#[test]
fn dynptr_write_into_an_skb_dynptr_kills_its_slices() {
    let out = run(&format!(
        "{SKB_DYNPTR_16}r1 = r10\nr1 += -16\nr2 = 0\nr3 = 0\nr4 = 4\ncall bpf_dynptr_slice\n\
         if r0 == 0 goto out\nr8 = r0\n*(u64 *)(r10 -24) = 0\nr1 = r10\nr1 += -16\nr2 = 0\nr3 = r10\n\
         r3 += -24\nr4 = 4\nr5 = 0\ncall 202\nr0 = *(u32 *)(r8 +0)\nexit\nout:\nr0 = 0\nexit\n"
    ));
    rejects(&out, Errno::EACCES, "R8 invalid mem access 'scalar'");
    assert_eq!(stats(&out), (22, 0, 2, 2));
}
