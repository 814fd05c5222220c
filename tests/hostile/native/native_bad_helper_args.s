; bpf_map_lookup_elem with integers for the map and the key.
r1 = 0x1000
r2 = 0x2000
call bpf_map_lookup_elem
r0 = 0
exit
