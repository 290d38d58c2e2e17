/* Tests of sandbox/netns.c (root): namespaces are created and pinned, what
 * was set inside them is read back through the pins from a helper thread,
 * release is idempotent, and failures half-way leave no pin or mount. */
#include "sandbox/mountinfo.h"
#include "sandbox/pod/netns.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

typedef struct {
	char *dir;     /* the test's tmp dir */
	char *root;    /* <dir>/ns: the private pin root */
	char *pin_dir; /* <root>/pod1 */
} Fx;

static int setup(void **state)
{
	char *dir = g_dir_make_tmp("berth-test-netns-XXXXXX", NULL);
	if (dir == NULL)
		return -1;
	Fx *f = g_new0(Fx, 1);
	f->dir = dir;
	f->root = g_build_filename(f->dir, "ns", NULL);
	f->pin_dir = g_build_filename(f->root, "pod1", NULL);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	Fx *f = *state;
	pod_ns_release(f->pin_dir, NULL);
	umount2(f->root, MNT_DETACH);
	berth_rm_rf(f->dir, NULL);
	g_free(f->pin_dir);
	g_free(f->root);
	g_free(f->dir);
	g_free(f);
	return 0;
}

/* --- probes run in a helper thread that joins a pinned namespace ------- */

typedef struct {
	const char *pin;
	int nstype;
	char *(*fn)(const char *arg);
	const char *arg;
	char *result;
} Probe;

static gpointer probe_thread(gpointer data)
{
	Probe *p = data;
	autofd fd = open(p->pin, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || setns(fd, p->nstype) < 0)
		return NULL;
	p->result = p->fn(p->arg);
	return NULL;
}

static char *probe(const char *pin, int nstype, char *(*fn)(const char *),
		   const char *arg)
{
	Probe p = {.pin = pin, .nstype = nstype, .fn = fn, .arg = arg};
	g_thread_join(g_thread_new("probe", probe_thread, &p));
	return p.result;
}

static char *read_hostname(const char *arg)
{
	(void)arg;
	char buf[128] = "";
	gethostname(buf, sizeof buf - 1);
	return g_strdup(buf);
}

static char *read_text(const char *path)
{
	char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return NULL;
	return g_strchomp(text);
}

static char *read_lo(const char *arg)
{
	(void)arg;
	autofd fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	strcpy(ifr.ifr_name, "lo");
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return NULL;
	return g_strdup((ifr.ifr_flags & IFF_UP) ? "up" : "down");
}

static char *own_ns(const char *kind)
{
	g_autofree char *link =
		g_strdup_printf("/proc/thread-self/ns/%s", kind);
	return g_file_read_link(link, NULL);
}

static gboolean mountinfo_mentions(const char *path)
{
	g_autofree char *text = NULL;
	assert_true(
		g_file_get_contents("/proc/self/mountinfo", &text, NULL, NULL));
	return strstr(text, path) != NULL;
}

static void assert_nothing_left(Fx *f)
{
	assert_false(mountinfo_mentions(f->pin_dir));
	assert_int_equal(access(f->pin_dir, F_OK), -1);
}

/* --- tests ---------------------------------------------------------------- */

