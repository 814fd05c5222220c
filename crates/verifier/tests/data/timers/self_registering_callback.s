.map timer_map, array, 4, 24, 1, timer=0
.map .bss, array, 4, 8, 1
    *(u32 *)(r10 -4) = 0
    r2 = r10
    r2 += -4
    r1 = timer_map ll
    call bpf_map_lookup_elem
    if r0 == 0 goto out
    r6 = r0
    r1 = r6
    r2 = timer_map ll
    r3 = 1
    call bpf_timer_init
    r1 = r6
    r2 = func(cb) ll
    call bpf_timer_set_callback
    r1 = r6
    r2 = 0
    r3 = 0
    call bpf_timer_start
out:
    r0 = 0
    exit
.func cb, 3
cb:
    r6 = r3
    r7 = *(u64 *)(r6 +16)
    r7 += 1
    *(u64 *)(r6 +16) = r7
    if r7 > 3 goto done
    r1 = r6
    r2 = func(cb) ll
    call bpf_timer_set_callback
    r1 = r6
    r2 = 10
    r3 = 0
    call bpf_timer_start
done:
    r0 = 0
    exit
