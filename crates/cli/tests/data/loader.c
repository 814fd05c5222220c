/* The CLI's loader flags: a map the loader sizes, kconfig externs, two programs in one
 * section, a section libbpf cannot type and a BTF-attached one. Built with
 * `clang-19 -O2 -g -target bpf -fdebug-prefix-map=$PWD=. -c loader.c`. */
#define SEC(n) __attribute__((section(n), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name
#define __kconfig __attribute__((section(".kconfig")))
typedef unsigned int __u32;
typedef unsigned long long __u64;
static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;

struct { __uint(type, 1); __type(key, __u32); __type(value, __u64); } sized_later SEC(".maps");
extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern int CONFIG_KBPF_TEST_VALUE __kconfig;

SEC("socket") int one(void *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&sized_later, &k);
	return v ? 1 : 0;
}

SEC("socket") int two(void *ctx) { return (LINUX_KERNEL_VERSION != 0) + CONFIG_KBPF_TEST_VALUE; }

SEC("xdp_vlan01") int legacy(void *ctx) { return 2; }

SEC("fentry/bpf_fentry_test1") int traced(void *ctx) { return 0; }

char _license[] SEC("license") = "GPL";
