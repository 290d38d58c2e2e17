/* Tests of sandbox/seccomp-default.c and seccomp-profile.c: the shape of
 * RuntimeDefault, that libseccomp compiles every profile berth makes,
 * what the default filter really does to a process (a forked child loads
 * it), and Localhost profiles in OCI and Docker form, good and bad. */
#include "sandbox/spec/caps.h"
#include "sandbox/spec/seccomp-profile.h"
#include "util/error.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <seccomp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define BIT(n) (G_GUINT64_CONSTANT(1) << (n))

/* The bounding set of a default container (config's defaults). */
static guint64 default_caps(void)
{
	const char *names[] = {"CHOWN",	  "DAC_OVERRIDE",     "FSETID",
			       "FOWNER",  "SETGID",	      "SETUID",
			       "SETPCAP", "NET_BIND_SERVICE", "KILL"};
	guint64 m = 0;
	for (gsize i = 0; i < G_N_ELEMENTS(names); i++)
		m |= BIT(ctr_cap_from_name(names[i]));
	return m;
}

/* --- an OCI profile through libseccomp, as a runtime does it ------------- */

static guint32 action_of(json_t *rule, const char *key)
{
	const char *a = json_string_value(json_object_get(rule, key));
	json_t *ret = json_object_get(rule, strcmp(key, "defaultAction") == 0
						    ? "defaultErrnoRet"
						    : "errnoRet");
	int e = ret ? (int)json_integer_value(ret) : EPERM;
	if (strcmp(a, "SCMP_ACT_ALLOW") == 0)
		return SCMP_ACT_ALLOW;
	if (strcmp(a, "SCMP_ACT_ERRNO") == 0)
		return SCMP_ACT_ERRNO(e);
	if (strcmp(a, "SCMP_ACT_KILL") == 0)
		return SCMP_ACT_KILL;
	if (strcmp(a, "SCMP_ACT_LOG") == 0)
		return SCMP_ACT_LOG;
	fail_msg("action %s not handled by the test", a);
	return 0;
}

static enum scmp_compare op_of(const char *op)
{
	const char *ops[] = {"",
			     "SCMP_CMP_NE",
			     "SCMP_CMP_LT",
			     "SCMP_CMP_LE",
			     "SCMP_CMP_EQ",
			     "SCMP_CMP_GE",
			     "SCMP_CMP_GT",
			     "SCMP_CMP_MASKED_EQ"};
	for (gsize i = 1; i < G_N_ELEMENTS(ops); i++)
		if (strcmp(ops[i], op) == 0)
			return (enum scmp_compare)i;
	fail_msg("operator %s", op);
	return 0;
}

static void add_rule(scmp_filter_ctx ctx, json_t *rule)
{
	guint32 action = action_of(rule, "action");
	json_t *args = json_object_get(rule, "args");
	struct scmp_arg_cmp cmp[6];
	unsigned n = 0;
	size_t i;
	json_t *a;
	json_array_foreach(args, i, a)
	{
		cmp[n].arg = (unsigned)json_integer_value(
			json_object_get(a, "index"));
		cmp[n].op = op_of(json_string_value(json_object_get(a, "op")));
		cmp[n].datum_a = (scmp_datum_t)json_integer_value(
			json_object_get(a, "value"));
		cmp[n].datum_b = (scmp_datum_t)json_integer_value(
			json_object_get(a, "valueTwo"));
		n++;
	}
	json_t *name;
	json_array_foreach(json_object_get(rule, "names"), i, name)
	{
		int nr = seccomp_syscall_resolve_name(json_string_value(name));
		assert_int_not_equal(nr, __NR_SCMP_ERROR);
		int r = seccomp_rule_add_array(ctx, action, nr, n, cmp);
		if (r < 0)
			fail_msg("rule for %s: %s", json_string_value(name),
				 strerror(-r));
	}
}

