/* berth's RuntimeDefault seccomp profile, written for berth.
 *
 * Shape: deny by default, allow a list of syscalls that ordinary programs
 * use, and refuse a list of dangerous ones explicitly.
 *
 * - The default action returns ENOSYS, not EPERM. A syscall this list does
 *   not know (typically one newer than the list, such as clone3 was) then
 *   looks absent, and libc and language runtimes fall back to an older
 *   call, as they do on old kernels. An EPERM there breaks them (glibc
 *   creates threads with clone3 and only falls back on ENOSYS).
 * - The dangerous syscalls fail with EPERM, the answer a program expects
 *   when it is not allowed to do something. They are those that act on
 *   state the kernel does not namespace (the host's kernel, modules,
 *   keyrings, swap, clock, accounting), that build new namespaces or
 *   mounts (the basis of most container escapes), or that expose a large
 *   kernel attack surface to unprivileged code (bpf, perf_event_open,
 *   userfaultfd, io_uring, open_by_handle_at).
 * - Where a capability already lets a process do the thing (CAP_SYS_ADMIN
 *   for mount and namespaces, CAP_SYS_MODULE for modules, CAP_SYS_TIME for
 *   the clock, ...), a container given that capability is also given the
 *   syscalls: the filter does not second-guess an explicit grant.
 *   keyctl/add_key/request_key and kexec stay refused even then: keyrings
 *   are not namespaced and kexec replaces the host's kernel. A privileged
 *   container gets no filter at all.
 * - clone and unshare are allowed without namespace flags (fork, threads,
 *   unshare(CLONE_FILES)); any CLONE_NEW* flag is EPERM. clone3 passes its
 *   flags in memory that seccomp cannot read, so it is left to the ENOSYS
 *   default and libc uses clone.
 * - personality is allowed only for the harmless personas (Linux, 26-bit
 *   uname, no address randomisation) and the query.
 * - ptrace, process_vm_readv/writev and kcmp are allowed: since Linux 4.8 a
 *   traced process cannot escape its filter, and the kernel's own ptrace
 *   access checks (same uid, no dumpable games, Yama) still apply;
 *   debuggers and profilers in containers need them.
 * - adjtimex/clock_adjtime are allowed because reading the clock state
 *   uses them; changing it needs CAP_SYS_TIME, which the kernel checks. */
#include "sandbox/spec/caps.h"
#include "sandbox/spec/seccomp-profile.h"

#include <errno.h>
#include <linux/capability.h>
#include <sched.h>

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

