; expect: run-error
; attacks: bpf_dynptr_from_skb with a stack pointer as the context
; input: skb 64

    r6 = r1
    r7 = r10
    r7 += -256
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
