; expect: run-error
; attacks: an 8-byte store to the stack of a returned subprogram
; input: plain 64

    r6 = r1
    call dead
    r9 = r0
    *(u64 *)(r9 +0) = r1
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
