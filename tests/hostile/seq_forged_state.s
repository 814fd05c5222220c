; expect: value
; attacks: bpf_iter_testmod_seq_next on forged state (cnt = INT_MIN)
; input: plain 64

    r6 = r1
    *(u64 *)(r10 -16) = -1
    *(u32 *)(r10 -8) = -2147483648
    r1 = r10
    r1 += -16
    call bpf_iter_testmod_seq_next
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
