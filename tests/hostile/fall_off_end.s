; expect: run-error
; attacks: no exit: execution runs past the last instruction
; input: plain 64

    r0 = 1
