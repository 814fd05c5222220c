// SPDX-License-Identifier: Apache-2.0 OR MIT
//
// test_run_load: libbpf_load with a BPF_PROG_TEST_RUN of every loaded program, for
// `cargo xtask test-run-diff`.
//
// Usage: test_run_load --test-run PACKET OBJECT.bpf.o
//
// The records of `libbpf_load`, where an accepted program of a type the kernel's test run takes
// packets for also holds one run of it on the bytes of the file PACKET, made right after its
// load (so its maps hold the object's initial values), and the maps of the object after it:
// `"test_run":{"retval":N,"data_out":"HEX","ctx_out":"HEX","maps":[{"name":..,"type":N,
// "key_size":N,"value_size":N,"entries":[["KEY","VALUE"],...]},...]}`, or
// `"test_run":{"errno":N,"error":".."}` when the kernel refused the run. Array maps list their
// non-zero elements only; per-CPU maps the value of CPU 0, where the process pins itself so the
// run happens there. A ring buffer lists the records a consumer reads after the run (libbpf's
// ring_buffer API), keyed by their index as a 4-byte little-endian number. Map types other than
// arrays, hashes and ring buffers are not listed.
//
// It is libbpf_load.c itself with one hook, like jited_load.c: the object's close at the end of
// a load, when the loaded program's fd is still open.

#define _GNU_SOURCE
#include <sched.h>

#include <bpf/libbpf.h>

static void test_run(struct bpf_object *obj);

#define bpf_object__close(obj) (test_run(obj), bpf_object__close(obj))
#define main libbpf_load_main
#include "libbpf_load.c"
#undef main
#undef bpf_object__close

static unsigned char packet[65536];
static size_t packet_len;
static int test_run_mode;

// Elements listed per map at most (a larger map's listing is cut and says so).
#define MAX_ELEMS 65536

static void hex(const void *p, size_t n)
{
	putchar('"');
	for (size_t i = 0; i < n; i++)
		printf("%02x", ((const unsigned char *)p)[i]);
	putchar('"');
}

static int all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

static void dump_map(struct bpf_object *obj, struct bpf_map *map, int ncpus)
{
	enum bpf_map_type t = bpf_map__type(map);
	int fd = bpf_map__fd(map);
	int percpu = t == BPF_MAP_TYPE_PERCPU_ARRAY || t == BPF_MAP_TYPE_PERCPU_HASH ||
		     t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	int array = t == BPF_MAP_TYPE_ARRAY || t == BPF_MAP_TYPE_PERCPU_ARRAY;
	int hash = t == BPF_MAP_TYPE_HASH || t == BPF_MAP_TYPE_PERCPU_HASH || t == BPF_MAP_TYPE_LRU_HASH ||
		   t == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	if (fd < 0 || (!array && !hash))
		return;
	__u32 ks = bpf_map__key_size(map), vs = bpf_map__value_size(map);
	size_t stride = percpu ? ((vs + 7) / 8) * 8 * (size_t)ncpus : vs;
	unsigned char *key = calloc(1, ks + 8), *next = calloc(1, ks + 8), *val = calloc(1, stride + 8);
	if (!key || !next || !val)
		exit(2);
	char name[128];
	loading = obj;
	map_name(map, name, sizeof(name));
	loading = NULL;
	printf("{\"name\":");
	json_str(name);
	printf(",\"type\":%d,\"key_size\":%u,\"value_size\":%u,\"entries\":[", t, ks, vs);
	int first = 1, cut = 0;
	size_t listed = 0;
	if (array) {
		__u32 n = bpf_map__max_entries(map);
		for (__u32 i = 0; i < n; i++) {
			if (i == MAX_ELEMS) {
				cut = 1;
				break;
			}
			if (bpf_map_lookup_elem(fd, &i, val) || all_zero(val, vs))
				continue;
			printf("%s[", first ? "" : ",");
			hex(&i, 4);
			putchar(',');
			hex(val, vs);
			putchar(']');
			first = 0;
		}
	} else {
		int have = bpf_map_get_next_key(fd, NULL, next) == 0;
		while (have) {
			if (listed++ == MAX_ELEMS) {
				cut = 1;
				break;
			}
			memcpy(key, next, ks);
			if (bpf_map_lookup_elem(fd, key, val) == 0) {
				printf("%s[", first ? "" : ",");
				hex(key, ks);
				putchar(',');
				hex(val, vs);
				putchar(']');
				first = 0;
			}
			have = bpf_map_get_next_key(fd, key, next) == 0;
		}
	}
	printf("],\"cut\":%s}", cut ? "true" : "false");
	free(key);
	free(next);
	free(val);
}

struct rb_dump {
	int first;
	__u32 index;
};

static int rb_record(void *ctx, void *data, size_t size)
{
	struct rb_dump *d = ctx;
	printf("%s[", d->first ? "" : ",");
	hex(&d->index, 4);
	putchar(',');
	hex(data, size);
	putchar(']');
	d->first = 0;
	d->index++;
	return d->index < MAX_ELEMS ? 0 : -E2BIG;
}

