#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/in.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#define SEC(n) __attribute__((section(n), used))
static long (*bpf_skb_pull_data)(void *skb, __u32 len) = (void *)39;
static struct bpf_sock *(*bpf_sk_lookup_udp)(void *ctx, struct bpf_sock_tuple *tuple, __u32 tuple_size, __u64 netns, __u64 flags) = (void *)85;
static long (*bpf_sk_release)(void *sock) = (void *)86;
static long (*bpf_skb_change_tail)(void *skb, __u32 len, __u64 flags) = (void *)38;

static __attribute__((noinline)) int parse(struct __sk_buff *skb, struct bpf_sock_tuple *t)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = (void *)(eth + 1);
	struct udphdr *udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > end)
		return -1;
	if (ip->protocol != IPPROTO_UDP)
		return -1;
	t->ipv4.saddr = ip->saddr;
	t->ipv4.daddr = ip->daddr;
	t->ipv4.sport = udp->source;
	t->ipv4.dport = udp->dest;
	return 0;
}

static __attribute__((noinline)) int owned(struct __sk_buff *skb, struct bpf_sock_tuple *t)
{
	struct bpf_sock *sk = bpf_sk_lookup_udp(skb, t, sizeof(t->ipv4), -1, 0);
	int r = 0;
	if (!sk)
		return 0;
	if (sk->src_port == 53)
		r = 1;
	bpf_sk_release(sk);
	return r;
}

SEC("tc/ingress")
int ingress(struct __sk_buff *skb)
{
	struct bpf_sock_tuple t = {};
	if (parse(skb, &t))
		return TC_ACT_OK;
	if (owned(skb, &t)) {
		skb->mark = 0x53;
		if (skb->len > 1500)
			bpf_skb_change_tail(skb, 1500, 0);
		return TC_ACT_OK;
	}
	bpf_skb_pull_data(skb, 0);
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	if (data + 20 > end)
		return TC_ACT_SHOT;
	((unsigned char *)data)[19] ^= 1;
	return TC_ACT_UNSPEC;
}
char _license[] SEC("license") = "GPL";
