# Scenario 14 (U(verifier_stack_arg_order.c):stack_arg_load_after_store): callee stores before it loads
# expect: reject EINVAL
# error: r11 load must be before any r11 store or call insn

    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    *(u64 *)(r11 -8) = 6
    call bad6
    exit

.func bad6, 6
bad6:
    *(u64 *)(r11 -8) = r1
    r0 = *(u64 *)(r11 +8)
    exit