// The records a consumer of ring buffer `map` reads now, in order.
static void dump_ringbuf(struct bpf_object *obj, struct bpf_map *map)
{
	char name[128];
	loading = obj;
	map_name(map, name, sizeof(name));
	loading = NULL;
	printf("{\"name\":");
	json_str(name);
	printf(",\"type\":%d,\"key_size\":0,\"value_size\":0,\"entries\":[", BPF_MAP_TYPE_RINGBUF);
	struct rb_dump d = { .first = 1 };
	struct ring_buffer *rb = ring_buffer__new(bpf_map__fd(map), rb_record, &d, NULL);
	int cut = 0;
	if (rb) {
		cut = ring_buffer__consume(rb) == -E2BIG;
		ring_buffer__free(rb);
	}
	printf("],\"cut\":%s%s}", cut ? "true" : "false", rb ? "" : ",\"error\":\"ring_buffer__new\"");
}

// Runs the one loaded program of `obj` on the packet, if its type takes one.
static void test_run(struct bpf_object *obj)
{
	struct bpf_program *prog;

	if (!obj || !test_run_mode)
		return;
	bpf_object__for_each_program(prog, obj) {
		int fd = bpf_program__fd(prog);
		if (fd < 0)
			continue;
		enum bpf_prog_type t = bpf_program__type(prog);
		int skb = 0;
		switch (t) {
		case BPF_PROG_TYPE_SOCKET_FILTER:
		case BPF_PROG_TYPE_SCHED_CLS:
		case BPF_PROG_TYPE_SCHED_ACT:
		case BPF_PROG_TYPE_CGROUP_SKB:
		case BPF_PROG_TYPE_LWT_IN:
		case BPF_PROG_TYPE_LWT_OUT:
		case BPF_PROG_TYPE_LWT_XMIT:
		case BPF_PROG_TYPE_LWT_SEG6LOCAL:
			skb = 1;
			break;
		case BPF_PROG_TYPE_XDP:
		case BPF_PROG_TYPE_FLOW_DISSECTOR:
			break;
		default:
			return;
		}
		static unsigned char data_out[65536 + 4096];
		struct __sk_buff ctx_out;
		memset(&ctx_out, 0, sizeof(ctx_out));
		LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = packet, .data_size_in = packet_len,
			    .data_out = data_out, .data_size_out = sizeof(data_out), .repeat = 1);
		if (skb) {
			o.ctx_out = &ctx_out;
			o.ctx_size_out = sizeof(ctx_out);
		}
		printf(",\"test_run\":{");
		if (bpf_prog_test_run_opts(fd, &o)) {
			int e = errno;
			printf("\"errno\":%d,\"error\":", e);
			json_str(strerror(e));
			putchar('}');
			return;
		}
		printf("\"retval\":%u,\"data_out\":", o.retval);
		hex(data_out, o.data_size_out < sizeof(data_out) ? o.data_size_out : sizeof(data_out));
		printf(",\"ctx_out\":");
		hex(&ctx_out, skb ? sizeof(ctx_out) : 0);
		printf(",\"maps\":[");
		int ncpus = libbpf_num_possible_cpus();
		struct bpf_map *map;
		int first = 1;
		bpf_object__for_each_map(map, obj) {
			enum bpf_map_type mt = bpf_map__type(map);
			if (bpf_map__fd(map) >= 0 && mt == BPF_MAP_TYPE_RINGBUF) {
				if (!first)
					putchar(',');
				dump_ringbuf(obj, map);
				first = 0;
				continue;
			}
			if (bpf_map__fd(map) < 0 ||
			    (mt != BPF_MAP_TYPE_ARRAY && mt != BPF_MAP_TYPE_PERCPU_ARRAY && mt != BPF_MAP_TYPE_HASH &&
			     mt != BPF_MAP_TYPE_PERCPU_HASH && mt != BPF_MAP_TYPE_LRU_HASH &&
			     mt != BPF_MAP_TYPE_LRU_PERCPU_HASH))
				continue;
			if (!first)
				putchar(',');
			dump_map(obj, map, ncpus > 0 ? ncpus : 1);
			first = 0;
		}
		printf("]}");
		return;
	}
}

// `--test-run PACKET` in front of libbpf_load's arguments.
int main(int argc, char **argv)
{
	if (argc != 4 || strcmp(argv[1], "--test-run") != 0) {
		fprintf(stderr, "usage: test_run_load --test-run PACKET OBJECT.bpf.o\n");
		return 2;
	}
	FILE *f = fopen(argv[2], "rb");
	if (!f) {
		perror(argv[2]);
		return 2;
	}
	packet_len = fread(packet, 1, sizeof(packet), f);
	fclose(f);
	// every run on CPU 0: per-CPU values are read there
	cpu_set_t cpus;
	CPU_ZERO(&cpus);
	CPU_SET(0, &cpus);
	if (sched_setaffinity(0, sizeof(cpus), &cpus)) {
		perror("sched_setaffinity");
		return 2;
	}
	test_run_mode = 1;
	argv[2] = argv[0];
	return libbpf_load_main(argc - 2, argv + 2);
}