static void test_create_all(void **state)
{
	Fx *f = *state;
	g_autofree char *host_fwd = read_text("/proc/sys/net/ipv4/ip_forward");
	g_autofree char *host_name = read_hostname(NULL);
	g_autofree char *host_shm = read_text("/proc/sys/kernel/shmmni");
	g_autofree char *my_net = own_ns("net");
	const char *sysctls[] = {"net.ipv4.ip_forward=1", "kernel.shmmni=1234",
				 "kernel/domainname=berth.test",
				 "net/ipv4/conf/lo/forwarding=1", NULL};
	PodNsSpec spec = {.new_net = TRUE,
			  .new_ipc = TRUE,
			  .new_uts = TRUE,
			  .hostname = "pod-one",
			  .sysctls = sysctls,
			  .pin_dir = f->pin_dir};
	g_auto(PodNs) ns = {0};
	g_autoptr(GError) err = NULL;
	if (!pod_ns_create(&spec, &ns, &err))
		fail_msg("%s", err->message);

	g_autofree char *want_net = g_build_filename(f->pin_dir, "net", NULL);
	assert_string_equal(ns.net, want_net);
	assert_non_null(ns.ipc);
	assert_non_null(ns.uts);
	assert_true(pod_ns_exists(ns.net));
	assert_true(pod_ns_exists(ns.ipc));
	assert_true(pod_ns_exists(ns.uts));

	g_autofree char *name = probe(ns.uts, CLONE_NEWUTS, read_hostname, 0);
	assert_string_equal(name, "pod-one");
	g_autofree char *dom = probe(ns.uts, CLONE_NEWUTS, read_text,
				     "/proc/sys/kernel/domainname");
	assert_string_equal(dom, "berth.test");
	g_autofree char *fwd = probe(ns.net, CLONE_NEWNET, read_text,
				     "/proc/sys/net/ipv4/ip_forward");
	assert_string_equal(fwd, "1");
	g_autofree char *lofwd = probe(ns.net, CLONE_NEWNET, read_text,
				       "/proc/sys/net/ipv4/conf/lo/forwarding");
	assert_string_equal(lofwd, "1");
	g_autofree char *lo = probe(ns.net, CLONE_NEWNET, read_lo, NULL);
	assert_string_equal(lo, "up");
	g_autofree char *shm = probe(ns.ipc, CLONE_NEWIPC, read_text,
				     "/proc/sys/kernel/shmmni");
	assert_string_equal(shm, "1234");

	/* The host and the calling thread are untouched. */
	g_autofree char *fwd2 = read_text("/proc/sys/net/ipv4/ip_forward");
	g_autofree char *name2 = read_hostname(NULL);
	g_autofree char *shm2 = read_text("/proc/sys/kernel/shmmni");
	g_autofree char *my_net2 = own_ns("net");
	assert_string_equal(fwd2, host_fwd);
	assert_string_equal(name2, host_name);
	assert_string_equal(shm2, host_shm);
	assert_string_equal(my_net2, my_net);
	struct stat a, b;
	assert_int_equal(stat(ns.net, &a), 0);
	assert_int_equal(stat("/proc/self/ns/net", &b), 0);
	assert_true(a.st_ino != b.st_ino);

	assert_true(pod_ns_release(f->pin_dir, &err));
	assert_nothing_left(f);
	assert_false(pod_ns_exists(ns.net));
	assert_true(pod_ns_release(f->pin_dir, &err));
}

static void test_propagation(void **state)
{
	Fx *f = *state;
	PodNsSpec spec = {.new_net = TRUE, .pin_dir = f->pin_dir};
	g_auto(PodNs) ns = {0};
	g_autoptr(GError) err = NULL;
	assert_true(pod_ns_create(&spec, &ns, &err));
	assert_null(ns.ipc);
	assert_null(ns.uts);
	assert_int_equal(access(f->pin_dir, F_OK), 0);
	g_autofree char *ipc = g_build_filename(f->pin_dir, "ipc", NULL);
	assert_int_equal(access(ipc, F_OK), -1);

	g_autoptr(GPtrArray) mi = mountinfo_read(&err);
	assert_non_null(mi);
	g_autofree char *real_root = realpath(f->root, NULL);
	const MountEntry *root = mountinfo_find(mi, real_root);
	assert_non_null(root);
	assert_true(mountinfo_is_private(root));
	g_autofree char *real_pin = realpath(ns.net, NULL);
	const MountEntry *pin = mountinfo_find(mi, real_pin);
	assert_non_null(pin);
	assert_string_equal(pin->fstype, "nsfs");
	assert_true(mountinfo_is_private(pin));
	assert_int_equal(pin->parent_id, root->id);

	/* A second pod under the same root reuses it. */
	g_autofree char *pin2 = g_build_filename(f->root, "pod2", NULL);
	PodNsSpec spec2 = {.new_ipc = TRUE, .pin_dir = pin2};
	g_auto(PodNs) ns2 = {0};
	assert_true(pod_ns_create(&spec2, &ns2, &err));
	assert_true(pod_ns_exists(ns2.ipc));
	assert_true(pod_ns_release(pin2, &err));
	assert_true(pod_ns_release(f->pin_dir, &err));
	assert_nothing_left(f);
}

