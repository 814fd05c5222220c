# Forms LLVM 19 has no spelling for, in kernel syntax (kbpf extensions where the kernel has none
# either); tests/golden.rs prints them together with all_forms.s.
extra:
0: (db) r3 = load_acquire((u64 *)(r10 -8))
1: (c3) r3 = load_acquire((u32 *)(r10 -16))
2: (cb) r3 = load_acquire((u16 *)(r10 -24))
3: (d3) r3 = load_acquire((u8 *)(r10 -40))
4: (db) store_release((u64 *)(r10 -8), r2)
5: (c3) store_release((u32 *)(r10 -16), r2)
6: (cb) store_release((u16 *)(r10 -24), r2)
7: (d3) store_release((u8 *)(r10 -40), r2)
8: (48) r0 = *(u16 *)skb[r7 + -3]
9: (50) r0 = *(u8 *)skb[r7 + 2]
10: (85) call bpf_iter_num_new#64233
11: (85) call kernel-function#65472
    call kfunc:100:2
    call pc+2
    r1 = map_fd(3)
    r1 = map_value(3, 16)
    r1 = btf_id(77)
    r1 = map_idx(0)
    r1 = map_idx_value(1, 8)
    r1 = map_fd(3, 1)
    r2 = func(extra_sub)
    *(u64 *)(r11 -8) = r1
    *(u64 *)(r11 -56) = 12
    call extra_sub
    exit
extra_sub:
    r1 = *(u64 *)(r11 +8)
    r0 = *(u64 *)(r11 +56)
    callx r1
    gotol +0
    exit
