; expect: run-error
; attacks: unbounded bpf-to-bpf recursion
; input: plain 64

    call self
    exit

.func self, 0
self:
    call self
    exit
