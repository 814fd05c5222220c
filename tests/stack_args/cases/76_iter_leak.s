# An iterator created but never destroyed holds a reference at exit
# expect: reject EINVAL
# error: BPF_EXIT instruction in main prog would lead to reference leak
# log: Unreleased reference id=1 alloc_insn=4

    r1 = r10
    r1 += -16
    r2 = 100
    r3 = 10
    call bpf_iter_testmod_seq_new
    r0 = 0
    exit
