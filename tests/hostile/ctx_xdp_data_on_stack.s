; expect: value
; attacks: bpf_dynptr_from_xdp after the program points data..data_end at its own stack (live memory: safe)
; input: xdp 64

    r6 = r1
    r1 = r10
    r1 += -128
    *(u64 *)(r6 +24) = r1
    r1 += 64
    *(u64 *)(r6 +32) = r1
    r7 = r6
    r1 = r7
    r2 = 0
    r3 = r10
    r3 += -16
    call bpf_dynptr_from_xdp
    r7 = r0
    r1 = r10
    r1 += -64
    r2 = 8
    r3 = r10
    r3 += -16
    r4 = 0
    r5 = 0
    call bpf_dynptr_read
    r0 += r7
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
