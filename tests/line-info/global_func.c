#include "common.h"

/* A global function is verified on its own; the main program calls it twice. */
__noinline int scale(int x)
{
	if (x > 1000)
		return 1000;
	return x * 3;
}

SEC("tc")
int global_func(struct __sk_buff *skb)
{
	long t = bpf_ktime_get_ns();
	int a = scale(skb->len);

	if (t & 1)
		a += scale(skb->mark);
	return a > 0 ? 0 : 2;
}

char _license[] SEC("license") = "GPL";