static void expect_create_fails(Fx *f, const PodNsSpec *spec, int code)
{
	g_auto(PodNs) ns = {0};
	g_autoptr(GError) err = NULL;
	assert_false(pod_ns_create(spec, &ns, &err));
	if (!g_error_matches(err, BERTH_ERROR, code))
		fail_msg("want code %d, got: %s", code, err->message);
	assert_null(ns.net);
	assert_null(ns.ipc);
	assert_null(ns.uts);
	(void)f;
}

static void test_failing_sysctl_undoes(void **state)
{
	Fx *f = *state;
	const char *missing[] = {"net.ipv4.ip_forward=1", "kernel.shmmni=99",
				 "net.ipv4.no_such_sysctl=1", NULL};
	PodNsSpec spec = {.new_net = TRUE,
			  .new_ipc = TRUE,
			  .new_uts = TRUE,
			  .hostname = "h",
			  .sysctls = missing,
			  .pin_dir = f->pin_dir};
	expect_create_fails(f, &spec, BERTH_ERROR_INVALID_ARGUMENT);
	assert_nothing_left(f);

	const char *bad_value[] = {"net.ipv4.ip_forward=1",
				   "net.ipv4.ip_forward=not-a-number", NULL};
	spec.sysctls = bad_value;
	expect_create_fails(f, &spec, BERTH_ERROR_INVALID_ARGUMENT);
	assert_nothing_left(f);

	/* Any sysctl after the first failure is never applied: the host's
	 * value stays, and a retry with good values works. */
	const char *good[] = {"net.ipv4.ip_forward=1", NULL};
	spec.sysctls = good;
	g_auto(PodNs) ns = {0};
	g_autoptr(GError) err = NULL;
	assert_true(pod_ns_create(&spec, &ns, &err));
	assert_true(pod_ns_release(f->pin_dir, &err));
	assert_nothing_left(f);
}

static void test_failing_pin_undoes(void **state)
{
	Fx *f = *state;
	/* A directory where the uts pin goes: net and ipc are pinned first,
	 * then the third pin fails and the first two must go. */
	g_autofree char *uts = g_build_filename(f->pin_dir, "uts", NULL);
	assert_true(berth_mkdir_p(uts, 0755, NULL));
	PodNsSpec spec = {.new_net = TRUE,
			  .new_ipc = TRUE,
			  .new_uts = TRUE,
			  .hostname = "h",
			  .pin_dir = f->pin_dir};
	expect_create_fails(f, &spec, BERTH_ERROR_ALREADY_EXISTS);
	assert_false(mountinfo_mentions(f->pin_dir));
	g_autofree char *net = g_build_filename(f->pin_dir, "net", NULL);
	g_autofree char *ipc = g_build_filename(f->pin_dir, "ipc", NULL);
	assert_int_equal(access(net, F_OK), -1);
	assert_int_equal(access(ipc, F_OK), -1);
	/* What was there before is not ours to remove. */
	assert_int_equal(access(uts, F_OK), 0);
	assert_int_equal(rmdir(uts), 0);
	assert_int_equal(rmdir(f->pin_dir), 0);
}

static void test_refused_specs(void **state)
{
	Fx *f = *state;
	const char *net_sysctl[] = {"net.ipv4.ip_forward=1", NULL};
	PodNsSpec host_net = {
		.new_ipc = TRUE, .sysctls = net_sysctl, .pin_dir = f->pin_dir};
	expect_create_fails(f, &host_net, BERTH_ERROR_INVALID_ARGUMENT);
	const char *host_wide[] = {"vm.swappiness=10", NULL};
	PodNsSpec vm = {.new_net = TRUE,
			.new_ipc = TRUE,
			.sysctls = host_wide,
			.pin_dir = f->pin_dir};
	expect_create_fails(f, &vm, BERTH_ERROR_INVALID_ARGUMENT);
	const char *no_eq[] = {"net.ipv4.ip_forward", NULL};
	vm.sysctls = no_eq;
	expect_create_fails(f, &vm, BERTH_ERROR_INVALID_ARGUMENT);
	PodNsSpec no_host = {.new_uts = TRUE, .pin_dir = f->pin_dir};
	expect_create_fails(f, &no_host, BERTH_ERROR_INVALID_ARGUMENT);
	PodNsSpec rel = {.new_net = TRUE, .pin_dir = "run/x"};
	expect_create_fails(f, &rel, BERTH_ERROR_INVALID_ARGUMENT);
	g_autofree char *dotdot = g_build_filename(f->root, "..", "x", NULL);
	PodNsSpec dd = {.new_net = TRUE, .pin_dir = dotdot};
	expect_create_fails(f, &dd, BERTH_ERROR_INVALID_ARGUMENT);
	assert_nothing_left(f);

	/* Nothing asked: nothing made. */
	PodNsSpec none = {.pin_dir = f->pin_dir};
	g_auto(PodNs) ns = {0};
	assert_true(pod_ns_create(&none, &ns, NULL));
	assert_null(ns.net);
	assert_nothing_left(f);
}

