; Never exits: the verifier refuses it (infinite loop detected); an unverified interpreter run
; ends when its instruction budget does.
r0 = 0
loop:
if r0 == 0 goto loop
exit
