; expect: value
; attacks: division and modulo by zero
; input: plain 64

    r6 = r1
    r0 = 7
    r1 = 0
    r0 /= r1
    r2 = 5
    r2 %= r1
    r0 += r2
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
