; expect: run-error
; attacks: bpf_kfunc_call_stack_arg_iter argument 10 (iterator) is a kernel-looking address
; input: plain 64

    r6 = r1
    r7 = r10
    r7 += -16
    r8 = r10
    r8 += -48
    r9 = 0xffff888000000000 ll
    *(u64 *)(r11 -8) = 6
    *(u64 *)(r11 -16) = 7
    *(u64 *)(r11 -24) = 8
    *(u64 *)(r11 -32) = 9
    *(u64 *)(r11 -40) = r9
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    call bpf_kfunc_call_stack_arg_iter
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
