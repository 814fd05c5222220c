; expect: value
; attacks: bpf_dynptr_from_skb with flags 1 (-EINVAL, a NULL dynptr)
; input: skb 64

    r6 = r1
    r1 = r6
    r2 = 1
    r3 = r10
    r3 += -16
    call bpf_dynptr_from_skb
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
