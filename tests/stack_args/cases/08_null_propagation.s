# Scenario 8 (U:stack_arg_null_propagation_fail): a PTR_TO_MAP_VALUE_OR_NULL stored in arg6's
# slot shares its id with r0, so the null branch of `if r0 != 0` turns the slot into scalar 0
# too; the callee's dereference of it fails.
# expect: reject EACCES
# error: R1 invalid mem access 'scalar'

.map map_hash_8b, hash, 8, 8, 1

    r1 = 0
    *(u64 *)(r10 -8) = r1
    r2 = r10
    r2 += -8
    r1 = map_hash_8b ll
    call bpf_map_lookup_elem
    *(u64 *)(r11 -8) = r0
    if r0 != 0 goto out
    r1 = 0
    r2 = 0
    r3 = 0
    r4 = 0
    r5 = 0
    call deref6
out:
    r0 = 0
    exit

.func deref6, 6
deref6:
    r1 = *(u64 *)(r11 +8)
    r0 = *(u64 *)(r1 +0)
    exit
