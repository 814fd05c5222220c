; expect: run-error
; attacks: bpf_dynptr_from_mem argument 1 (data) is below the lowest frame
; input: plain 64

    r6 = r1
    r7 = r10
    r7 += -16
    r8 = r10
    r8 += -48
    r9 = r10
    r9 += -520
    r1 = r9
    r2 = 16
    r3 = 0
    r4 = r7
    call bpf_dynptr_from_mem
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
