// Programs in sections of several kinds, for program selection and program-type errors:
//   clang-19 -O2 -target bpf -c sections.c -o sections.o
#define SEC(n) __attribute__((section(n), used))
SEC("xdp") int pass(void *ctx) { return 2; }
SEC("kprobe/do_exit") int probe(void *ctx) { return 0; }
SEC("socket") int one(void *ctx) { return 1; }
SEC("socket") int seven(void *ctx) { return 7; }
SEC("mystery") int odd(void *ctx) { return 3; }
char _license[] SEC("license") = "GPL";
