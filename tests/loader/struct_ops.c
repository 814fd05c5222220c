/* struct_ops programs take the kernel struct's BTF id and the kernel member's index (by name,
 * not by the local layout); an exception callback named by a decl tag is appended to its
 * program even when nothing calls it. */
#include "common.h"

struct sock;
struct tcp_congestion_ops {
	void (*cong_avoid)(struct sock *sk, __u32 ack, __u32 acked); /* kernel: member 1 */
	__u32 (*ssthresh)(struct sock *sk);                          /* kernel: member 0 */
	char name[16];
};

SEC("struct_ops/my_ssthresh") __u32 my_ssthresh(struct sock *sk) { return 2; }
SEC("struct_ops/my_cong_avoid") void my_cong_avoid(struct sock *sk, __u32 ack, __u32 acked) {}

/* no .struct_ops variable points to it: libbpf refuses it */
SEC("struct_ops/lonely") __u32 lonely(struct sock *sk) { return 1; }

SEC(".struct_ops") struct tcp_congestion_ops my_ops = {
	.cong_avoid = (void *)my_cong_avoid,
	.ssthresh = (void *)my_ssthresh,
	.name = "my_ops",
};

__noinline int exc_cb(__u64 cookie) { return cookie + 1; }

__attribute__((btf_decl_tag("exception_callback:exc_cb")))
SEC("tc") int with_cb(void *ctx) { return 0; }

char _license[] SEC("license") = "GPL";
