/* Type and enumerator relocations: local and target type ids, existence, size and match of
 * a type (present, absent, typedef), enumerator existence and value (32- and 64-bit enums), an
 * absent enumerator guarded by its existence check. */
#include "core.h"

struct task_struct {
	int pid;
} CORE;

struct kbpf_no_such_type {
	int x;
};

typedef int pid_t;

enum bpf_map_type {
	BPF_MAP_TYPE_HASH = 1,
	BPF_MAP_TYPE_RINGBUF = 30,
	KBPF_NO_SUCH_MAP_TYPE = 99,
};

enum perf_callchain_context {
	PERF_CONTEXT_KERNEL = 0xffffffffffffff00ULL,
};

SEC("kprobe/types")
int types(void *ctx)
{
	long r = 0;

	r += __builtin_btf_type_id(*(struct task_struct *)0, ID_LOCAL);
	r += __builtin_btf_type_id(*(struct task_struct *)0, ID_TARGET);
	r += TYPE(struct task_struct, T_EXISTS);
	r += TYPE(struct task_struct, T_SIZE);
	r += TYPE(struct task_struct, T_MATCHES);
	r += TYPE(struct kbpf_no_such_type, T_EXISTS);
	r += TYPE(pid_t, T_EXISTS);
	r += ENUMV(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF, E_EXISTS);
	r += ENUMV(enum bpf_map_type, BPF_MAP_TYPE_RINGBUF, E_VALUE);
	if (ENUMV(enum bpf_map_type, KBPF_NO_SUCH_MAP_TYPE, E_EXISTS))
		r += ENUMV(enum bpf_map_type, KBPF_NO_SUCH_MAP_TYPE, E_VALUE);
	r += ENUMV(enum perf_callchain_context, PERF_CONTEXT_KERNEL, E_VALUE);
	return r;
}
