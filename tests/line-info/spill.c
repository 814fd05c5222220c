#include "common.h"

/* The context pointer spilled with a 4-byte store: the spill size error, whose source line the
 * kernel prints before the message. */
SEC("socket")
int spill(struct __sk_buff *skb)
{
	unsigned int len = skb->len;

	if (len < 10)
		return 0;
	asm volatile("*(u32 *)(r10 - 8) = %0" ::"r"(skb) : "memory");
	return len;
}

char _license[] SEC("license") = "GPL";
