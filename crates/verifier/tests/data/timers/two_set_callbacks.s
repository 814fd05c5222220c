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
    call bpf_get_prandom_u32
    if r0 > 5 goto other
    r1 = r6
    r2 = func(timer_cb) ll
    call bpf_timer_set_callback
    goto start
other:
    r1 = r6
    r2 = func(timer_cb) ll
    call bpf_timer_set_callback
start:
    r1 = r6
    r2 = 0
    r3 = 0
    call bpf_timer_start
out:
    r0 = 0
    exit
.func timer_cb, 3
timer_cb:
    r0 = *(u64 *)(r3 +16)
    if r0 > 7 goto big
    r0 = 0
    exit
big:
    r1 = .bss + 0 ll
    *(u64 *)(r1 +0) = r0
    r0 = 0
    exit
