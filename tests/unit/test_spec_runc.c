/* Smoke test of a generated spec under a real OCI runtime (root only):
 * runc runs a busybox rootfs with RuntimeDefault seccomp, no_new_privs,
 * the default capabilities, a new PID namespace and the pod shm, and the
 * container reports what it got from /proc/self/status. Skipped when
 * not root or when runc or a static busybox is missing. Everything it
 * creates (bundle, runc state, shm mount, cgroup) is removed. */
#include "sandbox/pod/shm.h"
#include "sandbox/spec/spec.h"
#include "util/spawn.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "spec-helpers.h"

#define BUSYBOX "/bin/busybox"

typedef struct {
	SpecFx *fx;
	char *runc;
	char *runc_root;
	char *bundle;
	char *id;
} RuncFx;

static gboolean have_static_busybox(void)
{
	g_autofree char *out = NULL;
	const char *argv[] = {"/usr/bin/file", "-L", BUSYBOX, NULL};
	if (!g_file_test(BUSYBOX, G_FILE_TEST_IS_EXECUTABLE) ||
	    !g_spawn_sync(NULL, (char **)argv, NULL, G_SPAWN_STDERR_TO_DEV_NULL,
			  NULL, NULL, &out, NULL, NULL, NULL))
		return g_file_test(BUSYBOX, G_FILE_TEST_IS_EXECUTABLE);
	return strstr(out, "statically linked") != NULL;
}

static void make_rootfs(const char *rootfs)
{
	const char *dirs[] = {"bin", "proc", "dev", "sys", "tmp", "etc"};
	for (gsize i = 0; i < G_N_ELEMENTS(dirs); i++) {
		g_autofree char *d = g_build_filename(rootfs, dirs[i], NULL);
		g_assert_true(berth_mkdir_p(d, 0755, NULL));
	}
	g_autofree char *data = NULL;
	gsize len = 0;
	g_assert_true(g_file_get_contents(BUSYBOX, &data, &len, NULL));
	g_autofree char *bb = g_build_filename(rootfs, "bin/busybox", NULL);
	g_assert_true(berth_write_file_atomic(bb, data, len, 0755, NULL));
	const char *applets[] = {"sh",	    "cat", "grep",
				 "unshare", "id",  "hostname"};
	for (gsize i = 0; i < G_N_ELEMENTS(applets); i++) {
		g_autofree char *l =
			g_build_filename(rootfs, "bin", applets[i], NULL);
		assert_int_equal(symlink("busybox", l), 0);
	}
}

static int setup(void **state)
{
	g_autofree char *runc = g_find_program_in_path("runc");
	if (geteuid() != 0 || runc == NULL || !have_static_busybox()) {
		*state = NULL;
		return 0;
	}
	RuncFx *r = g_new0(RuncFx, 1);
	r->fx = spec_fx_new();
	r->runc = g_steal_pointer(&runc);
	r->runc_root = spec_fx_path(r->fx, "runc-root");
	r->bundle = spec_fx_path(r->fx, "bundle");
	r->id = g_strdup_printf("berth-spec-test-%d", (int)getpid());
	make_rootfs(r->fx->rootfs);
	g_assert_true(berth_mkdir_p(r->bundle, 0700, NULL));
	/* The host's namespaces for net, IPC and UTS; the pod's shm. */
	SpecFx *f = r->fx;
	f->ctx.id = r->id;
	f->ctx.netns = f->ctx.ipcns = f->ctx.utsns = NULL;
	f->ctx.pod_cgroup = NULL;
	f->ctx.image = NULL;
	f->ctx.termination_log = NULL;
	g_assert_true(pod_shm_mount(f->shm, -1, -1, NULL));
	g_assert_true(oci_spec_host_probe(&f->host, NULL));
	*state = r;
	return 0;
}

static int teardown(void **state)
{
	RuncFx *r = *state;
	if (r == NULL)
		return 0;
	const char *argv[] = {r->runc,	 "--root", r->runc_root, "delete",
			      "--force", r->id,	   NULL};
	SpawnOptions o = {.argv = argv, .timeout_ms = 30000};
	SpawnResult res;
	if (spawn_sync(&o, &res, NULL))
		spawn_result_clear(&res);
	pod_shm_unmount(r->fx->shm, NULL);
	spec_fx_free(r->fx);
	g_free(r->runc);
	g_free(r->runc_root);
	g_free(r->bundle);
	g_free(r->id);
	g_free(r);
	return 0;
}

/* "Field:\tvalue" of /proc/<pid>/status text. */
static char *status_field(const char *text, const char *field)
{
	g_autofree char *key = g_strdup_printf("%s:\t", field);
	const char *p = strstr(text, key);
	if (p == NULL)
		return NULL;
	p += strlen(key);
	return g_strndup(p, strcspn(p, "\n"));
}

/* Write the spec for c into the bundle and `runc run` it. */
static void run_spec(RuncFx *r, const CtrConfig *c, SpawnResult *res)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *text = oci_spec_generate(c, &r->fx->ctx, &err);
	if (text == NULL)
		fail_msg("%s", err->message);
	g_autofree char *config =
		g_build_filename(r->bundle, "config.json", NULL);
	g_assert_true(g_file_set_contents(config, text, -1, NULL));
	const char *argv[] = {r->runc,	  "--root",  r->runc_root, "run",
			      "--bundle", r->bundle, r->id,	   NULL};
	SpawnOptions o = {.argv = argv, .timeout_ms = 60000};
	g_assert_true(spawn_sync(&o, res, NULL));
	if (!WIFEXITED(res->status) || WEXITSTATUS(res->status) != 0)
		fail_msg("runc run: status %d: %s%s", res->status,
			 res->out->str, res->err->str);
}

