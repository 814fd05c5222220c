; expect: run-error
; attacks: callx of a register holding no helper id
; input: plain 64

    r6 = r1
    r2 = 0xdead
    callx r2
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
