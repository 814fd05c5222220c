/* Field relocations: offsets of plain members, array elements and pointers, a load whose size
 * changes (u64 locally, u32 in the kernel), bitfields (unsigned and signed, reached through
 * anonymous members of the kernel's type), field existence, flavors. */
#include "core.h"

struct mm_struct {
	unsigned long task_size;
} CORE;

struct task_struct {
	unsigned long long flags;
	int pid;
	int tgid;
	char comm[16];
	struct mm_struct *mm;
	unsigned int sched_reset_on_fork : 1;
	unsigned int sched_contributes_to_load : 1;
	int kbpf_no_such_field;
} CORE;

struct task_struct___old {
	int pid;
	long kbpf_gone_field;
} CORE;

struct bpf_reg_state {
	struct {
		unsigned int state : 2;
		int depth : 30;
	} iter;
} CORE;

SEC("kprobe/fields")
int fields(void *ctx)
{
	struct task_struct *t = (void *)get_current_task();
	struct task_struct___old *o = (void *)t;
	struct bpf_reg_state *reg = (void *)t;
	long r = 0;

	r += t->pid + t->tgid;
	r += t->flags;
	r += t->comm[3];
	r += t->mm->task_size;
	r += READ_BITS(t, sched_contributes_to_load);
	r += READ_BITS(reg, iter.depth);
	r += READ_BITS(reg, iter.state);
	r += FIELD(t, comm, F_SIZE) + FIELD(t, pid, F_SIGNED);
	if (FIELD(t, kbpf_no_such_field, F_EXISTS))
		r += t->kbpf_no_such_field;
	if (FIELD(o, kbpf_gone_field, F_EXISTS))
		r += o->kbpf_gone_field;
	r += o->pid;
	return r;
}

SEC("kprobe/again")
int again(void *ctx)
{
	struct task_struct *t = (void *)get_current_task();

	return t->pid + READ_BITS(t, sched_reset_on_fork);
}
