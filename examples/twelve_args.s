# A bpf-to-bpf call with 12 arguments: r1..r5 in registers, arguments 6..12
# through the stack-argument area addressed by r11 (BPF_REG_PARAMS).
#
# The callee folds its arguments as hex digits, first argument most
# significant, so the result shows every argument arrived in its place:
#   digits(1, 2, ..., 12) = 0x123456789abc
    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 6          # argument 6
    *(u64 *)(r11 -16) = 7         # argument 7
    *(u64 *)(r11 -24) = 8
    *(u64 *)(r11 -32) = 9
    r6 = 10
    *(u64 *)(r11 -40) = r6        # argument 10, from a register
    *(u64 *)(r11 -48) = 11
    *(u64 *)(r11 -56) = 12        # argument 12
    call digits
    exit

# u64 digits(u64 a1, ..., u64 a12): the directive gives the verifier and
# the JITs its argument count, as BTF's FUNC_PROTO would.
.func digits, 12
digits:
    r0 = r1
    r0 <<= 4
    r0 |= r2
    r0 <<= 4
    r0 |= r3
    r0 <<= 4
    r0 |= r4
    r0 <<= 4
    r0 |= r5
    r1 = *(u64 *)(r11 +8)         # argument 6
    r0 <<= 4
    r0 |= r1
    r1 = *(u64 *)(r11 +16)
    r0 <<= 4
    r0 |= r1
    r1 = *(u64 *)(r11 +24)
    r0 <<= 4
    r0 |= r1
    r1 = *(u64 *)(r11 +32)
    r0 <<= 4
    r0 |= r1
    r1 = *(u64 *)(r11 +40)
    r0 <<= 4
    r0 |= r1
    r1 = *(u64 *)(r11 +48)
    r0 <<= 4
    r0 |= r1
    r1 = *(u64 *)(r11 +56)        # argument 12
    r0 <<= 4
    r0 |= r1
    exit
