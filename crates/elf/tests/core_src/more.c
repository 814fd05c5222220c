/* More shapes: members of anonymous structs inside a union, arrays of structs, a flexible
 * array the kernel keeps inside an anonymous union, enum-typed fields, an incompatible member
 * type, TYPE_MATCHES on a matching and a mismatching flavor, flavored enums, unions. */
#include "core.h"

typedef unsigned int u32;
typedef unsigned long long u64;

union bpf_attr {
	struct {
		u32 map_type;
		u32 key_size;
	};
	struct {
		u32 prog_type;
		u32 insn_cnt;
	};
} CORE;

struct rlimit {
	unsigned long rlim_cur;
	unsigned long rlim_max;
} CORE;

struct signal_struct {
	struct rlimit rlim[16];
} CORE;

struct bpf_array {
	u32 elem_size;
	char value[];
} CORE;

enum bpf_map_type___mine {
	BPF_MAP_TYPE_ARRAY___mine = 2,
	BPF_MAP_TYPE_ARENA = 40,
};

struct bpf_map {
	enum bpf_map_type___mine map_type;
} CORE;

struct list_head {
	struct list_head *next;
	struct list_head *prev;
};

struct bpf_map___wrong {
	struct list_head map_type;
} CORE;

struct list_head___bad {
	int next;
};

struct list_head___good {
	struct list_head___good *prev;
};

SEC("kprobe/more")
int more(void *ctx)
{
	union bpf_attr *attr = (void *)get_current_task();
	struct signal_struct *sig = (void *)attr;
	struct bpf_array *arr = (void *)attr;
	struct bpf_map *map = (void *)attr;
	struct bpf_map___wrong *wrong = (void *)attr;
	long r = 0;

	r += attr->insn_cnt + attr->key_size;
	r += sig->rlim[3].rlim_max;
	r += FIELD(sig, rlim[15], F_OFFSET);
	r += arr->value[5];
	r += arr->elem_size;
	r += map->map_type;
	r += FIELD(map, map_type, F_SIGNED) + FIELD(map, map_type, F_SIZE);
	if (FIELD(wrong, map_type, F_EXISTS))
		r += FIELD(wrong, map_type, F_OFFSET);
	r += TYPE(struct list_head, T_MATCHES);
	r += TYPE(struct list_head___bad, T_MATCHES);
	r += TYPE(struct list_head___good, T_MATCHES);
	r += TYPE(union bpf_attr, T_EXISTS) + TYPE(union bpf_attr, T_SIZE);
	r += TYPE(u64, T_SIZE);
	r += ENUMV(enum bpf_map_type___mine, BPF_MAP_TYPE_ARRAY___mine, E_VALUE);
	r += ENUMV(enum bpf_map_type___mine, BPF_MAP_TYPE_ARENA, E_VALUE);
	r += TYPE(enum bpf_map_type___mine, T_MATCHES);
	return r;
}
