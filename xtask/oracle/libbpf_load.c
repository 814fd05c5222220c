// SPDX-License-Identifier: Apache-2.0 OR MIT
//
// libbpf_load: the dev-only libbpf oracle of `cargo xtask selftests`.
//
// Usage: libbpf_load [--xlated] OBJECT.bpf.o
//
// For every program of the object, opens the object afresh with only that program set to
// autoload (one verdict per program, as veristat does), loads it into the running kernel and
// prints one JSON line on stdout: the verdict, the errno, the program and expected attach types,
// the `processed N insns` figure, the error line of a rejection, and the instructions libbpf
// submitted to BPF_PROG_LOAD with map and BTF object fds replaced by what they name.
//
// With --xlated, an accepted program's record also holds the instructions the kernel reports
// after its fixups (`bpf_prog_info.xlated_prog_insns`, what `bpftool prog dump xlated` prints)
// and, for each helper call there, the kernel symbol it calls (from /proc/kallsyms, as bpftool
// resolves it): `"xlated":"HEX","xlated_calls":[[SLOT,"symbol"],...]`.
//
// The xtask compiles this file at test time against the libbpf it built from the kernel source;
// it is never part of kbpf's library.

#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/bpf.h>

// Level 4 (statistics only) for the verdict: the statistics fit any buffer, so the kernel never
// turns an accepted program into ENOSPC. A rejected program is loaded again at level 1 for its
// log; the kernel's log rotates, so the tail (with the error line) survives a short buffer.
#define STATS_LOG_SIZE (64 * 1024)
#define FULL_LOG_SIZE (4 * 1024 * 1024)

static char stats_log[STATS_LOG_SIZE];
static char full_log[FULL_LOG_SIZE];

// libbpf's warnings for the current load, to tell a libbpf-side failure from a kernel verdict.
static char messages[64 * 1024];
static size_t messages_len;

// The object and program being loaded, and the maps behind the fds of its instructions. libbpf
// gives every map an fd when it opens the object (a memfd placeholder, in map order, an inner
// map's right after its outer map's) and creates the map on that same fd number at load; after a
// failed load it closes them, but the submitted instructions still hold the numbers. So the
// placeholders are listed right after the open. Should their count not match the maps, an fd is
// named while it is open by the kernel's map info (name, type, sizes) instead.
static struct bpf_object *loading;
static struct bpf_program *loading_prog;
static struct fd_name {
	int fd;
	char name[128];
} fd_names[4096];
static size_t fd_count;
static int by_placeholder;
static int kernel_failed;
static int xlated_mode;

// /proc/kallsyms, sorted by address, read once (xlated mode only).
static struct ksym {
	unsigned long long addr;
	char name[128];
} *ksyms;
static size_t ksym_count;
static unsigned long long call_base;

static int cmp_ksym(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static void read_kallsyms(void)
{
	FILE *f = fopen("/proc/kallsyms", "r");
	size_t cap = 0;
	char line[512];

	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long addr;
		char type, name[128];
		if (sscanf(line, "%llx %c %127s", &addr, &type, name) != 3)
			continue;
		if (ksym_count == cap) {
			cap = cap ? cap * 2 : 65536;
			ksyms = realloc(ksyms, cap * sizeof(*ksyms));
			if (!ksyms)
				exit(2);
		}
		ksyms[ksym_count].addr = addr;
		snprintf(ksyms[ksym_count].name, sizeof(ksyms[0].name), "%s", name);
		if (strcmp(name, "__bpf_call_base") == 0)
			call_base = addr;
		ksym_count++;
	}
	fclose(f);
	qsort(ksyms, ksym_count, sizeof(*ksyms), cmp_ksym);
}