static const char *const allowed[] = {
	/* files: open, read, write, seek, sync */
	"open", "openat", "openat2", "creat", "close", "close_range", "read",
	"readv", "pread64", "preadv", "preadv2", "write", "writev", "pwrite64",
	"pwritev", "pwritev2", "lseek", "_llseek", "dup", "dup2", "dup3",
	"pipe", "pipe2", "fcntl", "fcntl64", "ioctl", "flock", "fsync",
	"fdatasync", "sync", "syncfs", "sync_file_range", "sync_file_range2",
	"arm_sync_file_range", "truncate", "truncate64", "ftruncate",
	"ftruncate64", "fallocate", "fadvise64", "fadvise64_64",
	"arm_fadvise64_64", "readahead", "sendfile", "sendfile64", "splice",
	"tee", "vmsplice", "copy_file_range", "cachestat",
	/* file metadata and directories */
	"stat", "stat64", "fstat", "fstat64", "lstat", "lstat64", "newfstatat",
	"fstatat64", "statx", "statfs", "statfs64", "fstatfs", "fstatfs64",
	"access", "faccessat", "faccessat2", "chmod", "fchmod", "fchmodat",
	"fchmodat2", "chown", "chown32", "fchown", "fchown32", "lchown",
	"lchown32", "fchownat", "utime", "utimes", "futimesat", "utimensat",
	"utimensat_time64", "link", "linkat", "unlink", "unlinkat", "rename",
	"renameat", "renameat2", "symlink", "symlinkat", "readlink",
	"readlinkat", "mkdir", "mkdirat", "rmdir", "mknod", "mknodat",
	"getdents", "getdents64", "readdir", "getcwd", "chdir", "fchdir",
	"chroot", "umask", "name_to_handle_at", "file_getattr", "file_setattr",
	/* extended attributes */
	"getxattr", "lgetxattr", "fgetxattr", "getxattrat", "setxattr",
	"lsetxattr", "fsetxattr", "setxattrat", "listxattr", "llistxattr",
	"flistxattr", "listxattrat", "removexattr", "lremovexattr",
	"fremovexattr", "removexattrat",
	/* waiting on descriptors, notifications, async I/O */
	"select", "_newselect", "pselect6", "pselect6_time64", "poll", "ppoll",
	"ppoll_time64", "epoll_create", "epoll_create1", "epoll_ctl",
	"epoll_wait", "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2",
	"signalfd", "signalfd4", "timerfd_create", "timerfd_settime",
	"timerfd_settime64", "timerfd_gettime", "timerfd_gettime64",
	"inotify_init", "inotify_init1", "inotify_add_watch",
	"inotify_rm_watch", "io_setup", "io_destroy", "io_submit", "io_cancel",
	"io_getevents", "io_pgetevents", "io_pgetevents_time64",
	/* memory */
	"brk", "mmap", "mmap2", "munmap", "mremap", "mprotect", "madvise",
	"mlock", "mlock2", "munlock", "mlockall", "munlockall", "mincore",
	"msync", "remap_file_pages", "membarrier", "memfd_create",
	"memfd_secret", "get_mempolicy", "set_mempolicy",
	"set_mempolicy_home_node", "mbind", "pkey_alloc", "pkey_free",
	"pkey_mprotect", "map_shadow_stack", "mseal", "process_madvise",
	"process_mrelease",
	/* processes and threads (clone and personality are filtered below) */
	"fork", "vfork", "execve", "execveat", "exit", "exit_group", "wait4",
	"waitid", "waitpid", "kill", "tkill", "tgkill", "rt_sigqueueinfo",
	"rt_tgsigqueueinfo", "pidfd_open", "pidfd_send_signal", "pidfd_getfd",
	"getpid", "getppid", "gettid", "getpgid", "setpgid", "getpgrp",
	"getsid", "setsid", "getpriority", "setpriority", "nice", "sched_yield",
	"sched_getaffinity", "sched_setaffinity", "sched_getparam",
	"sched_setparam", "sched_getscheduler", "sched_setscheduler",
	"sched_get_priority_max", "sched_get_priority_min",
	"sched_rr_get_interval", "sched_rr_get_interval_time64",
	"sched_getattr", "sched_setattr", "prctl", "arch_prctl",
	"set_tid_address", "set_robust_list", "get_robust_list", "rseq",
	"futex", "futex_time64", "futex_waitv", "futex_wake", "futex_wait",
	"futex_requeue", "set_thread_area", "get_thread_area", "set_tls",
	"cacheflush", "breakpoint", "riscv_flush_icache", "riscv_hwprobe",
	"uretprobe", "ioprio_get", "ioprio_set", "getcpu", "ptrace",
	"process_vm_readv", "process_vm_writev", "kcmp", "seccomp",
	"landlock_create_ruleset", "landlock_add_rule",
	"landlock_restrict_self", "restart_syscall",
	/* signals */
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigreturn",
	"rt_sigpending", "rt_sigsuspend", "rt_sigtimedwait",
	"rt_sigtimedwait_time64", "sigaltstack", "sigaction", "sigprocmask",
	"sigpending", "sigsuspend", "signal", "alarm", "pause",
	/* time */
	"nanosleep", "clock_nanosleep", "clock_nanosleep_time64",
	"clock_gettime", "clock_gettime64", "clock_getres",
	"clock_getres_time64", "gettimeofday", "time", "times", "getitimer",
	"setitimer", "timer_create", "timer_settime", "timer_settime64",
	"timer_gettime", "timer_gettime64", "timer_getoverrun", "timer_delete",
	"adjtimex", "clock_adjtime", "clock_adjtime64",
	/* identity */
	"getuid", "getuid32", "geteuid", "geteuid32", "getgid", "getgid32",
	"getegid", "getegid32", "getresuid", "getresuid32", "getresgid",
	"getresgid32", "getgroups", "getgroups32", "setuid", "setuid32",
	"setgid", "setgid32", "setreuid", "setreuid32", "setregid",
	"setregid32", "setresuid", "setresuid32", "setresgid", "setresgid32",
	"setgroups", "setgroups32", "setfsuid", "setfsuid32", "setfsgid",
	"setfsgid32", "capget", "capset",
	/* limits and system information */
	"getrlimit", "setrlimit", "ugetrlimit", "prlimit64", "getrusage",
	"sysinfo", "uname",
	/* sockets */
	"socket", "socketpair", "bind", "connect", "listen", "accept",
	"accept4", "getsockname", "getpeername", "sendto", "recvfrom",
	"sendmsg", "recvmsg", "sendmmsg", "recvmmsg", "recvmmsg_time64", "send",
	"recv", "shutdown", "setsockopt", "getsockopt", "socketcall",
	/* System V and POSIX IPC (namespaced by the pod's IPC namespace) */
	"ipc", "shmget", "shmat", "shmdt", "shmctl", "semget", "semop",
	"semtimedop", "semtimedop_time64", "semctl", "msgget", "msgsnd",
	"msgrcv", "msgctl", "mq_open", "mq_unlink", "mq_timedsend",
	"mq_timedsend_time64", "mq_timedreceive", "mq_timedreceive_time64",
	"mq_notify", "mq_getsetattr",
	/* random numbers */
	"getrandom", NULL};

