// SPDX-License-Identifier: Apache-2.0 OR MIT
//
// jited_load: libbpf_load with the kernel's native code, for `cargo xtask jited-diff`.
//
// Usage: jited_load --xlated OBJECT.bpf.o
//
// The records of `libbpf_load --xlated`, where an accepted program's also holds the image the
// kernel's JIT made (`bpf_prog_info.jited_prog_insns`, what `bpftool prog dump jited`
// disassembles) and the length of each function in it: `"jited":"HEX","jited_func_lens":[N,...]`.
//
// It is libbpf_load.c itself with one hook: the object's close at the end of a load, when the
// loaded program's fd is still open. A separate binary, so that the oracle records every other
// command caches (which depend on libbpf_load's binary) stay valid.

#include <bpf/libbpf.h>

static void print_jited(struct bpf_object *obj);

#define bpf_object__close(obj) (print_jited(obj), bpf_object__close(obj))
#include "libbpf_load.c"
#undef bpf_object__close

// Prints the jited fields of the one loaded program of `obj`, if there is one.
static void print_jited(struct bpf_object *obj)
{
	struct bpf_program *prog;

	if (!obj || !xlated_mode)
		return;
	bpf_object__for_each_program(prog, obj) {
		int fd = bpf_program__fd(prog);
		if (fd < 0)
			continue;
		struct bpf_prog_info info;
		__u32 len = sizeof(info);
		memset(&info, 0, sizeof(info));
		if (bpf_prog_get_info_by_fd(fd, &info, &len) || info.jited_prog_len == 0) {
			printf(",\"jited_error\":\"%s\"", info.jited_prog_len ? strerror(errno) : "no image");
			return;
		}
		__u32 n = info.jited_prog_len, nf = info.nr_jited_func_lens;
		unsigned char *code = calloc(1, n);
		__u32 *lens = calloc(nf ? nf : 1, sizeof(*lens));
		if (!code || !lens)
			exit(2);
		memset(&info, 0, sizeof(info));
		info.jited_prog_len = n;
		info.jited_prog_insns = (__u64)(unsigned long)code;
		info.nr_jited_func_lens = nf;
		info.jited_func_lens = (__u64)(unsigned long)lens;
		len = sizeof(info);
		if (bpf_prog_get_info_by_fd(fd, &info, &len)) {
			printf(",\"jited_error\":\"%s\"", strerror(errno));
		} else {
			printf(",\"jited\":\"");
			for (__u32 i = 0; i < n; i++)
				printf("%02x", code[i]);
			printf("\",\"jited_func_lens\":[");
			for (__u32 i = 0; i < nf; i++)
				printf("%s%u", i ? "," : "", lens[i]);
			putchar(']');
		}
		free(code);
		free(lens);
		return;
	}
}
