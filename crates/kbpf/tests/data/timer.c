/* A timer whose callback calls a static function: the ELF form of the timer scenarios
 * (clang-19 -target bpf -O2 -g -c timer.c). */
typedef unsigned long long __u64;
struct bpf_timer { __u64 __opaque[2]; } __attribute__((aligned(8)));
#define SEC(n) __attribute__((section(n), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_timer_init)(struct bpf_timer *timer, void *map, __u64 flags) = (void *)169;
static long (*bpf_timer_set_callback)(struct bpf_timer *timer, void *callback_fn) = (void *)170;
static long (*bpf_timer_start)(struct bpf_timer *timer, __u64 nsecs, __u64 flags) = (void *)171;

struct elem {
	__u64 count;
	struct bpf_timer t;
};

struct {
	__uint(type, 2);
	__uint(max_entries, 1);
	__type(key, int);
	__type(value, struct elem);
} timer_map SEC(".maps");

__u64 timer_result;

static __attribute__((noinline)) __u64 sum5(__u64 a, __u64 b, __u64 c, __u64 d, __u64 e)
{
	return a + b + c + d + e;
}

static int timer_cb(void *map, int *key, struct elem *val)
{
	timer_result = sum5(10, 20, 30, 40, 50) + *key;
	val->count++;
	return 0;
}

SEC("socket") int prog(void *ctx)
{
	int key = 0;
	struct elem *e = bpf_map_lookup_elem(&timer_map, &key);

	if (!e)
		return 0;
	bpf_timer_init(&e->t, &timer_map, 1);
	bpf_timer_set_callback(&e->t, timer_cb);
	bpf_timer_start(&e->t, 0, 0);
	return 0;
}

char _license[] SEC("license") = "GPL";