/* Refused with EPERM whatever the capabilities. */
static const char *const refused[] = {"add_key",
				      "request_key",
				      "keyctl",
				      "kexec_load",
				      "kexec_file_load",
				      "swapon",
				      "swapoff",
				      "create_module",
				      "get_kernel_syms",
				      "query_module",
				      "nfsservctl",
				      "uselib",
				      "_sysctl",
				      "sysfs",
				      "ustat",
				      "vm86",
				      "vm86old",
				      "io_uring_setup",
				      "io_uring_enter",
				      "io_uring_register",
				      NULL};

static const char *const for_sys_admin[] = {
	"mount",       "umount",	"umount2",	  "mount_setattr",
	"move_mount",  "open_tree",	"open_tree_attr", "fsopen",
	"fsconfig",    "fsmount",	"fspick",	  "pivot_root",
	"setns",       "sethostname",	"setdomainname",  "quotactl",
	"quotactl_fd", "fanotify_init", "fanotify_mark",  "lookup_dcookie",
	NULL};
static const char *const for_sys_module[] = {"init_module", "finit_module",
					     "delete_module", NULL};
static const char *const for_sys_boot[] = {"reboot", NULL};
static const char *const for_sys_pacct[] = {"acct", NULL};
static const char *const for_sys_rawio[] = {"iopl", "ioperm", NULL};
static const char *const for_sys_time[] = {
	"settimeofday", "stime", "clock_settime", "clock_settime64", NULL};
static const char *const for_sys_tty_config[] = {"vhangup", NULL};
static const char *const for_syslog[] = {"syslog", NULL};
static const char *const for_sys_nice[] = {"move_pages", "migrate_pages", NULL};
static const char *const for_dac_read_search[] = {"open_by_handle_at", NULL};
static const char *const for_sys_ptrace[] = {"userfaultfd", NULL};
static const char *const for_bpf[] = {"bpf", NULL};
static const char *const for_perfmon[] = {"perf_event_open", NULL};

typedef struct {
	int cap;
	int alt_cap; /* -1, or a second capability that also grants them */
	const char *const *names;
} CapGroup;

static const CapGroup cap_groups[] = {
	{CAP_SYS_ADMIN, -1, for_sys_admin},
	{CAP_SYS_MODULE, -1, for_sys_module},
	{CAP_SYS_BOOT, -1, for_sys_boot},
	{CAP_SYS_PACCT, -1, for_sys_pacct},
	{CAP_SYS_RAWIO, -1, for_sys_rawio},
	{CAP_SYS_TIME, -1, for_sys_time},
	{CAP_SYS_TTY_CONFIG, -1, for_sys_tty_config},
	{CAP_SYSLOG, CAP_SYS_ADMIN, for_syslog},
	{CAP_SYS_NICE, -1, for_sys_nice},
	{CAP_DAC_READ_SEARCH, -1, for_dac_read_search},
	{CAP_SYS_PTRACE, -1, for_sys_ptrace},
	{CAP_BPF, CAP_SYS_ADMIN, for_bpf},
	{CAP_PERFMON, CAP_SYS_ADMIN, for_perfmon},
};

/* The CLONE_NEW* flags; unshare also takes CLONE_NEWTIME, a bit that is
 * the exit signal's for clone. */
#define NS_FLAGS                                                               \
	(CLONE_NEWNS | CLONE_NEWCGROUP | CLONE_NEWUTS | CLONE_NEWIPC |         \
	 CLONE_NEWUSER | CLONE_NEWPID | CLONE_NEWNET)
#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x00000080
#endif

/* personality(2) values a container may set: PER_LINUX, UNAME26,
 * ADDR_NO_RANDOMIZE, both, and 0xffffffff (query only). */
static const json_int_t personas[] = {0x0, 0x0008, 0x20000, 0x20008,
				      0xffffffff};

#define HAS(caps, n) ((n) >= 0 && ((caps) >> (n)) & 1)

