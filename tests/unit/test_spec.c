/* Tests of sandbox/spec.c and spec-security.c: the generated config.json
 * field by field — command and args merged with the image, environment,
 * working dir, user, capabilities, masked paths, seccomp, namespaces per
 * mode, resources, oom_score_adj clamping, labels — and the errors. */
#include "sandbox/spec/spec.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>

#include <cmocka.h>

#include "spec-helpers.h"

static int setup(void **state)
{
	*state = spec_fx_new();
	return 0;
}

static int teardown(void **state)
{
	spec_fx_free(*state);
	return 0;
}

/* --- process -------------------------------------------------------------- */

typedef struct {
	const char *const *command;
	const char *const *args;
	gboolean image_has_entrypoint;
	const char *want;
} ArgsCase;

static void test_args_merge(void **state)
{
	SpecFx *f = *state;
	const char *cmd[] = {"/bin/app", "--flag", NULL};
	const char *args[] = {"one", "two", NULL};
	const char *none[] = {NULL};
	const ArgsCase cases[] = {
		{none, none, TRUE, "/entry,-x,default-arg"},
		{cmd, none, TRUE, "/bin/app,--flag"},
		{none, args, TRUE, "/entry,-x,one,two"},
		{cmd, args, TRUE, "/bin/app,--flag,one,two"},
		{none, none, FALSE, "default-arg"},
		{none, args, FALSE, "one,two"},
	};
	char **entry = f->image->entrypoint;
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(CtrConfig) c = spec_test_config();
		strv_set(&c->command, cases[i].command);
		strv_set(&c->args, cases[i].args);
		f->image->entrypoint =
			cases[i].image_has_entrypoint ? entry : (char **)none;
		json_t *spec = spec_gen(f, c);
		g_autofree char *got = jlist(spec, "process.args");
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("case %zu: got [%s], want [%s]", i, got,
				 cases[i].want);
		json_decref(spec);
	}
	/* Nothing anywhere is an error. */
	char **cmd_saved = f->image->cmd;
	f->image->entrypoint = (char **)none;
	f->image->cmd = (char **)none;
	g_autoptr(CtrConfig) c = spec_test_config();
	spec_gen_fails(f, c, BERTH_ERROR_INVALID_ARGUMENT, "no command");
	f->ctx.image = NULL;
	spec_gen_fails(f, c, BERTH_ERROR_INVALID_ARGUMENT, "no command");
	f->image->entrypoint = entry;
	f->image->cmd = cmd_saved;
}

static void test_env(void **state)
{
	SpecFx *f = *state;
	g_autoptr(CtrConfig) c = spec_test_config();
	kv_set(c->envs, "B", "3");
	kv_set(c->envs, "C", "x=y");
	kv_set(c->envs, "B", "4");
	json_t *spec = spec_gen(f, c);
	assert_jlist(
		spec, "process.env",
		"PATH=/img/bin,A=1,B=4,C=x=y,HOSTNAME=pod-host,HOME=/root");
	json_decref(spec);
	/* No PATH anywhere: the usual one. A tty gets TERM. The request's
	 * HOME wins over passwd. */
	f->ctx.image = NULL;
	c->tty = TRUE;
	kv_set(c->envs, "HOME", "/h");
	strv_set(&c->command, (const char *const[]){"/bin/sh", NULL});
	spec = spec_gen(f, c);
	g_autofree char *env = jlist(spec, "process.env");
	assert_non_null(strstr(env, "PATH=/usr/local/sbin:"));
	assert_non_null(strstr(env, "TERM=xterm"));
	assert_non_null(strstr(env, "HOME=/h"));
	assert_null(strstr(env, "HOME=/root"));
	json_decref(spec);
	kv_set(c->envs, "BAD=NAME", "1");
	spec_gen_fails(f, c, BERTH_ERROR_INVALID_ARGUMENT, "BAD=NAME");
}

