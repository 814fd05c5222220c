; expect: value
; attacks: bpf_tail_call with index 2^32 + 1 (compared as u32: 1, an empty slot, falls through)
; input: plain 64

.map h, hash, 4, 8, 4
.map jmp, prog_array, 4, 4, 2
.map t, array, 4, 16, 1, timer=0
.map v, array, 4, 16, 1

    r6 = r1
    r1 = r6
    r2 = jmp ll
    r3 = 0x100000001 ll
    call bpf_tail_call
    r0 = 7
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
