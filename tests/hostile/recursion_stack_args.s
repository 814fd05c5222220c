; expect: run-error
; attacks: unbounded recursion passing stack arguments
; input: plain 64

    call f
    exit

.func f, 6
f:
    *(u64 *)(r11 -8) = r10
    call f
    exit
