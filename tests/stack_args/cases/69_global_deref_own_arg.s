# A global function is verified for any scalar arguments, not for the values of one call:
# dereferencing its own (scalar) argument is refused even though every caller passes 0
# expect: reject EACCES
# error: R1 invalid mem access 'scalar'
# log: Validating g() func#1...

    r1 = 0
    call g
    exit

.func g, 1, global
g:
    r0 = *(u64 *)(r1 +0)
    exit
