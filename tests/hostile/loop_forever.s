; expect: run-error
; attacks: an infinite loop (the instruction budget)
; input: plain 64

loop:
    r0 += 1
    goto loop
