#include "common.h"

/* A static subprogram with a bounded loop over a stack array: accepted. */
static __noinline int sum(int n)
{
	int buf[8];
	int i, total = 0;

	for (i = 0; i < 8; i++)
		buf[i] = i * n;
	for (i = 0; i < 8; i++)
		total += buf[i];
	return total;
}

SEC("socket")
int loop_sum(struct __sk_buff *skb)
{
	int n = skb->len & 7;

	if (skb->mark == 42)
		return sum(n) + 1;
	return sum(n);
}

char _license[] SEC("license") = "GPL";
