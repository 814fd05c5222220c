; expect: run-error
; attacks: bpf_kfunc_call_stack_arg_const_str argument 10: the input buffer (64 bytes of 0xaa, no NUL)
; input: plain 64

.map s, array, 4, 8, 1, rdonly_prog, frozen
.mapdata s, 0, "ABCDEFGH"
.map ok, array, 4, 8, 1, rdonly_prog, frozen
.mapdata ok, 0, "hello\0"

    r6 = r1
    r9 = r6
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
    call bpf_kfunc_call_stack_arg_const_str
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
