# Scenario 55 (U(stack_arg_kfunc.c):test_stack_arg_mem): mem = arg6 (16-byte stack buffer
# holding 1..16), mem__sz = arg7 = 16; returns 1+..+5 + 1+..+16.
# expect: accept
# retval: 151

    r6 = 0x0807060504030201 ll
    *(u64 *)(r10 -16) = r6
    r6 = 0x100f0e0d0c0b0a09 ll
    *(u64 *)(r10 -8) = r6
    r6 = r10
    r6 += -16
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = r6
    *(u64 *)(r11 -16) = 16
    call bpf_kfunc_call_stack_arg_mem
    exit
