; expect: run-error
; attacks: bpf_dynptr_is_rdonly argument 1 (dynptr) is a kernel-looking address
; input: plain 64

    r6 = r1
    r1 = r10
    r1 += -48
    r2 = 32
    r3 = 0
    r4 = r10
    r4 += -16
    call bpf_dynptr_from_mem
    r7 = r10
    r7 += -16
    r8 = r10
    r8 += -48
    r9 = 0xffff888000000000 ll
    r1 = r9
    call bpf_dynptr_is_rdonly
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