// The symbol starting exactly at `addr`, or NULL.
static const char *ksym_at(unsigned long long addr)
{
	size_t lo = 0, hi = ksym_count;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (ksyms[mid].addr < addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < ksym_count && ksyms[lo].addr == addr ? ksyms[lo].name : NULL;
}

// kbpf's name for a map: internal maps by their section (`.rodata`, `.bss.custom`: the DATASEC
// of the value type, since libbpf truncates long ones to 15 characters), others by their name.
static void map_name(const struct bpf_map *map, char *out, size_t size)
{
	const char *name = bpf_map__name(map);
	const char *dot = strchr(name, '.');
	if (!dot) {
		snprintf(out, size, "%s", name);
		return;
	}
	const struct btf *btf = bpf_object__btf(loading);
	const struct btf_type *t = btf ? btf__type_by_id(btf, bpf_map__btf_value_type_id(map)) : NULL;
	if (t && btf_is_datasec(t))
		snprintf(out, size, "%s", btf__name_by_offset(btf, t->name_off));
	else
		snprintf(out, size, "%s", dot);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

// The map fds libbpf reserved at open, in map order; 0 when they cannot be told apart.
static int list_placeholders(void)
{
	static int fds[4096];
	size_t n = 0;
	DIR *dir = opendir("/proc/self/fd");
	struct dirent *e;

	if (!dir)
		return 0;
	while ((e = readdir(dir)) != NULL && n < sizeof(fds) / sizeof(fds[0])) {
		char link[300], target[256];
		snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
		ssize_t len = readlink(link, target, sizeof(target) - 1);
		if (len <= 0)
			continue;
		target[len] = '\0';
		if (strstr(target, "libbpf-placeholder-fd"))
			fds[n++] = atoi(e->d_name);
	}
	closedir(dir);
	qsort(fds, n, sizeof(fds[0]), cmp_int);

	struct bpf_map *map;
	size_t want = 0;
	bpf_object__for_each_map(map, loading)
		want += 1 + (bpf_map__inner_map(map) != NULL);
	if (want != n || want > sizeof(fd_names) / sizeof(fd_names[0]))
		return 0;
	size_t k = 0;
	fd_count = 0;
	bpf_object__for_each_map(map, loading) {
		fd_names[fd_count].fd = fds[k];
		map_name(map, fd_names[fd_count].name, sizeof(fd_names[0].name));
		fd_count++;
		k += 1 + (bpf_map__inner_map(map) != NULL);
	}
	return 1;
}

// After a successful load: the maps' own fds.
static void fds_of_loaded_maps(void)
{
	struct bpf_map *map;

	fd_count = 0;
	bpf_object__for_each_map(map, loading) {
		if (fd_count == sizeof(fd_names) / sizeof(fd_names[0]))
			break;
		fd_names[fd_count].fd = bpf_map__fd(map);
		map_name(map, fd_names[fd_count].name, sizeof(fd_names[0].name));
		fd_count++;
	}
}

static void name_fd_by_info(int fd)
{
	for (size_t i = 0; i < fd_count; i++)
		if (fd_names[i].fd == fd)
			return;
	if (fd_count == sizeof(fd_names) / sizeof(fd_names[0]))
		return;
	struct bpf_map_info info;
	__u32 len = sizeof(info);
	memset(&info, 0, sizeof(info));
	struct fd_name *out = &fd_names[fd_count++];
	out->fd = fd;
	if (bpf_map_get_info_by_fd(fd, &info, &len)) {
		snprintf(out->name, sizeof(out->name), "?fd-%d", fd);
		return;
	}
	snprintf(out->name, sizeof(out->name), "?kernel-name:%s", info.name);
	struct bpf_map *map;
	bpf_object__for_each_map(map, loading) {
		const char *name = bpf_map__name(map);
		size_t n = strlen(info.name);
		if (strncmp(name, info.name, n) != 0 || (name[n] != '\0' && n < BPF_OBJ_NAME_LEN - 1))
			continue;
		if (bpf_map__type(map) != info.type || bpf_map__key_size(map) != info.key_size ||
		    bpf_map__value_size(map) != info.value_size)
			continue;
		map_name(map, out->name, sizeof(out->name));
		return;
	}
}

// While the maps are open during a load that fails.
static void snapshot_fds(void)
{
	if (by_placeholder)
		return;
	const struct bpf_insn *insns = bpf_program__insns(loading_prog);
	size_t cnt = bpf_program__insn_cnt(loading_prog);

	for (size_t i = 0; i + 1 < cnt; i++) {
		if (insns[i].code != (BPF_LD | BPF_IMM | BPF_DW))
			continue;
		if (insns[i].src_reg == BPF_PSEUDO_MAP_FD || insns[i].src_reg == BPF_PSEUDO_MAP_VALUE)
			name_fd_by_info(insns[i].imm);
		i++;
	}
}

static int on_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	// printed after BPF_PROG_LOAD failed, while the maps are still open
	if (loading && strstr(fmt, "BPF program load failed")) {
		kernel_failed = 1;
		snapshot_fds();
	}
	// printed after every program loaded (a prog array slot names a program not loaded
	// here): the kernel accepted ours, and the maps are still open
	if (loading && strstr(fmt, "failed to initialize slot"))
		snapshot_fds();
	if (level == LIBBPF_DEBUG || messages_len + 1 >= sizeof(messages))
		return 0;
	int n = vsnprintf(messages + messages_len, sizeof(messages) - messages_len, fmt, ap);
	if (n > 0)
		messages_len += (size_t)n < sizeof(messages) - messages_len ? (size_t)n
									: sizeof(messages) - messages_len - 1;
	return 0;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; s && *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			printf("\\%c", c);
		else if (c == '\n')
			fputs("\\n", stdout);
		else if (c == '\t')
			fputs("\\t", stdout);
		else if (c < 0x20 || c >= 0x7f)
			printf("\\u%04x", c);
		else
			putchar(c);
	}
	putchar('"');
}

