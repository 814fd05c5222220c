#include "common.h"

/* Two programs share one static subprogram of .text: each is loaded with the subprogram
 * appended and the line info of both parts. */
static __noinline int clamp(unsigned int v, unsigned int hi)
{
	if (v > hi)
		return hi;
	return v;
}

SEC("socket")
int first(struct __sk_buff *skb)
{
	return clamp(skb->len, 100);
}

SEC("xdp")
int second(struct xdp_md *ctx)
{
	int n = clamp(ctx->data_end - ctx->data, 3);

	return n > 2 ? 2 : 1;
}

char _license[] SEC("license") = "GPL";
