.map timer_map, array, 4, 16, 1, timer=0
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
    r2 = func(timer_cb) ll
    call bpf_timer_set_callback
    r1 = r6
    r2 = 0
    r3 = 0
    call bpf_timer_start
out:
    r0 = 0
    exit
.func timer_cb, 3
timer_cb:
    r1 = 10
    r2 = 20
    r3 = 30
    r4 = 40
    r5 = 50
    call sum5
    r1 = .bss + 0 ll
    *(u64 *)(r1 +0) = r0
    r0 = 0
    exit
.func sum5, 5
sum5:
    r0 = r1
    r0 += r2
    r0 += r3
    r0 += r4
    r0 += r5
    exit
