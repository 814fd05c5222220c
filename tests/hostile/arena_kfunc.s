; expect: run-error
; attacks: bpf_kfunc_arena_stack_arg_test (an arena pointer the interpreter cannot check)
; input: plain 64

    r6 = r1
    *(u64 *)(r11 -8) = 0x1000
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    call bpf_kfunc_arena_stack_arg_test
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