static scmp_filter_ctx compile(json_t *profile)
{
	scmp_filter_ctx ctx = seccomp_init(action_of(profile, "defaultAction"));
	assert_non_null(ctx);
	size_t i;
	json_t *v;
	json_array_foreach(json_object_get(profile, "architectures"), i, v)
	{
		const char *name = json_string_value(v) + strlen("SCMP_ARCH_");
		g_autofree char *lower = g_ascii_strdown(name, -1);
		guint32 arch = seccomp_arch_resolve_name(lower);
		assert_int_not_equal(arch, 0);
		int r = seccomp_arch_add(ctx, arch);
		assert_true(r == 0 || r == -EEXIST);
	}
	json_array_foreach(json_object_get(profile, "syscalls"), i, v)
	{
		add_rule(ctx, v);
	}
	autofd fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	assert_int_equal(seccomp_export_bpf(ctx, fd), 0);
	return ctx;
}

/* --- RuntimeDefault shape ------------------------------------------------- */

static json_t *rule_with_action(json_t *profile, const char *action,
				int errno_ret)
{
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(profile, "syscalls"), i, r)
	{
		json_t *e = json_object_get(r, "errnoRet");
		if (json_object_get(r, "args") == NULL &&
		    strcmp(json_string_value(json_object_get(r, "action")),
			   action) == 0 &&
		    (errno_ret == 0 || json_integer_value(e) == errno_ret))
			return json_object_get(r, "names");
	}
	return NULL;
}

static gboolean listed(json_t *names, const char *name)
{
	size_t i;
	json_t *n;
	json_array_foreach(names, i, n)
	{
		if (strcmp(json_string_value(n), name) == 0)
			return TRUE;
	}
	return FALSE;
}

static void test_default_shape(void **state)
{
	(void)state;
	json_t *p = seccomp_default_profile(default_caps());
	assert_string_equal(
		json_string_value(json_object_get(p, "defaultAction")),
		"SCMP_ACT_ERRNO");
	assert_int_equal(
		json_integer_value(json_object_get(p, "defaultErrnoRet")),
		ENOSYS);
#if defined(__x86_64__)
	json_t *archs = json_object_get(p, "architectures");
	assert_true(listed(archs, "SCMP_ARCH_X86_64"));
	assert_true(listed(archs, "SCMP_ARCH_X86"));
#endif
	json_t *allow = rule_with_action(p, "SCMP_ACT_ALLOW", 0);
	json_t *deny = rule_with_action(p, "SCMP_ACT_ERRNO", EPERM);
	assert_non_null(allow);
	assert_non_null(deny);
	const char *must_allow[] = {"read",	 "write",  "execve",
				    "openat",	 "futex",  "exit_group",
				    "getrandom", "socket", "ptrace"};
	for (gsize i = 0; i < G_N_ELEMENTS(must_allow); i++)
		if (!listed(allow, must_allow[i]))
			fail_msg("%s is not allowed", must_allow[i]);
	const char *must_deny[] = {"mount",
				   "umount2",
				   "keyctl",
				   "add_key",
				   "request_key",
				   "reboot",
				   "kexec_load",
				   "init_module",
				   "finit_module",
				   "delete_module",
				   "swapon",
				   "swapoff",
				   "bpf",
				   "perf_event_open",
				   "setns",
				   "pivot_root",
				   "open_by_handle_at",
				   "sethostname",
				   "userfaultfd",
				   "io_uring_setup",
				   "acct",
				   "settimeofday"};
	for (gsize i = 0; i < G_N_ELEMENTS(must_deny); i++)
		if (!listed(deny, must_deny[i]))
			fail_msg("%s is not refused", must_deny[i]);
	/* clone3 is left to the ENOSYS default, so libc falls back. */
	assert_false(listed(allow, "clone3"));
	assert_false(listed(deny, "clone3"));
	/* No name in both lists; every name known here. */
	size_t i;
	json_t *n;
	json_array_foreach(allow, i, n)
	{
		assert_false(listed(deny, json_string_value(n)));
		assert_true(seccomp_syscall_known(json_string_value(n), NULL));
	}
	json_decref(p);
}

