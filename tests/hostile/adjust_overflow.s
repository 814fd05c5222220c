; expect: value
; attacks: bpf_dynptr_adjust past the dynptr's end (-ERANGE)
; input: plain 64

    r6 = r1
    r1 = r10
    r1 += -48
    r2 = 32
    r3 = 0
    r4 = r10
    r4 += -16
    call bpf_dynptr_from_mem
    r1 = r10
    r1 += -16
    r2 = 0xffffffff ll
    r3 = 0xffffffff ll
    call bpf_dynptr_adjust
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
