/* Dev-only oracle of crates/elf/tests/core_selftests.rs: opens and loads one object with
 * libbpf's debug messages on stdout, so the test can read libbpf's CO-RE relocation lines,
 * optionally against a target BTF file (libbpf's btf_custom_path).
 * Compiled at test time against the libbpf of the selftests cache; never part of kbpf.
 * Usage: libbpf_core_log OBJECT [TARGET_BTF] */
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

	LIBBPF_OPTS(bpf_object_open_opts, opts, .btf_custom_path = argc > 2 ? argv[2] : NULL);

	if (argc != 2 && argc != 3)
		return 2;
	libbpf_set_print(print_all);
	obj = bpf_object__open_file(argv[1], &opts);
	if (!obj)
		return 1;
	/* CO-RE relocation happens early in the load; whatever follows does not matter here */
	bpf_object__load(obj);
	bpf_object__close(obj);
	return 0;
}
