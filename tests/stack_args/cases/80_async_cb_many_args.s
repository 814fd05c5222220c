# Scenario 7.1 (U(stack_arg.c):test_async_cb_many_args): the main program arms a timer whose callback
# calls a 10-argument static function with 10, 20, .., 100 and stores the sum into the global
# `timer_result` (.bss); the callback is verified as an async callback (R1 = map, R2 = key,
# R3 = value, R0 = 0 at its exit) and fires after the main program returns
# expect: accept
# retval: 0
# map-value: .bss, 0, u64 550
# log: from 16 to 23: R1=map_ptr(map=timer_map,ks=4,vs=16) R2=map_key(map=timer_map,ks=4,vs=16) R3=map_value(map=timer_map,ks=4,vs=16) R10=fp0
# log-level: 2

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
    r3 = 1                      # CLOCK_MONOTONIC
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
    *(u64 *)(r11 -8) = 60
    *(u64 *)(r11 -16) = 70
    *(u64 *)(r11 -24) = 80
    *(u64 *)(r11 -32) = 90
    *(u64 *)(r11 -40) = 100
    call static_func_many_args
    r1 = .bss + 0 ll
    *(u64 *)(r1 +0) = r0
    r0 = 0
    exit

.func static_func_many_args, 10
static_func_many_args:
    r0 = *(u64 *)(r11 +8)
    r6 = *(u64 *)(r11 +16)
    r7 = *(u64 *)(r11 +24)
    r8 = *(u64 *)(r11 +32)
    r9 = *(u64 *)(r11 +40)
    r0 += r6
    r0 += r7
    r0 += r8
    r0 += r9
    r0 += r1
    r0 += r2
    r0 += r3
    r0 += r4
    r0 += r5
    exit
