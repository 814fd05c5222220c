; expect: run-error
; attacks: bpf_dynptr_adjust on a forged dynptr: a writable dynptr over a read-only map value
; input: plain 64

.map rodata, array, 4, 8, 1, rdonly_prog, frozen
.mapdata rodata, 0, "rodata!\0"

    r6 = r1
    r9 = map_value(rodata, 0)
    *(u64 *)(r10 -16) = r9
    *(u32 *)(r10 -8) = 0x10000008
    *(u32 *)(r10 -4) = 0x0
    r7 = r10
    r7 += -16
    r8 = r10
    r8 += -96
    r1 = r7
    r2 = 1
    r3 = 4
    call bpf_dynptr_adjust
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
