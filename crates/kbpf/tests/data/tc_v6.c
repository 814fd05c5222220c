#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ipv6.h>
#include <linux/in.h>
#include <linux/tcp.h>
#include <linux/pkt_cls.h>
#define SEC(n) __attribute__((section(n), used))
static long (*bpf_skb_load_bytes)(const void *skb, __u32 off, void *to, __u32 len) = (void *)26;
static long (*bpf_l4_csum_replace)(void *skb, __u32 off, __u64 from, __u64 to, __u64 flags) = (void *)11;
static long (*bpf_skb_store_bytes)(void *skb, __u32 off, const void *from, __u32 len, __u64 flags) = (void *)9;
static struct bpf_sock *(*bpf_sk_fullsock)(struct bpf_sock *sk) = (void *)95;
static struct bpf_tcp_sock *(*bpf_tcp_sock)(struct bpf_sock *sk) = (void *)96;
static long (*bpf_skb_vlan_push)(void *skb, __be16 proto, __u16 tci) = (void *)18;
static long (*bpf_skb_adjust_room)(void *skb, __s32 len_diff, __u32 mode, __u64 flags) = (void *)50;
static __u64 (*bpf_get_socket_cookie)(void *ctx) = (void *)46;

SEC("classifier")
int v6(struct __sk_buff *skb)
{
	struct ipv6hdr ip6;
	struct tcphdr th;
	__u32 sum = 0;
	if (skb->protocol != __builtin_bswap16(ETH_P_IPV6))
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip6, sizeof(ip6)))
		return TC_ACT_SHOT;
	if (ip6.nexthdr != IPPROTO_TCP)
		return TC_ACT_OK;
	if (bpf_skb_load_bytes(skb, ETH_HLEN + sizeof(ip6), &th, sizeof(th)))
		return TC_ACT_SHOT;
	for (int i = 0; i < 4; i++)
		sum += ip6.saddr.in6_u.u6_addr32[i];
	skb->cb[1] = sum;
	if (th.dest == __builtin_bswap16(80)) {
		__be16 old = th.dest, new = __builtin_bswap16(8080);
		bpf_l4_csum_replace(skb, ETH_HLEN + sizeof(ip6) + 16, old, new, 2);
		bpf_skb_store_bytes(skb, ETH_HLEN + sizeof(ip6) + 2, &new, 2, 0);
	}
	struct bpf_sock *sk = skb->sk;
	if (sk) {
		sk = bpf_sk_fullsock(sk);
		if (sk) {
			struct bpf_tcp_sock *tp = bpf_tcp_sock(sk);
			if (tp)
				skb->priority = tp->snd_cwnd + (__u32)tp->bytes_acked;
			skb->mark = sk->mark + sk->dst_port;
		}
	}
	skb->cb[0] = bpf_get_socket_cookie(skb);
	if (skb->vlan_present == 0 && skb->mark == 7)
		bpf_skb_vlan_push(skb, __builtin_bswap16(0x8100), 5);
	if (skb->len > 9000)
		bpf_skb_adjust_room(skb, -8, 0, 0);
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	if (data + 60 <= end && ((__u8 *)data)[54] == 0x60)
		return TC_ACT_REDIRECT;
	return TC_ACT_OK;
}
char _license[] SEC("license") = "GPL";
