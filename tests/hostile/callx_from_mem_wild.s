; expect: run-error
; attacks: callx of bpf_dynptr_from_mem with a wild data pointer
; input: plain 64

    r6 = r1
    r1 = 0xdead0000 ll
    r2 = 16
    r3 = 0
    r4 = r10
    r4 += -16
    r0 = 197
    callx r0
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