static void test_default_with_capabilities(void **state)
{
	(void)state;
	guint64 caps = default_caps() | BIT(CAP_SYS_ADMIN) | BIT(CAP_SYS_TIME) |
		       BIT(CAP_SYS_MODULE);
	json_t *p = seccomp_default_profile(caps);
	json_t *allow = rule_with_action(p, "SCMP_ACT_ALLOW", 0);
	json_t *deny = rule_with_action(p, "SCMP_ACT_ERRNO", EPERM);
	const char *granted[] = {
		"mount",	   "setns",	   "sethostname", "bpf",
		"perf_event_open", "settimeofday", "init_module", "syslog"};
	for (gsize i = 0; i < G_N_ELEMENTS(granted); i++)
		if (!listed(allow, granted[i]) || listed(deny, granted[i]))
			fail_msg("%s not granted with its capability",
				 granted[i]);
	/* Never granted by any capability. */
	assert_true(listed(deny, "keyctl"));
	assert_true(listed(deny, "kexec_load"));
	/* clone and unshare without argument filters. */
	size_t i;
	json_t *r;
	int unfiltered = 0;
	json_array_foreach(json_object_get(p, "syscalls"), i, r)
	{
		if (listed(json_object_get(r, "names"), "clone"))
			unfiltered += json_object_get(r, "args") == NULL;
	}
	assert_int_equal(unfiltered, 1);
	json_array_foreach(json_object_get(p, "syscalls"), i, r)
	{
		if (listed(json_object_get(r, "names"), "clone"))
			assert_true(
				listed(json_object_get(r, "names"), "clone3"));
	}
	json_decref(p);
}

static void test_default_compiles(void **state)
{
	(void)state;
	guint64 sets[] = {0, default_caps(), default_caps() | BIT(21),
			  G_GUINT64_CONSTANT(0x1ffffffffff)};
	for (gsize i = 0; i < G_N_ELEMENTS(sets); i++) {
		json_t *p = seccomp_default_profile(sets[i]);
		seccomp_release(compile(p));
		json_decref(p);
	}
}

/* A child process loads the filter and reports what syscalls return. */
static int child_checks(json_t *profile)
{
	scmp_filter_ctx ctx = compile(profile);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 || seccomp_load(ctx) < 0)
		return 100;
	if (getpid() <= 0)
		return 1;
	if (mount("none", "/mnt", "tmpfs", 0, NULL) == 0 || errno != EPERM)
		return 2;
	if (unshare(CLONE_NEWUSER) == 0 || errno != EPERM)
		return 3;
	if (unshare(CLONE_FILES) != 0)
		return 4;
	if (syscall(SYS_keyctl, 0, 0, 0, 0, 0) >= 0 || errno != EPERM)
		return 5;
#ifdef SYS_clone3
	if (syscall(SYS_clone3, NULL, 0) >= 0 || errno != ENOSYS)
		return 6;
#endif
	if (personality(0xffffffff) < 0)
		return 7;
	if (personality(0x0004) >= 0 || errno != ENOSYS) /* PER_SVR4-ish */
		return 8;
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	if (pid < 0 || waitpid(pid, NULL, 0) != pid)
		return 9;
	if (syscall(SYS_bpf, 0, NULL, 0) >= 0 || errno != EPERM)
		return 10;
	return 0;
}

static void test_default_behaviour(void **state)
{
	(void)state;
	json_t *p = seccomp_default_profile(default_caps());
	pid_t pid = fork();
	if (pid == 0)
		_exit(child_checks(p));
	int status = 0;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	json_decref(p);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("child check %d failed", WEXITSTATUS(status));
}

/* --- Localhost ------------------------------------------------------------ */

typedef struct {
	char *dir;
} Fx;

