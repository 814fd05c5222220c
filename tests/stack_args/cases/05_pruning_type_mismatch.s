# Scenario 5 (U:stack_arg_pruning_type_mismatch): a random branch stores a stack pointer or a
# scalar into arg6; the scalar path must not be pruned against the pointer path.
# (The upstream log line "arg JOIN insn ... sa0: ..." comes from liveness.c argument tracking,
# which kbpf does not print.)
# expect: reject EACCES
# error: R1 invalid mem access 'scalar'

    call 7
    r6 = 5
    *(u64 *)(r10 -8) = r6
    r7 = r10
    r7 += -8
    if r0 > 100 goto scalar
    *(u64 *)(r11 -8) = r7
    goto join
scalar:
    *(u64 *)(r11 -8) = 42
join:
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    call deref6
    exit

.func deref6, 6
deref6:
    r1 = *(u64 *)(r11 +8)
    r0 = *(u64 *)(r1 +0)
    exit
