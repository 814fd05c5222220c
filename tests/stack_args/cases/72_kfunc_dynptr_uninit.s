# kfunc dynptr argument in a stack-arg slot that points to plain stack bytes, not a dynptr
# expect: reject EINVAL
# error: Expected an initialized dynptr as arg #9

    *(u64 *)(r10 -16) = 0
    *(u64 *)(r10 -8) = 0
    r6 = r10
    r6 += -16
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 6
    *(u64 *)(r11 -16) = 7
    *(u64 *)(r11 -24) = 8
    *(u64 *)(r11 -32) = 9
    *(u64 *)(r11 -40) = r6
    call bpf_kfunc_call_stack_arg_dynptr
    exit
