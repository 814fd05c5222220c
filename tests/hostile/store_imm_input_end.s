; expect: run-error
; attacks: an 8-byte immediate store to just past the input buffer
; input: plain 64

    r6 = r1
    r9 = r6
    r9 += 64
    *(u64 *)(r9 +0) = 7
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
