/* A reachable access to a field the kernel does not have: libbpf poisons the load and the
 * verifier refuses the call it became. */
#include "core.h"

struct task_struct {
	int kbpf_no_such_field;
} CORE;

SEC("kprobe/poison")
int poison(void *ctx)
{
	struct task_struct *t = (void *)get_current_task();

	return t->kbpf_no_such_field;
}
