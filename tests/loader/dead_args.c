/* A static function whose BTF prototype has 7 parameters while clang passes it 3 registers
 * (the others are dead and removed): Linux 6.18 marks the BTF unreliable and verifies the body
 * (accepted); the stack-arguments series expects 2 stack arguments at the call (rejected). */
#include "common.h"

static __noinline int many(int a, int b, int c, int d, int e, int f, int g) { return a * b + c; }

SEC("socket") int dead_args(void *ctx) { return many(1, 2, 3, 4, 5, 6, 7) + many(2, 3, 4, 5, 6, 7, 8); }

char _license[] SEC("license") = "GPL";
