; expect: run-error
; attacks: bpf_iter_num_next argument 1 (iterator) is a kernel-looking address
; input: plain 64

    r6 = r1
    r7 = r10
    r7 += -16
    r8 = r10
    r8 += -48
    r9 = 0xffff888000000000 ll
    r1 = r9
    call bpf_iter_num_next
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
