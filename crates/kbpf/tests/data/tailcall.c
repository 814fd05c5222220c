// A prog array initialized in the object (libbpf's `values`), built with
// `clang-19 -O2 -g -target bpf -c tailcall.c`.
typedef unsigned long long u64;
typedef unsigned int u32;
#define SEC(n) __attribute__((section(n), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __array(name, val) typeof(val) *name[]
static long (*bpf_tail_call)(void *ctx, void *map, u32 index) = (void *)12;

u64 hops;                               // .bss

SEC("socket") int second(void *ctx);

struct {
    __uint(type, 3);
    __uint(max_entries, 4);
    __type(key, u32);
    __array(values, int(void *));
} jmp SEC(".maps") = {
    .values = { [2] = (void *)&second },
};

SEC("socket") int second(void *ctx) {
    hops++;
    if (hops < 5)
        bpf_tail_call(ctx, &jmp, 2);
    return hops * 10;
}

SEC("socket") int entry(void *ctx) {
    bpf_tail_call(ctx, &jmp, 1);        // empty slot: falls through
    bpf_tail_call(ctx, &jmp, 2);
    return 1;
}
char _license[] SEC("license") = "GPL";
