# Scenario 35 (D): kfunc mem+size pair in slots (mem = arg6, mem__sz = arg7), the size a
# non-negative but unbounded scalar. The size check prints its own line, then the pair line.
# (The spec's table puts the size in arg6; no test kfunc has that layout, so arg7 is used.)
# expect: reject EACCES
# error: *(R11-8) and *(R11-16) memory, len pair leads to invalid memory access
# log: *(R11-16) unbounded memory access, use 'var &= const' or 'if (var < const)'

    call 7
    r7 = r0
    r7 >>= 1
    r6 = 0
    *(u64 *)(r10 -8) = r6
    *(u64 *)(r10 -16) = r6
    r6 = r10
    r6 += -16
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = r6
    *(u64 *)(r11 -16) = r7
    call bpf_kfunc_call_stack_arg_mem
    exit