static void test_working_dir(void **state)
{
	SpecFx *f = *state;
	g_autoptr(CtrConfig) c = spec_test_config();
	json_t *spec = spec_gen(f, c);
	assert_string_equal(jstr(spec, "process.cwd"), "/work");
	json_decref(spec);
	g_free(c->working_dir);
	c->working_dir = g_strdup("/srv");
	spec = spec_gen(f, c);
	assert_string_equal(jstr(spec, "process.cwd"), "/srv");
	json_decref(spec);
	g_free(c->working_dir);
	c->working_dir = g_strdup("");
	g_free(f->image->working_dir);
	f->image->working_dir = NULL;
	spec = spec_gen(f, c);
	assert_string_equal(jstr(spec, "process.cwd"), "/");
	json_decref(spec);
	g_free(c->working_dir);
	c->working_dir = g_strdup("relative/dir");
	spec_gen_fails(f, c, BERTH_ERROR_INVALID_ARGUMENT, "relative/dir");
}

static void test_user(void **state)
{
	SpecFx *f = *state;
	g_autoptr(CtrConfig) c = spec_test_config();
	json_t *spec = spec_gen(f, c);
	assert_int_equal(jint(spec, "process.user.uid"), 0);
	assert_int_equal(jint(spec, "process.user.gid"), 0);
	assert_jlist(spec, "process.user.additionalGids", "0");
	json_decref(spec);
	c->security.run_as_user = (CtrOptInt){TRUE, 1000};
	g_array_append_val(c->security.supplemental_groups, (gint64){1234});
	spec = spec_gen(f, c);
	assert_int_equal(jint(spec, "process.user.uid"), 1000);
	assert_int_equal(jint(spec, "process.user.gid"), 1000);
	assert_jlist(spec, "process.user.additionalGids", "1000,10,50000,1234");
	g_autofree char *env = jlist(spec, "process.env");
	assert_non_null(strstr(env, "HOME=/home/app"));
	json_decref(spec);
	c->security.supplemental_groups_policy = CTR_GROUPS_STRICT;
	OciSpecResult r;
	assert_true(oci_spec_build(c, &f->ctx, &r, NULL));
	assert_int_equal(r.user.uid, 1000);
	assert_int_equal(r.user.additional_gids->len, 2);
	assert_jlist(r.spec, "process.user.additionalGids", "1000,1234");
	oci_spec_result_clear(&r);
	c->security.run_as_user.set = FALSE;
	c->security.run_as_group = (CtrOptInt){TRUE, 5};
	spec_gen_fails(f, c, BERTH_ERROR_INVALID_ARGUMENT, "run_as_group");
	g_free(c->security.run_as_username);
	c->security.run_as_username = g_strdup("nobody");
	spec = spec_gen(f, c);
	assert_int_equal(jint(spec, "process.user.uid"), 65534);
	assert_int_equal(jint(spec, "process.user.gid"), 5);
	json_decref(spec);
	g_free(c->security.run_as_username);
	c->security.run_as_username = g_strdup("ghost");
	spec_gen_fails(f, c, BERTH_ERROR_INVALID_ARGUMENT, "ghost");
}

/* --- capabilities --------------------------------------------------------- */

#define DEFAULT_CAPS                                                           \
	"CAP_CHOWN,CAP_DAC_OVERRIDE,CAP_FOWNER,CAP_FSETID,CAP_KILL,"           \
	"CAP_SETGID,CAP_SETUID,CAP_SETPCAP,CAP_NET_BIND_SERVICE"

static void expect_caps(SpecFx *f, const CtrConfig *c, const char *want,
			const char *ambient)
{
	json_t *spec = spec_gen(f, c);
	const char *sets[] = {"bounding", "effective", "permitted"};
	for (gsize i = 0; i < G_N_ELEMENTS(sets); i++) {
		g_autofree char *path =
			g_strdup_printf("process.capabilities.%s", sets[i]);
		assert_jlist(spec, path, want);
	}
	assert_jlist(spec, "process.capabilities.inheritable", ambient);
	assert_jlist(spec, "process.capabilities.ambient", ambient);
	json_decref(spec);
}

