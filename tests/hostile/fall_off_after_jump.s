; expect: run-error
; attacks: a jump to the last instruction, which is not an exit
; input: plain 64

    r0 = 1
    goto +0
    r0 = 2