// The tail of `text` before `stop` (or its end): at most `size - 1` bytes, from a line start.
static void tail_before(const char *text, const char *stop, char *out, size_t size)
{
	const char *end = stop ? stop : text + strlen(text);
	const char *start = (size_t)(end - text) < size - 1 ? text : end - (size - 1);
	while (start > text && start[-1] != '\n' && start < end)
		start++;
	size_t n = (size_t)(end - start);
	memcpy(out, start, n);
	out[n] = '\0';
}

// The first line of `text` (libbpf's first warning: the cause; later ones follow from it).
static void first_line(const char *text, char *out, size_t size)
{
	size_t n = strcspn(text, "\n");
	if (n >= size)
		n = size - 1;
	memcpy(out, text, n);
	out[n] = '\0';
}

// The number after `processed ` in a verifier log, or -1.
static long processed_insns(const char *log)
{
	const char *p = strstr(log, "processed ");
	long n = -1;
	if (p && sscanf(p, "processed %ld insns", &n) == 1)
		return n;
	return -1;
}

// The number in the log's `verification time N usec` (BPF_LOG_STATS), or -1.
static long verification_usec(const char *log)
{
	const char *p = strstr(log, "verification time ");
	long n = -1;
	if (p && sscanf(p, "verification time %ld usec", &n) == 1)
		return n;
	return -1;
}

// The name of the map an fd referred to at load time.
static const char *map_of_fd(int fd)
{
	for (size_t i = 0; i < fd_count; i++)
		if (fd_names[i].fd == fd)
			return fd_names[i].name;
	static char unknown[32];
	snprintf(unknown, sizeof(unknown), "?fd-%d", fd);
	return unknown;
}

// What a loader without user space code must decide for maps the object leaves unsized; the same
// defaults kbpf documents. The names of the maps changed are printed with the result.
static void fix_maps(struct bpf_object *obj, char *changed, size_t size)
{
	struct bpf_map *map;
	int cpus = libbpf_num_possible_cpus();

	changed[0] = '\0';
	bpf_object__for_each_map(map, obj) {
		bpf_map__set_pin_path(map, NULL);
		enum bpf_map_type t = bpf_map__type(map);
		if (t == BPF_MAP_TYPE_STACK_TRACE && bpf_map__value_size(map) == 0)
			bpf_map__set_value_size(map, 127 * 8);
		if (bpf_map__max_entries(map) != 0)
			continue;
		__u32 n;
		switch (t) {
		case BPF_MAP_TYPE_PERF_EVENT_ARRAY:
		case BPF_MAP_TYPE_SK_STORAGE:
		case BPF_MAP_TYPE_INODE_STORAGE:
		case BPF_MAP_TYPE_TASK_STORAGE:
		case BPF_MAP_TYPE_CGRP_STORAGE:
		case BPF_MAP_TYPE_CGROUP_STORAGE:
		case BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE:
		case BPF_MAP_TYPE_STRUCT_OPS:
			continue;
		case BPF_MAP_TYPE_RINGBUF:
		case BPF_MAP_TYPE_USER_RINGBUF:
			n = 262144;
			break;
		case BPF_MAP_TYPE_STACK_TRACE:
			n = 1024;
			break;
		case BPF_MAP_TYPE_ARRAY:
		case BPF_MAP_TYPE_PERCPU_ARRAY:
		case BPF_MAP_TYPE_CPUMAP:
		case BPF_MAP_TYPE_DEVMAP:
		case BPF_MAP_TYPE_XSKMAP:
			n = cpus > 0 ? (__u32)cpus : 1;
			break;
		default:
			n = 10240;
			break;
		}
		bpf_map__set_max_entries(map, n);
		size_t used = strlen(changed);
		snprintf(changed + used, size - used, "%s%s", used ? "," : "", bpf_map__name(map));
	}
}

