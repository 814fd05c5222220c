//! Iterator stack objects: convergence of open-coded loops, precision, misuse.

use super::*;

#[test]
fn iter_num_loop_converges_like_the_kernel() {
    let out = run(NUM_LOOP);
    accepts(&out);
    assert_eq!(post(&out, 5), "R0=scalar() fp-8=iter_num(ref_id=1,state=active,depth=0) refs=1");
    assert!(out.log.contains("fp-8=iter_num(ref_id=1,state=drained,depth=0) refs=1"));
    assert!(out.log.contains(
        "from 8 to 9: R0=rdonly_mem(id=2,ref_obj_id=1,sz=4) R6=0 R10=fp0 \
         fp-8=iter_num(ref_id=1,state=active,depth=1) refs=1"
    ));
    assert_eq!(stats(&out), (48, 2, 4, 5));
}

#[test]
fn nested_iter_loops_converge_like_the_kernel() {
    let out = run("
        r6 = 0
        r1 = r10
        r1 += -8
        r2 = 0
        r3 = 3
        call bpf_iter_num_new
    outer:
        r1 = r10
        r1 += -8
        call bpf_iter_num_next
        if r0 == 0 goto done
        r1 = r10
        r1 += -16
        r2 = 0
        r3 = 4
        call bpf_iter_num_new
    inner:
        r1 = r10
        r1 += -16
        call bpf_iter_num_next
        if r0 == 0 goto idone
        r6 += 1
        goto inner
    idone:
        r1 = r10
        r1 += -16
        call bpf_iter_num_destroy
        goto outer
    done:
        r1 = r10
        r1 += -8
        call bpf_iter_num_destroy
        r0 = r6
        exit
    ");
    accepts(&out);
    assert_eq!(stats(&out), (96, 2, 8, 12));
}

#[test]
fn precise_counter_in_iter_loop() {
    // r6 becomes precise (stack offset), so the loop unrolls until the bound cuts it
    let out = run("
        r6 = 0
        r1 = r10
        r1 += -8
        r2 = 0
        r3 = 3
        call bpf_iter_num_new
    loop:
        r1 = r10
        r1 += -8
        call bpf_iter_num_next
        if r0 == 0 goto done
        r6 += 1
        if r6 > 5 goto done
        goto loop
    done:
        r1 = r10
        r1 += -8
        call bpf_iter_num_destroy
        r0 = r10
        r0 += r6
        r0 = *(u8 *)(r0 -32)
        r0 = 0
        exit
    ");
    accepts(&out);
    assert_eq!(stats(&out), (109, 5, 10, 10));
}

#[test]
fn iterator_misuse() {
    let base = "r1 = r10\nr1 += -8\nr2 = 0\nr3 = 5\ncall bpf_iter_num_new\n";
    let leak = run(&format!("{base}r0 = 0\nexit\n"));
    rejects(&leak, Errno::EINVAL, "BPF_EXIT instruction in main prog would lead to reference leak");
    assert!(leak.log.contains("Unreleased reference id=1 alloc_insn=4\n"));
    let twice = run(&format!("{base}{base}r0 = 0\nexit\n"));
    rejects(&twice, Errno::EINVAL, "expected uninitialized iter_num as arg #0");
    let read = run(&format!("{base}r0 = *(u64 *)(r10 -8)\nexit\n"));
    rejects(&read, Errno::EACCES, "invalid read from stack off -8+0 size 8");
    let clobbered = run(&format!(
        "{base}*(u64 *)(r10 -8) = 0\nr1 = r10\nr1 += -8\ncall bpf_iter_num_destroy\nr0 = 0\nexit\n"
    ));
    rejects(&clobbered, Errno::EINVAL, "expected an initialized iter_num as arg #0");
    let next_uninit = run("r1 = r10\nr1 += -8\ncall bpf_iter_num_next\nr0 = 0\nexit\n");
    rejects(&next_uninit, Errno::EINVAL, "expected an initialized iter_num as arg #0");
    let unaligned = run("r1 = r10\nr1 += -4\nr2 = 0\nr3 = 3\ncall bpf_iter_num_new\nr0 = 0\nexit\n");
    rejects(&unaligned, Errno::EINVAL, "expected uninitialized iter_num as arg #0");
    let no_null_check = run(&format!(
        "{base}r1 = r10\nr1 += -8\ncall bpf_iter_num_next\nr0 = *(u32 *)(r0 +0)\n\
         r1 = r10\nr1 += -8\ncall bpf_iter_num_destroy\nr0 = 0\nexit\n"
    ));
    rejects(&no_null_check, Errno::EACCES, "R0 invalid mem access 'scalar'");
    let write_elem = run(&format!(
        "{base}r1 = r10\nr1 += -8\ncall bpf_iter_num_next\nif r0 == 0 goto l\n*(u32 *)(r0 +0) = 1\nl:\n\
         r1 = r10\nr1 += -8\ncall bpf_iter_num_destroy\nr0 = 0\nexit\n"
    ));
    rejects(&write_elem, Errno::EACCES, "R0 cannot write into rdonly_mem");
}
