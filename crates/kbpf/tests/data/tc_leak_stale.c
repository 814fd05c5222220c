#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#define SEC(n) __attribute__((section(n), used))
static long (*bpf_skb_pull_data)(void *skb, __u32 len) = (void *)39;
static struct bpf_sock *(*bpf_sk_lookup_udp)(void *ctx, struct bpf_sock_tuple *tuple, __u32 tuple_size, __u64 netns, __u64 flags) = (void *)85;
static long (*bpf_sk_release)(void *sock) = (void *)86;

SEC("classifier")
int leak(struct __sk_buff *skb)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk = bpf_sk_lookup_udp(skb, &t, sizeof(t.ipv4), -1, 0);
	if (sk && sk->family == 2)
		return TC_ACT_SHOT;
	if (sk)
		bpf_sk_release(sk);
	return TC_ACT_OK;
}

SEC("tcx/ingress")
int stale(struct __sk_buff *skb)
{
	unsigned char *data = (void *)(long)skb->data;
	unsigned char *end = (void *)(long)skb->data_end;
	if (data + 4 > end)
		return TC_ACT_OK;
	bpf_skb_pull_data(skb, 0);
	return data[2];
}
char _license[] SEC("license") = "GPL";