static void add_names(json_t *arr, const char *const *names,
		      const char *const *archs)
{
	for (; *names; names++)
		if (seccomp_syscall_known(*names, archs))
			json_array_append_new(arr, json_string(*names));
}

static json_t *rule(const char *name, const char *action, int errno_ret)
{
	json_t *r = json_pack("{s:[s], s:s}", "names", name, "action", action);
	if (errno_ret > 0)
		json_object_set_new(r, "errnoRet", json_integer(errno_ret));
	return r;
}

static json_t *arg(int index, json_int_t value, json_int_t value2,
		   const char *op)
{
	return json_pack("{s:i, s:I, s:I, s:s}", "index", index, "value", value,
			 "valueTwo", value2, "op", op);
}

/* name allowed when (flags & mask) == 0, EPERM for each flag of mask. */
static void add_flag_rules(json_t *syscalls, const char *name, int index,
			   json_int_t mask)
{
	json_t *ok = rule(name, "SCMP_ACT_ALLOW", 0);
	json_object_set_new(
		ok, "args",
		json_pack("[o]", arg(index, mask, 0, "SCMP_CMP_MASKED_EQ")));
	json_array_append_new(syscalls, ok);
	for (int bit = 0; bit < 32; bit++) {
		json_int_t flag = (json_int_t)1 << bit;
		if (!(mask & flag))
			continue;
		json_t *no = rule(name, "SCMP_ACT_ERRNO", EPERM);
		json_object_set_new(
			no, "args",
			json_pack("[o]", arg(index, flag, flag,
					     "SCMP_CMP_MASKED_EQ")));
		json_array_append_new(syscalls, no);
	}
}

static void add_personality_rules(json_t *syscalls)
{
	for (gsize i = 0; i < G_N_ELEMENTS(personas); i++) {
		json_t *r = rule("personality", "SCMP_ACT_ALLOW", 0);
		json_object_set_new(r, "args",
				    json_pack("[o]", arg(0, personas[i], 0,
							 "SCMP_CMP_EQ")));
		json_array_append_new(syscalls, r);
	}
}

/* A rule for names (taken), unless the list came out empty: the OCI spec
 * wants at least one name per rule. */
static void add_rule_if_any(json_t *syscalls, json_t *names, const char *action,
			    int errno_ret)
{
	if (json_array_size(names) == 0) {
		json_decref(names);
		return;
	}
	json_t *r = json_pack("{s:o, s:s}", "names", names, "action", action);
	if (errno_ret > 0)
		json_object_set_new(r, "errnoRet", json_integer(errno_ret));
	json_array_append_new(syscalls, r);
}

static gboolean group_granted(const CapGroup *g, guint64 caps)
{
	return HAS(caps, g->cap) || HAS(caps, g->alt_cap);
}

json_t *seccomp_default_profile(guint64 caps)
{
	const char *const *archs = seccomp_host_architectures();
	json_t *allow = json_array();
	json_t *deny = json_array();
	add_names(allow, allowed, archs);
	add_names(deny, refused, archs);
	for (gsize i = 0; i < G_N_ELEMENTS(cap_groups); i++)
		add_names(group_granted(&cap_groups[i], caps) ? allow : deny,
			  cap_groups[i].names, archs);
	json_t *syscalls = json_array();
	add_rule_if_any(syscalls, allow, "SCMP_ACT_ALLOW", 0);
	add_rule_if_any(syscalls, deny, "SCMP_ACT_ERRNO", EPERM);
#if defined(__s390__) || defined(__s390x__)
	int clone_flags_arg = 1; /* s390 swaps clone's first two arguments */
#else
	int clone_flags_arg = 0;
#endif
	if (HAS(caps, CAP_SYS_ADMIN)) {
		json_array_append_new(syscalls,
				      json_pack("{s:[s, s, s], s:s}", "names",
						"clone", "clone3", "unshare",
						"action", "SCMP_ACT_ALLOW"));
	} else {
		add_flag_rules(syscalls, "clone", clone_flags_arg, NS_FLAGS);
		add_flag_rules(syscalls, "unshare", 0,
			       NS_FLAGS | CLONE_NEWTIME);
	}
	add_personality_rules(syscalls);
	json_t *arch_list = json_array();
	for (const char *const *a = archs; *a; a++)
		json_array_append_new(arch_list, json_string(*a));
	return json_pack("{s:s, s:i, s:o, s:o}", "defaultAction",
			 "SCMP_ACT_ERRNO", "defaultErrnoRet", ENOSYS,
			 "architectures", arch_list, "syscalls", syscalls);
}