static void test_capabilities(void **state)
{
	SpecFx *f = *state;
	g_autoptr(CtrConfig) c = spec_test_config();
	expect_caps(f, c, DEFAULT_CAPS, "");
	strv_set(&c->security.cap_add,
		 (const char *const[]){"NET_ADMIN", "cap_sys_time", NULL});
	strv_set(&c->security.cap_drop,
		 (const char *const[]){"CAP_CHOWN", "SETPCAP", NULL});
	expect_caps(f, c,
		    "CAP_DAC_OVERRIDE,CAP_FOWNER,CAP_FSETID,CAP_KILL,"
		    "CAP_SETGID,CAP_SETUID,CAP_NET_BIND_SERVICE,CAP_NET_ADMIN,"
		    "CAP_SYS_TIME",
		    "");
	/* drop ALL, then single adds. */
	strv_set(&c->security.cap_drop, (const char *const[]){"ALL", NULL});
	strv_set(&c->security.cap_add, (const char *const[]){"NET_RAW", NULL});
	expect_caps(f, c, "CAP_NET_RAW", "");
	strv_set(&c->security.cap_add, (const char *const[]){NULL});
	expect_caps(f, c, "", "");
	/* add ALL: the host's set (no CAP_SYS_RESOURCE here), less drops. */
	strv_set(&c->security.cap_add, (const char *const[]){"ALL", NULL});
	strv_set(&c->security.cap_drop, (const char *const[]){"KILL", NULL});
	json_t *spec = spec_gen(f, c);
	json_t *bnd = jget(spec, "process.capabilities.bounding");
	assert_int_equal(json_array_size(bnd), 39);
	assert_false(jhas(bnd, "CAP_SYS_RESOURCE"));
	assert_false(jhas(bnd, "CAP_KILL"));
	assert_true(jhas(bnd, "CAP_SYS_ADMIN"));
	json_decref(spec);
	/* What the host lacks is left out, not failed on. */
	strv_set(&c->security.cap_add,
		 (const char *const[]){"SYS_RESOURCE", NULL});
	strv_set(&c->security.cap_drop, (const char *const[]){NULL});
	expect_caps(f, c, DEFAULT_CAPS, "");
	/* Ambient: in every set. */
	strv_set(&c->security.cap_add, (const char *const[]){NULL});
	strv_set(&c->security.cap_add_ambient,
		 (const char *const[]){"NET_RAW", NULL});
	expect_caps(f, c, DEFAULT_CAPS ",CAP_NET_RAW", "CAP_NET_RAW");
	strv_set(&c->security.cap_add_ambient, (const char *const[]){NULL});
	strv_set(&c->security.cap_add,
		 (const char *const[]){"CAP_TELEPATHY", NULL});
	spec_gen_fails(f, c, BERTH_ERROR_INVALID_ARGUMENT, "CAP_TELEPATHY");
	/* Privileged: the whole host set, whatever the lists say. */
	strv_set(&c->security.cap_add, (const char *const[]){NULL});
	strv_set(&c->security.cap_drop, (const char *const[]){"ALL", NULL});
	c->security.privileged = TRUE;
	spec = spec_gen(f, c);
	assert_int_equal(
		json_array_size(jget(spec, "process.capabilities.effective")),
		40);
	json_decref(spec);
}

/* --- masked and read-only paths ------------------------------------------- */

