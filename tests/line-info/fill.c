#include "common.h"

/* The context pointer spilled, then read back with a 4-byte load: the fill size error. */
SEC("socket")
int fill(struct __sk_buff *skb)
{
	unsigned int len = skb->len;
	unsigned int low;

	asm volatile("*(u64 *)(r10 - 8) = %0" ::"r"(skb) : "memory");
	if (len < 10)
		return 0;
	asm volatile("%0 = *(u32 *)(r10 - 8)" : "=r"(low)::"memory");
	return len + low;
}

char _license[] SEC("license") = "GPL";