static int setup(void **state)
{
	Fx *f = g_new0(Fx, 1);
	f->dir = g_dir_make_tmp("berth-test-seccomp-XXXXXX", NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	Fx *f = *state;
	berth_rm_rf(f->dir, NULL);
	g_free(f->dir);
	g_free(f);
	return 0;
}

static char *profile_file(Fx *f, const char *name, const char *text)
{
	char *path = g_build_filename(f->dir, name, NULL);
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
	return path;
}

static json_t *load_ok(const char *path, guint64 caps)
{
	g_autoptr(GError) err = NULL;
	json_t *p = seccomp_profile_load(path, caps, &err);
	if (p == NULL)
		fail_msg("%s", err->message);
	seccomp_release(compile(p));
	return p;
}

static void load_fails(const char *path, int code, const char *needle)
{
	g_autoptr(GError) err = NULL;
	assert_null(seccomp_profile_load(path, 0, &err));
	if (err->code != code || (needle && !strstr(err->message, needle)))
		fail_msg("got %d \"%s\", want %d \"%s\"", err->code,
			 err->message, code, needle ? needle : "");
}

static void test_localhost_oci(void **state)
{
	Fx *f = *state;
	g_autofree char *path = profile_file(
		f, "block-chmod.json",
		"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": ["
		"{\"names\": [\"chmod\", \"fchmodat\", \"no_such_call\"],"
		" \"action\": \"SCMP_ACT_ERRNO\"},"
		"{\"names\": [\"no_such_call\"], \"action\": \"SCMP_ACT_LOG\"},"
		"{\"names\": [\"personality\"], \"action\": \"SCMP_ACT_ERRNO\","
		" \"errnoRet\": 22, \"args\": [{\"index\": 0, \"value\": 8,"
		" \"op\": \"SCMP_CMP_EQ\"}]}],"
		" \"comment\": \"extra keys are ignored\"}");
	json_t *p = load_ok(path, 0);
	json_t *rules = json_object_get(p, "syscalls");
	assert_int_equal(json_array_size(rules), 2);
	json_t *names = json_object_get(json_array_get(rules, 0), "names");
	assert_int_equal(json_array_size(names), 2);
	assert_false(listed(names, "no_such_call"));
	assert_null(json_object_get(p, "comment"));
	assert_int_equal(json_integer_value(json_object_get(
				 json_array_get(rules, 1), "errnoRet")),
			 22);
	json_decref(p);
}

static void test_localhost_docker_form(void **state)
{
	Fx *f = *state;
	g_autofree char *path = profile_file(
		f, "docker.json",
		"{\"defaultAction\": \"SCMP_ACT_ERRNO\","
		" \"archMap\": [{\"architecture\": \"SCMP_ARCH_X86_64\","
		"  \"subArchitectures\": [\"SCMP_ARCH_X86\"]},"
		" {\"architecture\": \"SCMP_ARCH_AARCH64\","
		"  \"subArchitectures\": [\"SCMP_ARCH_ARM\"]}],"
		" \"syscalls\": ["
		" {\"names\": [\"read\", \"write\"], \"action\": "
		"\"SCMP_ACT_ALLOW\"},"
		" {\"name\": \"getpid\", \"action\": \"SCMP_ACT_ALLOW\"},"
		" {\"names\": [\"mount\"], \"action\": \"SCMP_ACT_ALLOW\","
		"  \"includes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},"
		" {\"names\": [\"chroot\"], \"action\": \"SCMP_ACT_ALLOW\","
		"  \"excludes\": {\"caps\": [\"CAP_SYS_ADMIN\"]}},"
		" {\"names\": [\"ptrace\"], \"action\": \"SCMP_ACT_ALLOW\","
		"  \"includes\": {\"minKernel\": \"4.8\"}},"
		" {\"names\": [\"ioperm\"], \"action\": \"SCMP_ACT_ALLOW\","
		"  \"includes\": {\"arches\": [\"s390x\"]}}]}");
	json_t *p = load_ok(path, 0);
	json_t *rules = json_object_get(p, "syscalls");
	assert_int_equal(json_array_size(rules), 4); /* rw, getpid, chroot,
							ptrace */
	assert_true(listed(json_object_get(json_array_get(rules, 1), "names"),
			   "getpid"));
#if defined(__x86_64__)
	json_t *archs = json_object_get(p, "architectures");
	assert_int_equal(json_array_size(archs), 2);
	assert_true(listed(archs, "SCMP_ARCH_X86"));
#endif
	json_decref(p);
	p = load_ok(path, BIT(CAP_SYS_ADMIN));
	rules = json_object_get(p, "syscalls");
	assert_int_equal(json_array_size(rules), 4); /* rw, getpid, mount,
							ptrace */
	assert_true(listed(json_object_get(json_array_get(rules, 2), "names"),
			   "mount"));
	json_decref(p);
}

static void test_localhost_errors(void **state)
{
	Fx *f = *state;
	load_fails("relative/profile.json", BERTH_ERROR_INVALID_ARGUMENT,
		   "absolute");
	g_autofree char *missing = g_build_filename(f->dir, "nope.json", NULL);
	load_fails(missing, BERTH_ERROR_NOT_FOUND, "nope.json");
	load_fails(f->dir, BERTH_ERROR_INVALID_ARGUMENT, "regular file");
	const struct {
		const char *text;
		const char *needle;
	} bad[] = {
		{"{\"defaultAction\": ", "invalid JSON"},
		{"[]", "not a JSON object"},
		{"{}", "defaultAction"},
		{"{\"defaultAction\": \"SCMP_ACT_EXPLODE\"}", "defaultAction"},
		{"{\"defaultAction\": \"SCMP_ACT_ALLOW\","
		 " \"architectures\": [\"SCMP_ARCH_Z80\"]}",
		 "architecture"},
		{"{\"defaultAction\": \"SCMP_ACT_ALLOW\","
		 " \"architectures\": \"SCMP_ARCH_X86_64\"}",
		 "not an array"},
		{"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": {}}",
		 "not an array"},
		{"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": [1]}",
		 "syscalls[0]"},
		{"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": "
		 "[{\"names\": [\"read\"]}]}",
		 "action"},
		{"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": "
		 "[{\"names\": [], \"action\": \"SCMP_ACT_ERRNO\"}]}",
		 "no syscall names"},
		{"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": "
		 "[{\"names\": [7], \"action\": \"SCMP_ACT_ERRNO\"}]}",
		 "not a string"},
		{"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": "
		 "[{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\","
		 " \"args\": [{\"index\": 9, \"value\": 1, \"op\": "
		 "\"SCMP_CMP_EQ\"}]}]}",
		 "argument"},
		{"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"syscalls\": "
		 "[{\"names\": [\"read\"], \"action\": \"SCMP_ACT_ERRNO\","
		 " \"args\": [{\"index\": 0, \"value\": 1, \"op\": "
		 "\"SCMP_CMP_ABOUT\"}]}]}",
		 "argument"},
		{"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultErrnoRet\":"
		 " \"x\"}",
		 "defaultErrnoRet"},
		{"{\"defaultAction\": \"SCMP_ACT_ALLOW\", \"defaultAction\":"
		 " \"SCMP_ACT_KILL\"}",
		 "invalid JSON"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autofree char *name = g_strdup_printf("bad%zu.json", i);
		g_autofree char *path = profile_file(f, name, bad[i].text);
		load_fails(path, BERTH_ERROR_INVALID_ARGUMENT, bad[i].needle);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_shape),
		cmocka_unit_test(test_default_with_capabilities),
		cmocka_unit_test(test_default_compiles),
		cmocka_unit_test(test_default_behaviour),
		cmocka_unit_test_setup_teardown(test_localhost_oci, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_localhost_docker_form,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_localhost_errors, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
