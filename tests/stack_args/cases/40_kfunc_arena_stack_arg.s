# Scenario 40 (D): an `__arena` pointer parameter in a stack position (testmod's
# bpf_kfunc_arena_stack_arg_test, f__arena is the 6th parameter)
# expect: reject EINVAL
# error: *(R11-8) arena pointer cannot be a stack argument

    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 0
    call bpf_kfunc_arena_stack_arg_test
    exit
