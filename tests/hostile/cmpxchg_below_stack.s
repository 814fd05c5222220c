; expect: run-error
; attacks: a compare-and-exchange on below the lowest frame
; input: plain 64

    r6 = r1
    r9 = r10
    r9 += -520
    r0 = 0
    r1 = 1
    r0 = cmpxchg_64(r9 + 0, r0, r1)
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
