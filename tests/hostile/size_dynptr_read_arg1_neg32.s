; expect: run-error
; attacks: bpf_dynptr_read (dst, len): the top 32 bytes of the stack with size a negative 32-bit size
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
    r9 = 0x80000000 ll
    r1 = r8
    r2 = r9
    r3 = r7
    r4 = 0
    r5 = 0
    call bpf_dynptr_read
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
