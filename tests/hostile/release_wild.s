; expect: value
; attacks: bpf_kfunc_call_test_release of a wild pointer (compared, never dereferenced)
; input: plain 64

    r6 = r1
    r1 = 0xdead0000 ll
    call bpf_kfunc_call_test_release
    exit

.func dead, 0
dead:
    r0 = r10
    r0 += -64
    *(u64 *)(r0 +0) = 0
    exit
