#include "common.h"

/* A loop whose state never changes: the infinite loop error, after a helper call. */
SEC("xdp")
int spin(struct xdp_md *ctx)
{
	volatile int stop = 0;
	long t = bpf_ktime_get_ns();

	if (t & 1)
		return 1;
	while (!stop)
		;
	return 2;
}

char _license[] SEC("license") = "GPL";
