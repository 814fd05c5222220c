#include "common.h"

/* Writes a read-only context field: the ctx access error. */
SEC("socket")
int ctx_write(struct __sk_buff *skb)
{
	unsigned int len = skb->len;

	if (len > 64)
		skb->len = 64;
	return len;
}

char _license[] SEC("license") = "GPL";
