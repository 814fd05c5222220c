; A store through an integer the program made up: the verifier refuses it (R1 invalid mem
; access 'scalar'); unverified, the interpreter traps.
r1 = 0x100000 ll
*(u64 *)(r1 + 0) = 1
r0 = 0
exit
