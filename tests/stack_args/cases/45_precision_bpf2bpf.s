# Scenario 7.2 (U:stack_arg_precision_bpf2bpf): the size of a kfunc's memory argument travels
# through a stack-argument slot, so precision for it walks from the kfunc call back through the
# slot store, the bounds checks and the incoming load into the caller, where the constant was
# stored; 1+2+3+4+5 + (1+2+3+4) = 25
# expect: accept
# retval: 25
# log-level: 2
# test-state-freq: yes
# log: mark_precise: frame1: regs= stack= before 18: (7b) *(u64 *)(r11 -16) = r1
# log: mark_precise: frame1: regs=r1 stack= before 17: (7b) *(u64 *)(r11 -8) = r2
# log: mark_precise: frame1: regs=r1 stack= before 8: (79) r1 = *(u64 *)(r11 +8)
# log: mark_precise: frame0: regs= stack= before 5: (7a) *(u64 *)(r11 -8) = 4

    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 4
    call sub
    exit

.func sub, 6
sub:
    r1 = *(u64 *)(r11 +8)
    r2 = 0x0807060504030201 ll
    *(u64 *)(r10 -8) = r2
    r0 = 0
    if r1 < 1 goto out
    if r1 > 8 goto out
    r2 = r10
    r2 += -8
    *(u64 *)(r11 -8) = r2
    *(u64 *)(r11 -16) = r1
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    call bpf_kfunc_call_stack_arg_mem
out:
    exit
