; expect: run-error
; attacks: bpf_kfunc_call_stack_arg_mem argument 6 (mem) is a wild address
; input: plain 64

    r6 = r1
    r7 = r10
    r7 += -16
    r8 = r10
    r8 += -48
    r9 = 0xdead0000 ll
    *(u64 *)(r11 -8) = r9
    *(u64 *)(r11 -16) = 16
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    call bpf_kfunc_call_stack_arg_mem
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
