; expect: run-error
; attacks: a load at r10 + 32767 (offset beyond the frame)
; input: plain 64

    r6 = r1
    r0 = *(u8 *)(r10 +32767)
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