static void test_masked_paths(void **state)
{
	SpecFx *f = *state;
	g_autoptr(CtrConfig) c = spec_test_config();
	json_t *spec = spec_gen(f, c);
	json_t *masked = jget(spec, "linux.maskedPaths");
	assert_int_equal(json_array_size(masked), 11);
	const char *must[] = {"/proc/kcore",
			      "/proc/keys",
			      "/proc/acpi",
			      "/proc/timer_list",
			      "/proc/sched_debug",
			      "/sys/firmware",
			      "/sys/devices/virtual/powercap"};
	for (gsize i = 0; i < G_N_ELEMENTS(must); i++)
		assert_true(jhas(masked, must[i]));
	assert_jlist(spec, "linux.readonlyPaths",
		     "/proc/bus,/proc/fs,/proc/irq,/proc/sys,"
		     "/proc/sysrq-trigger");
	json_decref(spec);
	/* A given list replaces the defaults. */
	c->security.masked_paths = g_strdupv((char *[]){"/bin/ls", NULL});
	c->security.readonly_paths = g_strdupv((char *[]){"/tmp", NULL});
	spec = spec_gen(f, c);
	assert_jlist(spec, "linux.maskedPaths", "/bin/ls");
	assert_jlist(spec, "linux.readonlyPaths", "/tmp");
	json_decref(spec);
	/* An explicitly empty list masks nothing. */
	strv_set(&c->security.masked_paths, (const char *const[]){NULL});
	spec = spec_gen(f, c);
	assert_int_equal(json_array_size(jget(spec, "linux.maskedPaths")), 0);
	json_decref(spec);
	strv_set(&c->security.readonly_paths,
		 (const char *const[]){"proc/sys", NULL});
	spec_gen_fails(f, c, BERTH_ERROR_INVALID_ARGUMENT, "proc/sys");
	/* Privileged: none at all, whatever was asked. */
	g_clear_pointer(&c->security.masked_paths, g_strfreev);
	c->security.privileged = TRUE;
	spec = spec_gen(f, c);
	assert_int_equal(json_array_size(jget(spec, "linux.maskedPaths")), 0);
	assert_int_equal(json_array_size(jget(spec, "linux.readonlyPaths")), 0);
	json_decref(spec);
}

/* --- seccomp -------------------------------------------------------------- */

static void set_seccomp(CtrConfig *c, CtrProfileKind kind, const char *ref)
{
	c->security.seccomp.kind = kind;
	g_free(c->security.seccomp.localhost_ref);
	c->security.seccomp.localhost_ref = g_strdup(ref);
}

static void test_seccomp(void **state)
{
	SpecFx *f = *state;
	g_autoptr(CtrConfig) c = spec_test_config();
	json_t *spec = spec_gen(f, c);
	assert_null(jget(spec, "linux.seccomp"));
	json_decref(spec);
	set_seccomp(c, CTR_PROFILE_RUNTIME_DEFAULT, "");
	spec = spec_gen(f, c);
	assert_string_equal(jstr(spec, "linux.seccomp.defaultAction"),
			    "SCMP_ACT_ERRNO");
	assert_true(json_array_size(jget(spec, "linux.seccomp.syscalls")) > 2);
	json_decref(spec);
	g_autofree char *good = spec_fx_path(f, "profiles/good.json");
	spec_fx_write(good, "{\"defaultAction\": \"SCMP_ACT_ALLOW\","
			    " \"syscalls\": [{\"names\": [\"sethostname\"],"
			    " \"action\": \"SCMP_ACT_ERRNO\"}]}");
	set_seccomp(c, CTR_PROFILE_LOCALHOST, good);
	spec = spec_gen(f, c);
	assert_string_equal(jstr(spec, "linux.seccomp.defaultAction"),
			    "SCMP_ACT_ALLOW");
	assert_jlist(spec, "linux.seccomp.syscalls[0].names", "sethostname");
	json_decref(spec);
	g_autofree char *bad = spec_fx_path(f, "profiles/bad.json");
	spec_fx_write(bad, "{\"defaultAction\": \"SCMP_ACT_ALLOW\",");
	set_seccomp(c, CTR_PROFILE_LOCALHOST, bad);
	spec_gen_fails(f, c, BERTH_ERROR_INVALID_ARGUMENT, "invalid JSON");
	g_autofree char *missing = spec_fx_path(f, "profiles/missing.json");
	set_seccomp(c, CTR_PROFILE_LOCALHOST, missing);
	spec_gen_fails(f, c, BERTH_ERROR_NOT_FOUND, "missing.json");
	set_seccomp(c, CTR_PROFILE_LOCALHOST, "profiles/good.json");
	spec_gen_fails(f, c, BERTH_ERROR_INVALID_ARGUMENT, "absolute");
	set_seccomp(c, CTR_PROFILE_LOCALHOST, "");
	spec_gen_fails(f, c, BERTH_ERROR_INVALID_ARGUMENT, "without a path");
	/* Privileged: no filter, even a Localhost one (critest expects it). */
	set_seccomp(c, CTR_PROFILE_LOCALHOST, bad);
	c->security.privileged = TRUE;
	spec = spec_gen(f, c);
	assert_null(jget(spec, "linux.seccomp"));
	json_decref(spec);
}

