typedef unsigned long long u64;
typedef unsigned int u32;
#define SEC(n) __attribute__((section(n), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
struct {
    __uint(type, 2);
    __uint(max_entries, 4);
    __type(key, u32);
    __type(value, u64);
} counts SEC(".maps");
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static __attribute__((noinline)) u64 add3(u64 a, u64 b, u64 c) { return a + b * c; }
__attribute__((noinline)) int glob(int x) { return x * 3; }
SEC("socket") int prog(void *ctx) {
    u32 k = 1;
    u64 *v = bpf_map_lookup_elem(&counts, &k);
    if (!v) return 0;
    return add3(*v, 2, 3) + glob(4);
}
char _license[] SEC("license") = "GPL";
