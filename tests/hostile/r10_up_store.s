; expect: run-error
; attacks: r10 moved up 8 bytes, then a store at its new top (a dead frame)
; input: plain 64

    r6 = r1
    r10 += 8
    *(u64 *)(r10 -8) = 1
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
