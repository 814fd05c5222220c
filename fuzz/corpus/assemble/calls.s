call sub
exit
sub:
r0 = 7
exit
