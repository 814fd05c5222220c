# Scenario 30 (D): the main program passes a stack argument and makes a tail call; a tail call
# would replace a frame whose caller still expects its outgoing slots, so the kernel refuses
# the combination after the walk (check_max_stack_depth).
# expect: reject EINVAL
# error: tail_calls are not allowed in programs with stack args

.map jmp_table, prog_array, 4, 4, 1

    r6 = r1
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 6
    call sub6
    r7 = r0
    r1 = r6
    r2 = jmp_table ll
    r3 = 0
    call bpf_tail_call
    r0 = r7
    exit

.func sub6, 6
sub6:
    r0 = *(u64 *)(r11 +8)
    r0 += r1
    r0 += r2
    r0 += r3
    r0 += r4
    r0 += r5
    exit
