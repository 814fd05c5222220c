; expect: run-error
; attacks: an 8-byte load of the last 4 input bytes
; input: plain 64

    r6 = r1
    r0 = *(u64 *)(r6 +60)
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
