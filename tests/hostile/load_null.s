; expect: run-error
; attacks: an 8-byte load from NULL
; input: plain 64

    r6 = r1
    r9 = 0
    r0 = *(u64 *)(r9 +0)
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
