/* Dev-only oracle of crates/elf/tests/core_selftests.rs: opens and loads one object with
 * libbpf's debug messages on stdout, so the test can read libbpf's CO-RE relocation lines.
 * Compiled at test time against the libbpf of the selftests cache; never part of kbpf. */
#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>

static int print_all(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level;
	return vfprintf(stdout, fmt, args);
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;

	if (argc != 2)
		return 2;
	libbpf_set_print(print_all);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj)
		return 1;
	/* CO-RE relocation happens early in the load; whatever follows does not matter here */
	bpf_object__load(obj);
	bpf_object__close(obj);
	return 0;
}
