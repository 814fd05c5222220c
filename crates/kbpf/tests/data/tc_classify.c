#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/in.h>
#include <linux/pkt_cls.h>

#define SEC(n) __attribute__((section(n), used))
static long (*bpf_skb_load_bytes)(const void *skb, __u32 off, void *to, __u32 len) = (void *)26;
static long (*bpf_skb_store_bytes)(void *skb, __u32 off, const void *from, __u32 len, __u64 flags) = (void *)9;
static long (*bpf_l3_csum_replace)(void *skb, __u32 off, __u64 from, __u64 to, __u64 size) = (void *)10;
static long (*bpf_skb_pull_data)(void *skb, __u32 len) = (void *)39;
static struct bpf_sock *(*bpf_sk_lookup_tcp)(void *ctx, struct bpf_sock_tuple *tuple, __u32 tuple_size, __u64 netns, __u64 flags) = (void *)84;
static long (*bpf_sk_release)(void *sock) = (void *)86;
static struct bpf_tcp_sock *(*bpf_tcp_sock)(struct bpf_sock *sk) = (void *)96;
static long (*bpf_redirect)(__u32 ifindex, __u64 flags) = (void *)23;
static __u32 (*bpf_get_hash_recalc)(struct __sk_buff *skb) = (void *)34;

SEC("tc")
int classify(struct __sk_buff *skb)
{
	void *data, *data_end;
	struct ethhdr *eth;
	struct iphdr *ip;
	struct tcphdr *tcp;
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk;
	int ret = TC_ACT_OK;

	if (skb->len < 64)
		bpf_skb_pull_data(skb, 64);
	data = (void *)(long)skb->data;
	data_end = (void *)(long)skb->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return TC_ACT_OK;
	if (eth->h_proto != __builtin_bswap16(ETH_P_IP))
		return TC_ACT_OK;
	ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > data_end)
		return TC_ACT_SHOT;
	if (ip->protocol != IPPROTO_TCP)
		return TC_ACT_OK;
	tcp = (void *)(ip + 1);
	if ((void *)(tcp + 1) > data_end)
		return TC_ACT_SHOT;
	t.ipv4.saddr = ip->saddr;
	t.ipv4.daddr = ip->daddr;
	t.ipv4.sport = tcp->source;
	t.ipv4.dport = tcp->dest;
	sk = bpf_sk_lookup_tcp(skb, &t, sizeof(t.ipv4), -1, 0);
	if (sk) {
		struct bpf_tcp_sock *tp = bpf_tcp_sock(sk);
		if (tp && tp->snd_cwnd > 10)
			skb->mark = sk->mark ^ tp->srtt_us;
		if (sk->state == 10)
			ret = TC_ACT_SHOT;
		bpf_sk_release(sk);
	}
	__u8 tos = ip->tos;
	if (tos == 0) {
		__u8 newtos = 0x10;
		__u16 old = *(__u16 *)ip, new;
		bpf_skb_store_bytes(skb, ETH_HLEN + 1, &newtos, 1, 0);
		new = old; ((__u8 *)&new)[1] = newtos;
		bpf_l3_csum_replace(skb, ETH_HLEN + 10, old, new, 2);
	}
	skb->tc_classid = bpf_get_hash_recalc(skb) & 0xff;
	if (skb->cb[0] == 7)
		return bpf_redirect(skb->ifindex, 0);
	return ret;
}
char _license[] SEC("license") = "GPL";
