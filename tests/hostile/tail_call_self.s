; expect: value
; attacks: a program tail-calling itself until MAX_TAIL_CALL_CNT
; input: plain 64

.map jmp, prog_array, 4, 4, 1
.mapdata jmp, 0, again
    r6 = r1
    r1 = r6
    r2 = jmp ll
    r3 = 0
    call bpf_tail_call
    r0 = 1
    exit
.prog again
    r6 = r1
    r1 = r6
    r2 = jmp ll
    r3 = 0
    call bpf_tail_call
    r0 = 3
    exit
