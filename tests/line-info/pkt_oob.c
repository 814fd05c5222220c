#include "common.h"

/* Reads past the bounds check the packet had: rejected. */
SEC("xdp")
int pkt_oob(struct xdp_md *ctx)
{
	unsigned char *data = (unsigned char *)(long)ctx->data;
	unsigned char *end = (unsigned char *)(long)ctx->data_end;

	if (data + 4 > end)
		return 1;
	/* byte 8 is beyond the 4 checked */
	return data[8] == 0x45 ? 2 : 1;
}

char _license[] SEC("license") = "GPL";
