# Scenario 56 (D): as 55 but mem__sz = 24 overruns the 16-byte buffer at fp-16.
# expect: reject EINVAL
# error: *(R11-8) and *(R11-16) memory, len pair leads to invalid memory access
# log: invalid read from stack *(R11-8) off=-16 size=24

    r6 = 0
    *(u64 *)(r10 -16) = r6
    *(u64 *)(r10 -8) = r6
    r6 = r10
    r6 += -16
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = r6
    *(u64 *)(r11 -16) = 24
    call bpf_kfunc_call_stack_arg_mem
    exit
