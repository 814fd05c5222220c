; expect: run-error
; attacks: bpf_kfunc_call_stack_arg_mem (mem, mem__sz): the top 32 bytes of the stack with size -1
; input: plain 64

    r6 = r1
    r1 = r10
    r1 += -128
    r2 = 32
    r3 = 0
    r4 = r10
    r4 += -96
    call bpf_dynptr_from_mem
    r7 = r10
    r7 += -96
    r8 = r10
    r8 += -32
    r9 = -1
    *(u64 *)(r11 -8) = r8
    *(u64 *)(r11 -16) = r9
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
