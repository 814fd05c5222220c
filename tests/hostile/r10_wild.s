; expect: run-error
; attacks: r10 set to a wild address, then a load
; input: plain 64

    r6 = r1
    r10 = 0xdead0000 ll
    r0 = *(u64 *)(r10 -8)
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
