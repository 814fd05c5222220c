; expect: value
; attacks: bpf_iter_num_next on forged iterator state (cur = INT_MAX - 1, end = INT_MAX)
; input: plain 64

    r6 = r1
    r1 = 0x7fffffff7ffffffe ll
    *(u64 *)(r10 -8) = r1
    r1 = r10
    r1 += -8
    call bpf_iter_num_next
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