static void test_runc_runs_spec(void **state)
{
	RuncFx *r = *state;
	if (r == NULL)
		skip();
	g_autoptr(CtrConfig) c = spec_test_config();
	const char *cmd[] = {
		"/bin/sh", "-c",
		"cat /proc/self/status; unshare -U true; echo unshare=$?;"
		" echo groups=$(id -G); echo pid=$$;"
		" grep -c ' /dev/shm ' /proc/self/mounts",
		NULL};
	strv_set(&c->command, cmd);
	c->security.seccomp.kind = CTR_PROFILE_RUNTIME_DEFAULT;
	c->security.no_new_privs = TRUE;
	c->resources.oom_score_adj = -999; /* raised to what the host allows */
	SpawnResult res;
	run_spec(r, c, &res);
	const char *out = res.out->str;
	/* CHOWN DAC_OVERRIDE FOWNER FSETID KILL SETGID SETUID SETPCAP
	 * NET_BIND_SERVICE: bits 0,1,3,4,5,6,7,8,10. */
	g_autofree char *eff = status_field(out, "CapEff");
	g_autofree char *bnd = status_field(out, "CapBnd");
	g_autofree char *inh = status_field(out, "CapInh");
	g_autofree char *nnp = status_field(out, "NoNewPrivs");
	g_autofree char *sec = status_field(out, "Seccomp");
	assert_non_null(eff);
	assert_string_equal(eff, "00000000000005fb");
	assert_string_equal(bnd, "00000000000005fb");
	assert_string_equal(inh, "0000000000000000");
	assert_string_equal(nnp, "1");
	assert_string_equal(sec, "2");
	/* The filter refuses a new user namespace (the kernel would allow
	 * it), and the container has its own PID namespace. */
	assert_non_null(strstr(out, "unshare=1"));
	assert_non_null(strstr(out, "groups=0"));
	assert_non_null(strstr(out, "pid=1\n"));
	assert_non_null(strstr(out, "\n1\n")); /* one /dev/shm mount */
	spawn_result_clear(&res);
}

/* Privileged: every capability of the host, no filter, host devices. */
static void test_runc_privileged(void **state)
{
	RuncFx *r = *state;
	if (r == NULL)
		skip();
	g_autoptr(CtrConfig) c = spec_test_config();
	const char *cmd[] = {"/bin/sh", "-c",
			     "cat /proc/self/status; test -c /dev/null &&"
			     " echo null=ok; cat /proc/kcore >/dev/null 2>&1;"
			     " echo kcore=$?",
			     NULL};
	strv_set(&c->command, cmd);
	c->security.privileged = TRUE;
	c->security.seccomp.kind = CTR_PROFILE_RUNTIME_DEFAULT;
	SpawnResult res;
	run_spec(r, c, &res);
	const char *out = res.out->str;
	g_autofree char *want = g_strdup_printf("%016" G_GINT64_MODIFIER "x",
						r->fx->host.cap_bounding);
	g_autofree char *eff = status_field(out, "CapEff");
	g_autofree char *sec = status_field(out, "Seccomp");
	g_autofree char *nnp = status_field(out, "NoNewPrivs");
	assert_non_null(eff);
	assert_string_equal(eff, want);
	assert_string_equal(sec, "0");
	assert_string_equal(nnp, "0");
	assert_non_null(strstr(out, "null=ok"));
	spawn_result_clear(&res);
}

/* A glibc program under RuntimeDefault: threads (glibc tries clone3,
 * gets ENOSYS and falls back to clone), sockets, random numbers. The
 * host's /usr and /lib are bind-mounted read-only for it. */
static void test_runc_glibc_program(void **state)
{
	RuncFx *r = *state;
	if (r == NULL || !g_file_test("/usr/bin/python3", G_FILE_TEST_EXISTS))
		skip();
	g_autoptr(CtrConfig) c = spec_test_config();
	const char *dirs[] = {"/usr", "/lib", "/lib64"};
	for (gsize i = 0; i < G_N_ELEMENTS(dirs); i++)
		if (g_file_test(dirs[i], G_FILE_TEST_IS_DIR))
			ctr_config_add_mount(c, dirs[i], dirs[i], TRUE,
					     CTR_PROPAGATION_PRIVATE);
	const char *cmd[] = {
		"/usr/bin/python3", "-c",
		"import ctypes, os, socket, threading\n"
		"out = []\n"
		"t = threading.Thread(target=lambda: out.append(os.getpid()))\n"
		"t.start(); t.join()\n"
		"s = socket.socket(); s.bind(('127.0.0.1', 0)); s.close()\n"
		"os.urandom(8)\n"
		"libc = ctypes.CDLL(None, use_errno=True)\n"
		"r = libc.unshare(0x40000000)\n"
		"print('unshare', r, ctypes.get_errno())\n"
		"print('threads', len(out))\n",
		NULL};
	strv_set(&c->command, cmd);
	c->security.seccomp.kind = CTR_PROFILE_RUNTIME_DEFAULT;
	SpawnResult res;
	run_spec(r, c, &res);
	assert_non_null(strstr(res.out->str, "threads 1"));
	/* CLONE_NEWNET: EPERM from the filter. */
	assert_non_null(strstr(res.out->str, "unshare -1 1\n"));
	spawn_result_clear(&res);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_runc_runs_spec, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_runc_privileged, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_runc_glibc_program, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
