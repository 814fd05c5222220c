// Global data and a hash map, built with `clang-19 -O2 -g -target bpf -c globals.c`.
typedef unsigned long long u64;
typedef unsigned int u32;
#define SEC(n) __attribute__((section(n), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
struct {
    __uint(type, 1);
    __uint(max_entries, 8);
    __type(key, u32);
    __type(value, u64);
} seen SEC(".maps");
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, u64 flags) = (void *)2;

const volatile u64 scale = 7;          // .rodata
const char greeting[] = "hello";       // .rodata
u64 total = 100;                       // .data
u64 runs;                              // .bss

SEC("socket") int prog(void *ctx) {
    u32 k = 3;
    u64 one = 1, *v;
    runs++;
    total += scale;
    v = bpf_map_lookup_elem(&seen, &k);
    if (v)
        *v += 1;
    else
        bpf_map_update_elem(&seen, &k, &one, 0);
    return total + runs + greeting[1];
}
char _license[] SEC("license") = "GPL";
