; expect: run-error
; attacks: bpf_dynptr_is_null on a forged dynptr: data 4 bytes before the end of the input, size 16
; input: plain 64

.map rodata, array, 4, 8, 1, rdonly_prog, frozen
.mapdata rodata, 0, "rodata!\0"

    r6 = r1
    r9 = r6
    r9 += 60
    *(u64 *)(r10 -16) = r9
    *(u32 *)(r10 -8) = 0x10000010
    *(u32 *)(r10 -4) = 0x0
    r7 = r10
    r7 += -16
    r8 = r10
    r8 += -96
    r1 = r7
    call bpf_dynptr_is_null
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
