#include <linux/bpf.h>
#define SEC(n) __attribute__((section(n), used))
static long (*bpf_skb_pull_data)(void *skb, __u32 len) = (void *)39;
static struct bpf_sock *(*bpf_sk_lookup_tcp)(void *ctx, struct bpf_sock_tuple *tuple, __u32 tuple_size, __u64 netns, __u64 flags) = (void *)84;
static long (*bpf_sk_release)(void *sock) = (void *)86;
static __attribute__((noinline)) int pull(struct __sk_buff *skb) { return bpf_skb_pull_data(skb, 0); }
static __attribute__((noinline)) int drop(struct bpf_sock *sk) { return bpf_sk_release(sk); }
SEC("tc/a")
int a(struct __sk_buff *skb)
{
	struct bpf_sock_tuple t = {};
	struct bpf_sock *sk = bpf_sk_lookup_tcp(skb, &t, sizeof(t.ipv4), -1, 0);
	unsigned char *data = (void *)(long)skb->data;
	unsigned char *end = (void *)(long)skb->data_end;
	int s = 0;
	if (sk) { s = sk->state; drop(sk); }
	if (data + 4 > end)
		return 0;
	pull(skb);
	return data[1] + s ;
}
char _license[] SEC("license") = "GPL";
