/* Every extern kind libbpf resolves: virtual LINUX_* kconfig values, CONFIG_* of each type
 * (bool, tristate, char, int, string), weak and strong; typed and typeless ksyms; kfuncs,
 * resolved and weak unresolved. Plus BTF-attached sections. */
#include "common.h"

enum libbpf_tristate { TRI_NO = 0, TRI_YES = 1, TRI_MODULE = 2 };
struct task_struct { int pid; };

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern bool LINUX_HAS_BPF_COOKIE __kconfig __weak;
extern bool CONFIG_BPF_SYSCALL __kconfig;
extern enum libbpf_tristate CONFIG_TRI __kconfig __weak;
extern char CONFIG_CHR __kconfig __weak;
extern int CONFIG_HZ __kconfig;
extern unsigned long long CONFIG_BIG __kconfig __weak;
extern const char CONFIG_STR[8] __kconfig __weak;
extern bool CONFIG_MISSING __kconfig __weak;

extern const int bpf_prog_active __ksym;
extern const void init_task __ksym __weak;
extern const int no_such_var __ksym __weak;
extern struct task_struct *bpf_task_acquire(struct task_struct *p) __ksym;
extern void bpf_no_such_kfunc(void) __ksym __weak;

SEC("xdp") int p_kcfg(void *ctx)
{
	__u64 s = LINUX_KERNEL_VERSION + LINUX_HAS_SYSCALL_WRAPPER + LINUX_HAS_BPF_COOKIE;
	s += CONFIG_BPF_SYSCALL + CONFIG_TRI + CONFIG_CHR + CONFIG_HZ + CONFIG_BIG + CONFIG_MISSING;
	s += CONFIG_STR[1];
	return s;
}

SEC("tp_btf/sys_enter") int p_ksyms(void *ctx)
{
	__u64 s = (__u64)&bpf_prog_active + (__u64)&init_task + (__u64)&no_such_var;
	bpf_task_acquire(0);
	if (s == 7)
		bpf_no_such_kfunc();
	return s;
}

SEC("fentry/bpf_fentry_test1") int p_fentry(void *ctx) { return 0; }
SEC("fmod_ret.s/bpf_fentry_test1") int p_modret(void *ctx) { return 0; }
SEC("lsm/file_open") int p_lsm(void *ctx) { return 0; }
SEC("iter/task") int p_iter(void *ctx) { return 0; }
SEC("fentry/no_such_function") int p_missing(void *ctx) { return 0; }
SEC("fentry") int p_untargeted(void *ctx) { return 0; }
SEC("xdp_vlan01") int p_legacy(void *ctx) { return 2; }
SEC("xdp.frags") int p_frags(void *ctx) { return 2; }
SEC("usdt/lib:prov:name") int p_usdt(void *ctx) { return 0; }

char _license[] SEC("license") = "GPL";