/* --- namespaces and hostname ---------------------------------------------- */

static void test_namespaces(void **state)
{
	SpecFx *f = *state;
	g_autoptr(CtrConfig) c = spec_test_config();
	json_t *spec = spec_gen(f, c);
	assert_null(jget(spec_ns(spec, "pid"), "path"));
	assert_string_equal(jstr(spec_ns(spec, "network"), "path"),
			    "/run/berth/ns/p1/net");
	assert_string_equal(jstr(spec_ns(spec, "ipc"), "path"),
			    "/run/berth/ns/p1/ipc");
	assert_string_equal(jstr(spec_ns(spec, "uts"), "path"),
			    "/run/berth/ns/p1/uts");
	assert_non_null(spec_ns(spec, "mount"));
	assert_null(jget(spec_ns(spec, "mount"), "path"));
	assert_null(spec_ns(spec, "cgroup"));
	assert_null(spec_ns(spec, "user"));
	assert_string_equal(jstr(spec, "hostname"), "pod-host");
	json_decref(spec);
	c->security.ns_pid = POD_NS_POD;
	spec = spec_gen(f, c);
	assert_string_equal(jstr(spec_ns(spec, "pid"), "path"),
			    "/proc/4242/ns/pid");
	json_decref(spec);
	c->security.ns_pid = POD_NS_NODE;
	spec = spec_gen(f, c);
	assert_null(spec_ns(spec, "pid"));
	json_decref(spec);
	c->security.ns_pid = POD_NS_TARGET;
	f->ctx.target_pid = 777;
	spec = spec_gen(f, c);
	assert_string_equal(jstr(spec_ns(spec, "pid"), "path"),
			    "/proc/777/ns/pid");
	json_decref(spec);
	f->ctx.target_pid = 0;
	spec_gen_fails(f, c, BERTH_ERROR_FAILED_PRECONDITION, "TARGET");
	c->security.ns_pid = POD_NS_POD;
	f->ctx.infra_pid = 0;
	spec_gen_fails(f, c, BERTH_ERROR_FAILED_PRECONDITION,
		       "no shared PID namespace");
	/* Host network, IPC and UTS: no entries, no hostname. v2: cgroup. */
	c->security.ns_pid = POD_NS_CONTAINER;
	f->ctx.netns = f->ctx.ipcns = f->ctx.utsns = NULL;
	f->host.cgroup_v2 = TRUE;
	spec = spec_gen(f, c);
	assert_null(spec_ns(spec, "network"));
	assert_null(spec_ns(spec, "ipc"));
	assert_null(spec_ns(spec, "uts"));
	assert_non_null(spec_ns(spec, "cgroup"));
	assert_null(jget(spec, "hostname"));
	json_decref(spec);
}

/* --- resources and oom ---------------------------------------------------- */

