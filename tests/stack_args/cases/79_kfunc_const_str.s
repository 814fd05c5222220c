# Scenario 7.1 (U(stack_arg_kfunc.c):test_stack_arg_const_str): arg10 is a constant string in
# read-only, frozen global data ("hello"); 1+..+9
# expect: accept
# retval: 45

.map rodata, array, 4, 8, 1, rdonly_prog, frozen
.mapdata rodata, 0, "hello\0"

    r6 = rodata + 0 ll
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
    call bpf_kfunc_call_stack_arg_const_str
    exit
