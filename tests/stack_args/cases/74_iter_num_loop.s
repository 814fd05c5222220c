# Open-coded iterator loop (bpf_for): sum of bpf_iter_num over [0, 5); the verifier converges on
# the iter_next checkpoint (active/drained states) like Linux 6.18 (48 insns, 4 states)
# expect: accept
# retval: 10
# log: processed 48 insns (limit 1000000) max_states_per_insn 2 total_states 4 peak_states 5 mark_read 0

    r6 = 0
    r1 = r10
    r1 += -8
    r2 = 0
    r3 = 5
    call bpf_iter_num_new
loop:
    r1 = r10
    r1 += -8
    call bpf_iter_num_next
    if r0 == 0 goto done
    r1 = *(u32 *)(r0 +0)
    r6 += r1
    goto loop
done:
    r1 = r10
    r1 += -8
    call bpf_iter_num_destroy
    r0 = r6
    exit