// The kernel's translated instructions of a loaded program and the symbols its helper calls
// reach (a call whose imm is still a helper id keeps it: the tail call).
static void print_xlated(int fd)
{
	struct bpf_prog_info info;
	__u32 len = sizeof(info);

	memset(&info, 0, sizeof(info));
	if (bpf_prog_get_info_by_fd(fd, &info, &len) || info.xlated_prog_len == 0) {
		printf(",\"xlated_error\":\"%s\"", strerror(errno));
		return;
	}
	__u32 n = info.xlated_prog_len;
	struct bpf_insn *insns = calloc(1, n);
	if (!insns)
		exit(2);
	memset(&info, 0, sizeof(info));
	info.xlated_prog_len = n;
	info.xlated_prog_insns = (__u64)(unsigned long)insns;
	len = sizeof(info);
	if (bpf_prog_get_info_by_fd(fd, &info, &len)) {
		printf(",\"xlated_error\":\"%s\"", strerror(errno));
		free(insns);
		return;
	}
	printf(",\"xlated\":\"");
	for (__u32 i = 0; i < n; i++)
		printf("%02x", ((unsigned char *)insns)[i]);
	printf("\",\"xlated_calls\":[");
	int first = 1;
	for (__u32 i = 0; i < n / sizeof(*insns); i++) {
		// helpers (src 0) and kfuncs (src 2, BPF_PSEUDO_KFUNC_CALL) by address
		if (insns[i].code != (BPF_JMP | BPF_CALL) || (insns[i].src_reg != 0 && insns[i].src_reg != 2))
			continue;
		if (insns[i].src_reg == 0 && insns[i].imm >= 0 && insns[i].imm < __BPF_FUNC_MAX_ID)
			continue;
		const char *sym = call_base ? ksym_at(call_base + (long long)insns[i].imm) : NULL;
		printf("%s[%u,", first ? "" : ",", i);
		json_str(sym ? sym : "?");
		putchar(']');
		first = 0;
	}
	putchar(']');
	free(insns);
}

struct result {
	int kernel; // 1 when BPF_PROG_LOAD ran for this program
	int err;    // 0 accepted, else the positive errno
	long processed;
	long verification_us; // the kernel's own verification time, or -1
	char log_tail[4096]; // the log before the statistics, on a rejection
	char libbpf_error[1024];
	char defaulted[1024];
};

// Opens `path`, loads only `want` with verifier log level `level`, fills `r`; prints the program's
// facts and instructions when `print` is set.
static void load_one(const char *path, const char *want, int level, struct result *r, int print)
{
	char *log = level == 4 ? stats_log : full_log;
	size_t log_size = level == 4 ? sizeof(stats_log) : sizeof(full_log);
	struct bpf_program *prog, *target = NULL;

	memset(r, 0, sizeof(*r));
	r->processed = -1;
	r->verification_us = -1;
	messages_len = 0;
	messages[0] = '\0';
	log[0] = '\0';
	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		r->err = errno;
		first_line(messages, r->libbpf_error, sizeof(r->libbpf_error));
		goto out;
	}
	bpf_object__for_each_program(prog, obj) {
		int me = strcmp(bpf_program__name(prog), want) == 0;
		bpf_program__set_autoload(prog, me);
		if (me)
			target = prog;
	}
	if (!target) {
		r->err = ENOENT;
		snprintf(r->libbpf_error, sizeof(r->libbpf_error), "program %s vanished", want);
		goto out;
	}
	fix_maps(obj, r->defaulted, sizeof(r->defaulted));
	bpf_program__set_log_level(target, level);
	bpf_program__set_log_buf(target, log, log_size);
	loading = obj;
	loading_prog = target;
	kernel_failed = 0;
	fd_count = 0;
	by_placeholder = list_placeholders();
	int err = bpf_object__load(obj);
	if (err == 0)
		fds_of_loaded_maps();
	loading = NULL;
	r->processed = processed_insns(log);
	r->verification_us = verification_usec(log);
	// statistics without a failed BPF_PROG_LOAD: the kernel accepted the program and libbpf
	// failed afterwards (initialising a prog array slot with a program not loaded here)
	int accepted_then_failed = err && !kernel_failed && r->processed >= 0;
	r->kernel = err == 0 || kernel_failed || accepted_then_failed;
	r->err = err < 0 && !accepted_then_failed ? -err : 0;
	if (r->err && r->kernel)
		tail_before(log, strstr(log, "processed "), r->log_tail, sizeof(r->log_tail));
	else if (err)
		first_line(messages, r->libbpf_error, sizeof(r->libbpf_error));
	if (!print)
		goto out;

	printf(",\"prog_type\":");
	json_str(libbpf_bpf_prog_type_str(bpf_program__type(target)));
	printf(",\"attach_type\":");
	json_str(libbpf_bpf_attach_type_str(bpf_program__expected_attach_type(target)));
	printf(",\"attach_number\":%u", (unsigned)bpf_program__expected_attach_type(target));
	size_t cnt = bpf_program__insn_cnt(target);
	const struct bpf_insn *insns = bpf_program__insns(target);
	printf(",\"insn_cnt\":%zu,\"refs\":[", cnt);
	struct bpf_insn *copy = calloc(cnt ? cnt : 1, sizeof(*copy));
	if (!copy)
		exit(2);
	memcpy(copy, insns, cnt * sizeof(*copy));
	int first = 1;
	for (size_t i = 0; i + 1 < cnt; i++) {
		struct bpf_insn *in = &copy[i];
		if (in->code != (BPF_LD | BPF_IMM | BPF_DW))
			continue;
		const char *name = NULL;
		if (in->src_reg == BPF_PSEUDO_MAP_FD || in->src_reg == BPF_PSEUDO_MAP_VALUE) {
			name = map_of_fd(in->imm);
			in->imm = 0;
		} else if (in->src_reg == BPF_PSEUDO_BTF_ID && copy[i + 1].imm != 0) {
			name = "btf_obj_fd";
			copy[i + 1].imm = 0;
		}
		if (name) {
			printf("%s[%zu,", first ? "" : ",", i);
			json_str(name);
			putchar(']');
			first = 0;
		}
		i++;
	}
	printf("],\"insns\":\"");
	const unsigned char *bytes = (const unsigned char *)copy;
	for (size_t i = 0; i < cnt * sizeof(*copy); i++)
		printf("%02x", bytes[i]);
	putchar('"');
	free(copy);
	if (xlated_mode && err == 0)
		print_xlated(bpf_program__fd(target));
