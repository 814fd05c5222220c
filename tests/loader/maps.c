/* Every map definition libbpf accepts: BTF-defined maps with each field, loader-sized maps
 * (max_entries 0 and friends), a prog array and a map-in-map with initial values, and the
 * global-data sections. */
#include "common.h"

struct { __uint(type, 1); __uint(max_entries, 16); __type(key, __u32); __type(value, __u64);
	 __uint(map_flags, 1); __uint(numa_node, 0); __uint(pinning, 1); } hash SEC(".maps");
struct { __uint(type, 2); __uint(key_size, 4); __uint(value_size, 24); } sized SEC(".maps");
struct { __uint(type, 27); __type(key, __u32); __type(value, __u32); } rb SEC(".maps");
struct { __uint(type, 4); } events SEC(".maps");
struct { __uint(type, 7); __uint(key_size, 4); } stacks SEC(".maps");
struct { __uint(type, 30); __uint(max_entries, 64); __uint(value_size, 8); __uint(map_extra, 3); } bloom SEC(".maps");
struct { __uint(type, 24); __uint(map_flags, 1); __type(key, int); __type(value, __u64); } sk SEC(".maps");

struct inner { __uint(type, 2); __uint(max_entries, 1); __type(key, __u32); __type(value, __u32); };
struct inner inner_a SEC(".maps");
struct {
	__uint(type, 12); __uint(max_entries, 4); __type(key, __u32);
	__array(values, struct inner);
} outer SEC(".maps") = { .values = { [1] = &inner_a } };

int tail_a(void *ctx);
struct {
	__uint(type, 3); __uint(max_entries, 8); __type(key, __u32);
	__array(values, int (void *));
} jumps SEC(".maps") = { .values = { [2] = (void *)&tail_a } };

int counter;
const volatile int limit = 7;
char buf[32];
int custom SEC(".data.custom") = 5;
const volatile char tag[4] SEC(".rodata.cfg") = "abc";

SEC("socket") int tail_a(void *ctx) { return 1; }

SEC("socket") int user(void *ctx)
{
	__u32 k = 0;
	void *p = bpf_map_lookup_elem(&hash, &k);
	p = p ? p : bpf_map_lookup_elem(&sized, &k);
	p = p ? p : bpf_map_lookup_elem(&rb, &k);
	p = p ? p : bpf_map_lookup_elem(&events, &k);
	p = p ? p : bpf_map_lookup_elem(&stacks, &k);
	p = p ? p : bpf_map_lookup_elem(&bloom, &k);
	p = p ? p : bpf_map_lookup_elem(&sk, &k);
	p = p ? p : bpf_map_lookup_elem(&outer, &k);
	bpf_tail_call(ctx, &jumps, 2);
	counter += limit + buf[3] + custom + tag[1];
	return p != 0;
}

char _license[] SEC("license") = "GPL";