static void test_resources(void **state)
{
	SpecFx *f = *state;
	g_autoptr(CtrConfig) c = spec_test_config();
	json_t *spec = spec_gen(f, c);
	json_t *res = jget(spec, "linux.resources");
	assert_null(json_object_get(res, "memory"));
	assert_null(json_object_get(res, "cpu"));
	assert_null(json_object_get(res, "pids"));
	assert_null(json_object_get(res, "unified"));
	json_decref(spec);
	CtrResources *r = &c->resources;
	r->cpu_period = 100000;
	r->cpu_quota = 50000;
	r->cpu_shares = 512;
	r->memory_limit = 64 << 20;
	r->memory_swap_limit = 128 << 20;
	g_free(r->cpuset_cpus);
	r->cpuset_cpus = g_strdup("0-1");
	g_free(r->cpuset_mems);
	r->cpuset_mems = g_strdup("0");
	ctr_config_add_hugepage_limit(c, "2MB", 4 << 20);
	kv_set(r->unified, "memory.high", "50000000");
	f->ctx.pids_limit = 1024;
	spec = spec_gen(f, c);
	assert_int_equal(jint(spec, "linux.resources.cpu.period"), 100000);
	assert_int_equal(jint(spec, "linux.resources.cpu.quota"), 50000);
	assert_int_equal(jint(spec, "linux.resources.cpu.shares"), 512);
	assert_string_equal(jstr(spec, "linux.resources.cpu.cpus"), "0-1");
	assert_string_equal(jstr(spec, "linux.resources.cpu.mems"), "0");
	assert_int_equal(jint(spec, "linux.resources.memory.limit"), 64 << 20);
	assert_int_equal(jint(spec, "linux.resources.memory.swap"), 128 << 20);
	assert_int_equal(jint(spec, "linux.resources.pids.limit"), 1024);
	assert_string_equal(
		jstr(spec, "linux.resources.hugepageLimits[0].pageSize"),
		"2MB");
	assert_int_equal(jint(spec, "linux.resources.hugepageLimits[0].limit"),
			 4 << 20);
	/* cgroup v1 host: unified cannot apply. */
	assert_null(jget(spec, "linux.resources.unified"));
	json_decref(spec);
	f->host.cgroup_v2 = TRUE;
	f->host.swap_accounting = FALSE;
	spec = spec_gen(f, c);
	assert_string_equal(
		json_string_value(json_object_get(
			jget(spec, "linux.resources.unified"), "memory.high")),
		"50000000");
	assert_null(jget(spec, "linux.resources.memory.swap"));
	assert_string_equal(jstr(spec, "linux.cgroupsPath"),
			    "/berth/berth-pod-p1/berth-c0ffee");
	json_decref(spec);
	f->ctx.pod_cgroup = NULL;
	spec = spec_gen(f, c);
	assert_null(jget(spec, "linux.cgroupsPath"));
	json_decref(spec);
}

static void test_oom_clamp(void **state)
{
	SpecFx *f = *state;
	const struct {
		int floor;
		gint64 asked;
		int want;
	} cases[] = {
		{0, -997, 0},	   {0, 0, 0},		{0, 1000, 1000},
		{0, 5000, 1000},   {-1000, -997, -997}, {-1000, -5000, -1000},
		{-1000, 500, 500}, {200, 100, 200},	{200, 300, 300},
	};
	g_autoptr(CtrConfig) c = spec_test_config();
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		f->host.oom_score_adj_min = cases[i].floor;
		c->resources.oom_score_adj = cases[i].asked;
		json_t *spec = spec_gen(f, c);
		if (jint(spec, "process.oomScoreAdj") != cases[i].want)
			fail_msg("floor %d asked %" G_GINT64_FORMAT
				 ": got %" JSON_INTEGER_FORMAT ", want %d",
				 cases[i].floor, cases[i].asked,
				 jint(spec, "process.oomScoreAdj"),
				 cases[i].want);
		json_decref(spec);
	}
}

/* --- everything else ------------------------------------------------------ */

static void test_misc_fields(void **state)
{
	SpecFx *f = *state;
	g_autoptr(CtrConfig) c = spec_test_config();
	kv_set(c->annotations, "io.kubernetes.test", "yes");
	kv_set(c->labels, "not-in-spec", "1");
	c->tty = TRUE;
	c->security.no_new_privs = TRUE;
	c->security.readonly_rootfs = TRUE;
	json_t *spec = spec_gen(f, c);
	assert_string_equal(jstr(spec, "ociVersion"), "1.0.2");
	assert_string_equal(
		json_string_value(json_object_get(jget(spec, "annotations"),
						  "io.kubernetes.test")),
		"yes");
	assert_int_equal(json_object_size(jget(spec, "annotations")), 1);
	assert_true(json_is_true(jget(spec, "process.terminal")));
	assert_true(json_is_true(jget(spec, "process.noNewPrivileges")));
	assert_true(json_is_true(jget(spec, "root.readonly")));
	assert_string_equal(jstr(spec, "root.path"), f->rootfs);
	assert_null(jget(spec, "process.rlimits"));
	assert_null(jget(spec, "process.apparmorProfile"));
	assert_null(jget(spec, "process.selinuxLabel"));
	json_decref(spec);
	/* The text form parses back to the same document. */
	g_autofree char *text = oci_spec_generate(c, &f->ctx, NULL);
	json_t *back = json_loads(text, 0, NULL);
	assert_non_null(back);
	assert_string_equal(jstr(back, "hostname"), "pod-host");
	json_decref(back);
	f->ctx.rootfs = "relative";
	spec_gen_fails(f, c, BERTH_ERROR_INTERNAL, "rootfs");
}

