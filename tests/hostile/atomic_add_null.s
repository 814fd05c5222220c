; expect: run-error
; attacks: an atomic add to NULL
; input: plain 64

    r6 = r1
    r9 = 0
    r1 = 1
    lock *(u64 *)(r9 +0) += r1
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
