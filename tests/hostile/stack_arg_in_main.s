; expect: run-error
; attacks: an incoming stack argument read in the main function
; input: plain 64

    r6 = r1
    r0 = *(u64 *)(r11 +8)
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
