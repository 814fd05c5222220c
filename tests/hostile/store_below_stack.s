; expect: run-error
; attacks: an 8-byte store to below the lowest frame
; input: plain 64

    r6 = r1
    r9 = r10
    r9 += -520
    *(u64 *)(r9 +0) = r1
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
