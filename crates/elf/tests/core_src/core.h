/* Shared declarations of the CO-RE test objects (our own, not libbpf's headers): the kernel
 * types are declared partially, with preserve_access_index, as a program would after
 * trimming vmlinux.h. */
#ifndef KBPF_CORE_H
#define KBPF_CORE_H

#define SEC(name) __attribute__((section(name), used))
#define CORE __attribute__((preserve_access_index))

/* __builtin_preserve_field_info kinds */
#define F_OFFSET 0
#define F_SIZE 1
#define F_EXISTS 2
#define F_SIGNED 3
#define F_LSHIFT 4
#define F_RSHIFT 5
/* __builtin_preserve_type_info kinds */
#define T_EXISTS 0
#define T_SIZE 1
#define T_MATCHES 2
/* __builtin_btf_type_id kinds */
#define ID_LOCAL 0
#define ID_TARGET 1
/* __builtin_preserve_enum_value kinds */
#define E_EXISTS 0
#define E_VALUE 1

#define FIELD(p, f, kind) __builtin_preserve_field_info((p)->f, kind)
#define TYPE(t, kind) __builtin_preserve_type_info(*(t *)0, kind)
#define ENUMV(t, v, kind) __builtin_preserve_enum_value(*(typeof(t) *)v, kind)

/* A bitfield read with relocated offset, size and shifts: load the covering unit, shift the
 * field to the top, shift it back down (arithmetically when signed). */
#define READ_BITS(p, f)                                                          \
	({                                                                       \
		const char *at = (const char *)(p) + FIELD(p, f, F_OFFSET);      \
		unsigned long long v = 0;                                        \
		asm volatile("" : "+r"(at));                                     \
		switch (FIELD(p, f, F_SIZE)) {                                   \
		case 1: v = *(const unsigned char *)at; break;                   \
		case 2: v = *(const unsigned short *)at; break;                  \
		case 4: v = *(const unsigned int *)at; break;                    \
		default: v = *(const unsigned long long *)at; break;             \
		}                                                                \
		v <<= FIELD(p, f, F_LSHIFT);                                     \
		if (FIELD(p, f, F_SIGNED))                                       \
			v = (unsigned long long)((long long)v >> FIELD(p, f, F_RSHIFT)); \
		else                                                             \
			v >>= FIELD(p, f, F_RSHIFT);                             \
		v;                                                               \
	})

static long (*get_current_task)(void) = (void *)35;

#endif
