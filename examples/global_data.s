# Global data the way clang lays it out: a frozen read-only `.rodata` map with a string and
# a constant, and a writable `.data` map. Returns strlen("hello, maps") + the constant (11 + 31)
# and leaves the sum in .data.
#   kbpf run --dump-maps examples/global_data.s          # 0x2a (42)

.map .rodata, array, 4, 24, 1, rdonly_prog, frozen
.mapdata .rodata, 0, "hello, maps\0", u32 0, u64 31
.map .data, array, 4, 8, 1

    r1 = map_value(.rodata, 0)
    r0 = 0
loop:
    r2 = r1
    r2 += r0
    r3 = *(u8 *)(r2 +0)
    if r3 == 0 goto end
    r0 += 1
    if r0 < 16 goto loop
end:
    r1 = map_value(.rodata, 16)
    r2 = *(u64 *)(r1 +0)
    r0 += r2
    r1 = .data + 0 ll
    *(u64 *)(r1 +0) = r0
    exit
