; expect: run-error
; attacks: callx of bpf_dynptr_read into a dead frame
; input: plain 64

    r6 = r1
    r1 = r10
    r1 += -48
    r2 = 32
    r3 = 0
    r4 = r10
    r4 += -16
    call bpf_dynptr_from_mem
    call dead
    r1 = r0
    r2 = 8
    r3 = r10
    r3 += -16
    r4 = 0
    r5 = 0
    r0 = 201
    callx r0
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