/* A crash between creating pin files and mounting them, or between
 * unmounting and unlinking, leaves a mix that release must clean. */
static void test_release_after_crash(void **state)
{
	Fx *f = *state;
	assert_true(pod_ns_prepare_root(f->root, NULL));
	assert_true(berth_mkdir_p(f->pin_dir, 0711, NULL));
	g_autofree char *net = g_build_filename(f->pin_dir, "net", NULL);
	g_autofree char *ipc = g_build_filename(f->pin_dir, "ipc", NULL);
	assert_true(g_file_set_contents(net, "", 0, NULL));
	assert_true(g_file_set_contents(ipc, "", 0, NULL));
	/* Stacked twice on net; ipc stays a plain file; no uts. */
	assert_int_equal(mount("/proc/self/ns/net", net, NULL, MS_BIND, NULL),
			 0);
	assert_int_equal(mount("/proc/self/ns/net", net, NULL, MS_BIND, NULL),
			 0);
	assert_true(pod_ns_exists(net));
	assert_false(pod_ns_exists(ipc));
	g_autoptr(GError) err = NULL;
	if (!pod_ns_release(f->pin_dir, &err))
		fail_msg("%s", err->message);
	assert_nothing_left(f);
	assert_true(pod_ns_release(f->pin_dir, &err));
	g_autofree char *never = g_build_filename(f->root, "never", NULL);
	assert_true(pod_ns_release(never, &err));
	assert_false(pod_ns_release("relative", NULL));

	/* Unknown files are not removed behind anyone's back. */
	assert_true(berth_mkdir_p(f->pin_dir, 0711, NULL));
	g_autofree char *other = g_build_filename(f->pin_dir, "other", NULL);
	assert_true(g_file_set_contents(other, "", 0, NULL));
	assert_false(pod_ns_release(f->pin_dir, &err));
	assert_true(g_error_matches(err, BERTH_ERROR,
				    BERTH_ERROR_FAILED_PRECONDITION));
	unlink(other);
	assert_false(pod_ns_exists(NULL));
	assert_false(pod_ns_exists(other));
}

typedef struct {
	char *pin_dir;
	gboolean ok;
} Worker;

static gpointer worker(gpointer data)
{
	Worker *w = data;
	PodNsSpec spec = {.new_net = TRUE,
			  .new_ipc = TRUE,
			  .new_uts = TRUE,
			  .hostname = "w",
			  .pin_dir = w->pin_dir};
	g_auto(PodNs) ns = {0};
	w->ok = pod_ns_create(&spec, &ns, NULL) && pod_ns_exists(ns.uts) &&
		pod_ns_release(w->pin_dir, NULL);
	return NULL;
}

static void test_concurrent(void **state)
{
	Fx *f = *state;
	Worker w[8];
	GThread *t[8];
	for (int i = 0; i < 8; i++) {
		w[i].pin_dir = g_strdup_printf("%s/pod-%d", f->root, i);
		t[i] = g_thread_new("w", worker, &w[i]);
	}
	for (int i = 0; i < 8; i++) {
		g_thread_join(t[i]);
		assert_true(w[i].ok);
		assert_int_equal(access(w[i].pin_dir, F_OK), -1);
		g_free(w[i].pin_dir);
	}
	assert_false(mountinfo_mentions("/pod-"));
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_pod_netns needs root; skipped\n");
		return 0;
	}
	berth_log_set_level(BERTH_LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_create_all, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_propagation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_failing_sysctl_undoes,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_failing_pin_undoes, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_refused_specs, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_release_after_crash, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_concurrent, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