static void test_stop_signal(void **state)
{
	SpecFx *f = *state;
	g_autoptr(CtrConfig) c = spec_test_config();
	OciSpecResult r;
	assert_true(oci_spec_build(c, &f->ctx, &r, NULL));
	assert_int_equal(r.stop_signal, SIGQUIT);
	oci_spec_result_clear(&r);
	c->stop_signal = SIGINT;
	assert_true(oci_spec_build(c, &f->ctx, &r, NULL));
	assert_int_equal(r.stop_signal, SIGINT);
	oci_spec_result_clear(&r);
	c->stop_signal = 0;
	f->ctx.image = NULL;
	strv_set(&c->command, (const char *const[]){"/bin/sh", NULL});
	assert_true(oci_spec_build(c, &f->ctx, &r, NULL));
	assert_int_equal(r.stop_signal, SIGTERM);
	oci_spec_result_clear(&r);
	assert_int_equal(ctr_config_stop_signal(c, "NOTASIGNAL"), SIGTERM);
}

static gboolean only_my_profile(const char *name)
{
	return strcmp(name, "my-profile") == 0;
}

static void test_apparmor_selinux(void **state)
{
	SpecFx *f = *state;
	g_autoptr(CtrConfig) c = spec_test_config();
	CtrSecurity *s = &c->security;
	g_free(s->selinux_user);
	s->selinux_user = g_strdup("system_u");
	g_free(s->selinux_role);
	s->selinux_role = g_strdup("system_r");
	g_free(s->selinux_type);
	s->selinux_type = g_strdup("container_t");
	g_free(s->selinux_level);
	s->selinux_level = g_strdup("s0:c1,c2");
	s->apparmor.kind = CTR_PROFILE_LOCALHOST;
	g_free(s->apparmor.localhost_ref);
	s->apparmor.localhost_ref = g_strdup("my-profile");
	/* Neither LSM on this host: both ignored. */
	json_t *spec = spec_gen(f, c);
	assert_null(jget(spec, "process.apparmorProfile"));
	assert_null(jget(spec, "process.selinuxLabel"));
	json_decref(spec);
	f->host.apparmor = f->host.selinux = TRUE;
	f->host.apparmor_loaded = only_my_profile;
	spec = spec_gen(f, c);
	assert_string_equal(jstr(spec, "process.apparmorProfile"),
			    "my-profile");
	json_decref(spec);
	/* kubelet's "localhost/" prefix is not part of the name. */
	g_free(s->apparmor.localhost_ref);
	s->apparmor.localhost_ref = g_strdup("localhost/my-profile");
	spec = spec_gen(f, c);
	assert_string_equal(jstr(spec, "process.apparmorProfile"),
			    "my-profile");
	/* A profile the kernel does not have: refused, not run unconfined. */
	g_free(s->apparmor.localhost_ref);
	s->apparmor.localhost_ref = g_strdup("other-profile");
	spec_gen_fails(f, c, BERTH_ERROR_FAILED_PRECONDITION,
		       "\"other-profile\" is not loaded");
	assert_string_equal(jstr(spec, "process.selinuxLabel"),
			    "system_u:system_r:container_t:s0:c1,c2");
	json_decref(spec);
	s->apparmor.kind = CTR_PROFILE_RUNTIME_DEFAULT;
	spec = spec_gen(f, c);
	assert_null(jget(spec, "process.apparmorProfile"));
	json_decref(spec);
	f->ctx.apparmor_default = "berth-default";
	spec = spec_gen(f, c);
	assert_string_equal(jstr(spec, "process.apparmorProfile"),
			    "berth-default");
	json_decref(spec);
	s->apparmor.kind = CTR_PROFILE_UNCONFINED;
	spec = spec_gen(f, c);
	assert_string_equal(jstr(spec, "process.apparmorProfile"),
			    "unconfined");
	json_decref(spec);
	/* An incomplete label is not guessed at. */
	g_free(s->selinux_level);
	s->selinux_level = g_strdup("");
	spec = spec_gen(f, c);
	assert_null(jget(spec, "process.selinuxLabel"));
	json_decref(spec);
	s->apparmor.kind = CTR_PROFILE_LOCALHOST;
	g_free(s->apparmor.localhost_ref);
	s->apparmor.localhost_ref = g_strdup("");
	spec_gen_fails(f, c, BERTH_ERROR_INVALID_ARGUMENT, "AppArmor");
}

