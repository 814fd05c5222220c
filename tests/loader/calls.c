/* Linking like libbpf: two entry points in one section reaching .text subprograms in
 * different orders, a static and a global (and a hidden global) function, a subprogram
 * calling another, and a callback passed by address. */
#include "common.h"

static __noinline int sub_a(int x) { return x + 1; }
static __noinline int sub_b(int x) { return sub_a(x) * 2; }
__noinline int glob(int x) { return x * 3; }
__hidden __noinline int hid(int x) { return x - 1; }
static int cb(__u32 i, void *ctx) { return 0; }

SEC("tc") int first(void *ctx)
{
	bpf_loop(4, cb, 0, 0);
	return sub_b(1) + glob(2) + hid(3);
}

SEC("tc") int second(void *ctx)
{
	return glob(1) + sub_a(2);
}

char _license[] SEC("license") = "GPL";
