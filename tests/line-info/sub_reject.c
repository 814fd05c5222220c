#include "common.h"

/* The error is inside a static subprogram, on the path explored second: the index may reach
 * past the end of the stack array. */
static __noinline int pick(int i)
{
	int arr[4];

	arr[0] = 1;
	arr[1] = 2;
	arr[2] = 3;
	arr[3] = 4;
	return arr[i & 7];
}

SEC("socket")
int sub_reject(struct __sk_buff *skb)
{
	int r = skb->len;

	if (skb->mark != 7)
		r += 5;
	else
		r += pick(skb->protocol);
	return r;
}

char _license[] SEC("license") = "GPL";
