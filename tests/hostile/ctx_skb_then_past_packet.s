; expect: value
; attacks: bpf_dynptr_read past the end of an skb dynptr (-E2BIG)
; input: skb 64

    r6 = r1
    r7 = r6
    r1 = r7
    r2 = 0
    r3 = r10
    r3 += -16
    call bpf_dynptr_from_skb
    r1 = r10
    r1 += -64
    r2 = 8
    r3 = r10
    r3 += -16
    r4 = 60
    r5 = 0
    call bpf_dynptr_read
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
