# Scenario 39 (D): static subprog with 13 parameters
# expect: reject EFAULT
# error: kernel supports at most 12 parameters, function sub13 has 13

    r1 = 1
    r2 = 2
    r3 = 3
    r4 = 4
    r5 = 5
    call sub13
    exit

.func sub13, 13
sub13:
    r0 = 0
    exit