static void test_config_helpers(void **state)
{
	(void)state;
	const struct {
		const char *text;
		int want;
	} sigs[] = {
		{"SIGTERM", SIGTERM},
		{"TERM", SIGTERM},
		{"sigkill", SIGKILL},
		{"9", SIGKILL},
		{"SIGRTMIN", SIGRTMIN},
		{"SIGRTMIN+3", SIGRTMIN + 3},
		{"RTMAX-1", SIGRTMAX - 1},
		{"SIGRTMAX", SIGRTMAX},
		{"SIGRTMIN-1", 0},
		{"0", 0},
		{"65", 0},
		{"SIGFOO", 0},
		{"", 0},
		{"15x", 0},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(sigs); i++)
		if (ctr_signal_parse(sigs[i].text) != sigs[i].want)
			fail_msg("%s: got %d, want %d", sigs[i].text,
				 ctr_signal_parse(sigs[i].text), sigs[i].want);
	CtrProfile p = {0};
	assert_true(ctr_profile_parse_legacy("", &p, NULL));
	assert_int_equal(p.kind, CTR_PROFILE_UNCONFINED);
	assert_true(ctr_profile_parse_legacy("runtime/default", &p, NULL));
	assert_int_equal(p.kind, CTR_PROFILE_RUNTIME_DEFAULT);
	assert_true(ctr_profile_parse_legacy("docker/default", &p, NULL));
	assert_int_equal(p.kind, CTR_PROFILE_RUNTIME_DEFAULT);
	assert_true(
		ctr_profile_parse_legacy("localhost//etc/p.json", &p, NULL));
	assert_int_equal(p.kind, CTR_PROFILE_LOCALHOST);
	assert_string_equal(p.localhost_ref, "/etc/p.json");
	g_autoptr(GError) err = NULL;
	assert_false(ctr_profile_parse_legacy("localhost/", &p, &err));
	assert_int_equal(err->code, BERTH_ERROR_INVALID_ARGUMENT);
	ctr_profile_clear(&p);
	g_autoptr(CtrConfig) c = ctr_config_new();
	assert_int_equal(c->security.seccomp.kind, CTR_PROFILE_UNCONFINED);
	assert_int_equal(c->security.apparmor.kind,
			 CTR_PROFILE_RUNTIME_DEFAULT);
	assert_null(c->security.masked_paths);
}

static void test_host_probe(void **state)
{
	(void)state;
	OciHostInfo h;
	g_autoptr(GError) err = NULL;
	assert_true(oci_spec_host_probe(&h, &err));
	assert_true(h.cap_bounding != 0);
	assert_true(h.oom_score_adj_min >= -1000 &&
		    h.oom_score_adj_min <= 1000);
	assert_string_equal(h.dev_dir, "/dev");
	g_autofree char *adj = NULL;
	assert_true(g_file_get_contents("/proc/self/oom_score_adj", &adj, NULL,
					NULL));
	/* Never above what this process has now. */
	assert_true(h.oom_score_adj_min <= atoi(adj));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_args_merge),
		T(test_env),
		T(test_working_dir),
		T(test_user),
		T(test_capabilities),
		T(test_masked_paths),
		T(test_seccomp),
		T(test_namespaces),
		T(test_resources),
		T(test_oom_clamp),
		T(test_misc_fields),
		T(test_stop_signal),
		T(test_apparmor_selinux),
		cmocka_unit_test(test_config_helpers),
		cmocka_unit_test(test_host_probe),
	};
#undef T
	return cmocka_run_group_tests(tests, NULL, NULL);
}
