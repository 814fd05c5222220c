/* Self-contained declarations for the line-info golden programs (no libbpf headers). */
#define SEC(name) __attribute__((section(name), used))
#define __noinline __attribute__((noinline))

struct __sk_buff {
	unsigned int len;
	unsigned int pkt_type;
	unsigned int mark;
	unsigned int queue_mapping;
	unsigned int protocol;
};

struct xdp_md {
	unsigned int data;
	unsigned int data_end;
	unsigned int data_meta;
};

static long (*bpf_ktime_get_ns)(void) = (void *)5;
