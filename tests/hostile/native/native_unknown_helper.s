; A helper id no one has.
call 9999
exit
