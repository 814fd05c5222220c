; expect: run-error
; attacks: an infinite loop of helper calls
; input: plain 64

loop:
    call bpf_ktime_get_ns
    goto loop
