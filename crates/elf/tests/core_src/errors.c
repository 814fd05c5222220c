/* Relocations libbpf refuses or poisons against the hand-built target of core_selftests.rs:
 * one program per case, each in its own section, selected by -DCASE=N. */
#include "core.h"

struct amb {
	int x;
} CORE;

struct wide {
	unsigned int bits : 4;
	int sint;
	int far;
} CORE;

SEC("kprobe/errors")
int errors(void *ctx)
{
	struct amb *a = (void *)get_current_task();
	struct wide *w = (void *)a;

#if CASE == 0
	return a->x; /* two target flavors disagree on the offset */
#elif CASE == 1
	return READ_BITS(w, bits); /* the target's bitfield cannot be read with one load */
#elif CASE == 2
	return w->far; /* the target's offset does not fit an instruction's 16 bits */
#else
	return w->sint; /* int here, long there: the load cannot be resized */
#endif
}
