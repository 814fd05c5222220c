; expect: run-error
; attacks: bpf_dynptr_from_skb after the program sets data_end below data
; input: skb 64

    r6 = r1
    r1 = *(u64 *)(r6 +192)
    r1 += -1
    *(u64 *)(r6 +200) = r1
    r7 = r6
    r1 = r7
    r2 = 0
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