out:
	bpf_object__close(obj);
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--xlated") == 0) {
		xlated_mode = 1;
		read_kallsyms();
		argv++;
		argc--;
	}
	if (argc != 2) {
		fprintf(stderr, "usage: libbpf_load [--xlated] OBJECT.bpf.o\n");
		return 2;
	}
	const char *path = argv[1];
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	libbpf_set_print(on_print);

	struct bpf_object *obj = bpf_object__open_file(path, NULL);
	if (!obj) {
		char line[1024];
		first_line(messages, line, sizeof(line));
		printf("{\"object\":");
		json_str(base);
		printf(",\"open_error\":");
		json_str(line[0] ? line : strerror(errno));
		printf("}\n");
		return 0;
	}
	size_t n = 0, cap = 16;
	char **names = malloc(cap * sizeof(*names)), **sections = malloc(cap * sizeof(*sections));
	struct bpf_program *prog;
	bpf_object__for_each_program(prog, obj) {
		if (n == cap) {
			cap *= 2;
			names = realloc(names, cap * sizeof(*names));
			sections = realloc(sections, cap * sizeof(*sections));
		}
		if (!names || !sections)
			return 2;
		names[n] = strdup(bpf_program__name(prog));
		sections[n] = strdup(bpf_program__section_name(prog));
		n++;
	}
	bpf_object__close(obj);

	for (size_t i = 0; i < n; i++) {
		struct result r, full;
		printf("{\"object\":");
		json_str(base);
		printf(",\"prog\":");
		json_str(names[i]);
		printf(",\"section\":");
		json_str(sections[i]);
		load_one(path, names[i], 4, &r, 1);
		if (r.err && r.kernel) {
			load_one(path, names[i], 1, &full, 0);
			memcpy(r.log_tail, full.log_tail, sizeof(r.log_tail));
		}
		const char *outcome = !r.kernel ? "libbpf_failed" : r.err ? "rejected" : "accepted";
		printf(",\"outcome\":\"%s\",\"errno\":%d,\"processed\":%ld,\"log_tail\":", outcome, r.err,
		       r.processed);
		json_str(r.log_tail);
		printf(",\"libbpf_error\":");
		json_str(r.libbpf_error);
		printf(",\"defaulted_maps\":");
		json_str(r.defaulted);
		printf(",\"verification_us\":%ld}\n", r.verification_us);
		fflush(stdout);
	}
	return 0;
}
