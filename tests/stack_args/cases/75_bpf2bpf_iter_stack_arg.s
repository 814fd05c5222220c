# A static subprog gets arg10 = &it (the caller's testmod_seq iterator) through a stack-arg slot
# and drains it with bpf_iter_testmod_seq_next: 1+..+9 + 3 elements
# expect: accept
# retval: 48

    r1 = r10
    r1 += -16
    r2 = 7
    r3 = 3
    call bpf_iter_testmod_seq_new
    r6 = r10
    r6 += -16
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 6
    *(u64 *)(r11 -16) = 7
    *(u64 *)(r11 -24) = 8
    *(u64 *)(r11 -32) = 9
    *(u64 *)(r11 -40) = r6
    call drain10
    r6 = r0
    r1 = r10
    r1 += -16
    call bpf_iter_testmod_seq_destroy
    r0 = r6
    exit

.func drain10, 10
drain10:
    r7 = *(u64 *)(r11 +40)
    r6 = r1
    r6 += r2
    r6 += r3
    r6 += r4
    r6 += r5
    r1 = *(u64 *)(r11 +8)
    r6 += r1
    r1 = *(u64 *)(r11 +16)
    r6 += r1
    r1 = *(u64 *)(r11 +24)
    r6 += r1
    r1 = *(u64 *)(r11 +32)
    r6 += r1
loop:
    r1 = r7
    call bpf_iter_testmod_seq_next
    if r0 == 0 goto done
    r6 += 1
    goto loop
done:
    r0 = r6
    exit
