/* Tests of sandbox/cgroup*.c: hierarchy discovery from sample mountinfo
 * (v1, v2, hybrid), names, and (as root) a pod cgroup created under a test
 * parent /berth-test-<pid> in every hierarchy of this host, its stats, a
 * busy remove, and removal of everything again. */
#include "sandbox/cgroup/cgroup-private.h"
#include "sandbox/mountinfo.h"
#include "util/error.h"
#include "util/notify.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static char *test_parent;

/* --- discovery from sample mountinfo ------------------------------------ */

static const char hybrid_sample[] =
	"30 22 0:27 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755\n"
	"31 30 0:28 / /sys/fs/cgroup/unified rw,nosuid shared:10 - cgroup2 "
	"cgroup2 rw,nsdelegate\n"
	"32 30 0:29 / /sys/fs/cgroup/systemd rw shared:11 - cgroup cgroup "
	"rw,xattr,name=systemd\n"
	"33 30 0:30 / /sys/fs/cgroup/cpu,cpuacct rw shared:12 - cgroup cgroup "
	"rw,cpu,cpuacct\n"
	"34 30 0:31 / /sys/fs/cgroup/cpuset rw shared:13 - cgroup cgroup "
	"rw,cpuset,clone_children\n"
	"35 30 0:32 /docker/abc /sys/fs/cgroup/memory rw - cgroup cgroup "
	"rw,memory\n"
	"36 30 0:30 / /mnt/again rw - cgroup cgroup rw,cpu,cpuacct\n"
	"37 30 0:33 / /sys/fs/cgroup/net_cls rw - cgroup cgroup "
	"rw,noprefix,net_cls,release_agent=/x\n"
	"38 26 0:34 / /mnt/with\\040space rw - ext4 /dev/vdb rw\n";

static const CgroupHierarchy *find_mp(GPtrArray *hs, const char *mp)
{
	for (guint i = 0; i < hs->len; i++) {
		const CgroupHierarchy *h = hs->pdata[i];
		if (strcmp(h->mount_point, mp) == 0)
			return h;
	}
	return NULL;
}

static void test_parse_hybrid(void **state)
{
	(void)state;
	g_autoptr(GPtrArray) mounts = mountinfo_parse(hybrid_sample);
	assert_int_equal(mounts->len, 9);
	assert_string_equal(((MountEntry *)mounts->pdata[8])->mount_point,
			    "/mnt/with space");
	assert_string_equal(((MountEntry *)mounts->pdata[1])->optional,
			    "shared:10");
	g_autoptr(GPtrArray) hs = cgroup_hierarchies_from_mounts(mounts);
	/* 0:30 is mounted twice: one hierarchy. v2 comes last. */
	assert_int_equal(hs->len, 6);
	const CgroupHierarchy *last = hs->pdata[5];
	assert_true(last->v2);
	assert_string_equal(last->mount_point, "/sys/fs/cgroup/unified");
	assert_false(cgroup_is_pure_v2(hs));

	const CgroupHierarchy *sd = find_mp(hs, "/sys/fs/cgroup/systemd");
	assert_string_equal(sd->name, "systemd");
	assert_int_equal(g_strv_length(sd->controllers), 0);
	const CgroupHierarchy *cpu = find_mp(hs, "/sys/fs/cgroup/cpu,cpuacct");
	assert_true(cgroup_hierarchy_has(cpu, "cpu"));
	assert_true(cgroup_hierarchy_has(cpu, "cpuacct"));
	assert_false(cgroup_hierarchy_has(cpu, "rw"));
	assert_null(find_mp(hs, "/mnt/again"));
	const CgroupHierarchy *cs = find_mp(hs, "/sys/fs/cgroup/cpuset");
	assert_true(cgroup_hierarchy_has(cs, "cpuset"));
	assert_false(cgroup_hierarchy_has(cs, "clone_children"));
	const CgroupHierarchy *nc = find_mp(hs, "/sys/fs/cgroup/net_cls");
	assert_true(nc->noprefix);
	assert_int_equal(g_strv_length(nc->controllers), 1);

	/* A mount of a sub-tree maps only the paths below its root. */
	const CgroupHierarchy *mem = find_mp(hs, "/sys/fs/cgroup/memory");
	g_autofree char *in = cgroup_hierarchy_dir(mem, "/docker/abc/pod");
	assert_string_equal(in, "/sys/fs/cgroup/memory/pod");
	g_autofree char *top = cgroup_hierarchy_dir(mem, "/docker/abc");
	assert_string_equal(top, "/sys/fs/cgroup/memory");
	assert_null(cgroup_hierarchy_dir(mem, "/docker/abcd/pod"));
	assert_null(cgroup_hierarchy_dir(mem, "/other"));
	g_autofree char *plain = cgroup_hierarchy_dir(cpu, "/a/b");
	assert_string_equal(plain, "/sys/fs/cgroup/cpu,cpuacct/a/b");
}

static void test_parse_v2(void **state)
{
	(void)state;
	g_autoptr(GPtrArray) mounts = mountinfo_parse(
		"25 20 0:22 / /sys/fs/cgroup rw,nosuid,nodev shared:4 - "
		"cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n"
		"garbage line\n\n");
	assert_int_equal(mounts->len, 1);
	g_autoptr(GPtrArray) hs = cgroup_hierarchies_from_mounts(mounts);
	assert_int_equal(hs->len, 1);
	assert_true(cgroup_is_pure_v2(hs));
	g_autoptr(GPtrArray) none = mountinfo_parse("");
	g_autoptr(GPtrArray) hs0 = cgroup_hierarchies_from_mounts(none);
	assert_int_equal(hs0->len, 0);
	assert_false(cgroup_is_pure_v2(hs0));
}

/* --- names -------------------------------------------------------------- */

static void test_names(void **state)
{
	(void)state;
	g_autoptr(GError) err = NULL;
	g_autofree char *d = cgroup_pod_relative("", "abc123", &err);
	assert_string_equal(d, "/berth/berth-pod-abc123");
	g_autofree char *k = cgroup_pod_relative(
		"/kubepods/besteffort/pod0b1c-22", "f00d", &err);
	assert_string_equal(k,
			    "/kubepods/besteffort/pod0b1c-22/berth-pod-f00d");
	g_autofree char *r = cgroup_pod_relative("/", "x", &err);
	assert_string_equal(r, "/berth-pod-x");
	g_autofree char *n = cgroup_pod_relative(NULL, "x", &err);
	assert_string_equal(n, "/berth/berth-pod-x");

	const char *bad_parents[] = {
		"relative", "/a/../b", "/a//b",		  "/a/b/",   "/a b",
		"/a\nb",    "/./a",    "/kubepods.slice", "/a/b\\c", "/a/*"};
	for (gsize i = 0; i < G_N_ELEMENTS(bad_parents); i++) {
		g_autoptr(GError) e = NULL;
		g_autofree char *p =
			cgroup_pod_relative(bad_parents[i], "x", &e);
		if (p)
			fail_msg("parent \"%s\" accepted", bad_parents[i]);
		assert_true(g_error_matches(e, BERTH_ERROR,
					    BERTH_ERROR_INVALID_ARGUMENT));
		assert_null(cgroup_pod_create(bad_parents[i], "x", NULL));
	}
	g_autofree char *longid = g_strnfill(129, 'a');
	const char *bad_ids[] = {"", "a/b", "..", "a b", "a.b", longid};
	for (gsize i = 0; i < G_N_ELEMENTS(bad_ids); i++)
		assert_null(cgroup_pod_relative("/x", bad_ids[i], NULL));
	assert_null(cgroup_pod_relative("/x", NULL, NULL));

	g_clear_error(&err);
	assert_false(cgroup_remove("/", &err));
	assert_true(g_error_matches(err, BERTH_ERROR,
				    BERTH_ERROR_INVALID_ARGUMENT));
	assert_false(cgroup_remove("rel", NULL));
	assert_false(cgroup_remove("/a/../..", NULL));
	assert_false(cgroup_remove(NULL, NULL));
}

static void test_systemd_available(void **state)
{
	(void)state;
	g_autofree char *comm = NULL;
	gboolean want =
		access("/run/systemd/system", F_OK) == 0 &&
		g_file_get_contents("/proc/1/comm", &comm, NULL, NULL) &&
		strcmp(g_strstrip(comm), "systemd") == 0;
	assert_int_equal(berth_systemd_is_pid1(), want);
}

/* --- the systemd driver's names --------------------------------------- */

static void assert_bad_slice(const char *name, const char *why)
{
	g_autoptr(GError) err = NULL;
	assert_false(cgroup_slice_name_ok(name, &err));
	assert_true(g_error_matches(err, BERTH_ERROR,
				    BERTH_ERROR_INVALID_ARGUMENT));
	if (strstr(err->message, why) == NULL)
		fail_msg("%s: \"%s\" lacks \"%s\"", name ? name : "(null)",
			 err->message, why);
}

static void test_slice_names(void **state)
{
	(void)state;
	const char *good[] = {"-.slice", "berth.slice",
			      "kubepods-besteffort-pod1234_5678.slice",
			      "a:b_c.d-e.slice"};
	for (gsize i = 0; i < G_N_ELEMENTS(good); i++)
		assert_true(cgroup_slice_name_ok(good[i], NULL));
	assert_bad_slice(NULL, "ends in");
	assert_bad_slice("", "ends in");
	assert_bad_slice(".slice", "ends in");
	assert_bad_slice("/kubepods", "ends in");
	assert_bad_slice("kubepods.scope", "ends in");
	assert_bad_slice("/kubepods.slice", "only [A-Za-z0-9:_.-]");
	assert_bad_slice("a/b.slice", "only [A-Za-z0-9:_.-]");
	assert_bad_slice("a b.slice", "only [A-Za-z0-9:_.-]");
	assert_bad_slice("-a.slice", "dashes");
	assert_bad_slice("a-.slice", "dashes");
	assert_bad_slice("a--b.slice", "dashes");
	g_autofree char *huge = g_strnfill(300, 'a');
	g_autofree char *huge_slice = g_strconcat(huge, ".slice", NULL);
	assert_bad_slice(huge_slice, "255 bytes");
}

static void test_slice_paths(void **state)
{
	(void)state;
	const char *cases[][2] = {
		{"-.slice", "/"},
		{"berth.slice", "/berth.slice"},
		{"kubepods-besteffort-podX.slice",
		 "/kubepods.slice/kubepods-besteffort.slice/"
		 "kubepods-besteffort-podX.slice"},
		{"a.b-c.slice", "/a.b.slice/a.b-c.slice"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *p = cgroup_slice_path(cases[i][0]);
		assert_string_equal(p, cases[i][1]);
	}
}

static void test_pod_slice(void **state)
{
	(void)state;
	g_autofree char *given = cgroup_pod_slice(
		"kubepods-burstable-pod42.slice", "berth.slice", "abc", NULL);
	assert_string_equal(given, "kubepods-burstable-pod42.slice");
	g_autofree char *top =
		cgroup_pod_slice("/test.slice", "berth.slice", "abc", NULL);
	assert_string_equal(top, "test.slice");
	g_autoptr(GError) root_err = NULL;
	assert_null(cgroup_pod_slice("/", "berth.slice", "abc", &root_err));
	g_autofree char *deflt =
		cgroup_pod_slice("", "berth.slice", "abc", NULL);
	assert_string_equal(deflt, "berth-podabc.slice");
	g_autofree char *nested =
		cgroup_pod_slice(NULL, "a-b.slice", "abc", NULL);
	assert_string_equal(nested, "a-b-podabc.slice");
	g_autofree char *root = cgroup_pod_slice("", "-.slice", "abc", NULL);
	assert_string_equal(root, "podabc.slice");
	g_autoptr(GError) err = NULL;
	assert_null(cgroup_pod_slice("/kubepods/pod42", "berth.slice", "abc",
				     &err));
	assert_non_null(strstr(err->message, "not a systemd slice name"));
}

static void test_container_paths(void **state)
{
	(void)state;
	const char *pod = "/kubepods.slice/kubepods-pod1.slice";
	assert_true(cgroup_path_is_systemd(pod));
	assert_false(cgroup_path_is_systemd("/berth/berth-pod-1"));
	assert_false(cgroup_path_is_systemd(NULL));
	g_autofree char *slice = cgroup_path_slice(pod);
	assert_string_equal(slice, "kubepods-pod1.slice");
	g_autofree char *sd = cgroup_container_path(pod, "c1");
	assert_string_equal(sd, "/kubepods.slice/kubepods-pod1.slice/"
				"berth-c1.scope");
	assert_true(cgroup_path_is_systemd(sd));
	g_autofree char *sd_oci = cgroup_container_oci_path(pod, "c1");
	assert_string_equal(sd_oci, "kubepods-pod1.slice:berth:c1");
	g_autofree char *fs = cgroup_container_path("/berth/berth-pod-1", "c1");
	assert_string_equal(fs, "/berth/berth-pod-1/berth-c1");
	g_autofree char *fs_oci =
		cgroup_container_oci_path("/berth/berth-pod-1", "c1");
	assert_string_equal(fs_oci, "/berth/berth-pod-1/berth-c1");
}

/* --- live, as root -------------------------------------------------------- */

static gboolean dir_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static void test_live_hierarchies(void **state)
{
	(void)state;
	const GPtrArray *hs = cgroup_hierarchies();
	assert_ptr_equal(hs, cgroup_hierarchies());
	assert_true(hs->len > 0);
	for (guint i = 0; i < hs->len; i++) {
		const CgroupHierarchy *h = hs->pdata[i];
		assert_true(dir_exists(h->mount_point));
		assert_non_null(h->controllers);
	}
}

static void test_create_stats_remove(void **state)
{
	(void)state;
	g_autoptr(GError) err = NULL;
	g_autoptr(CgroupPath) p = cgroup_pod_create(test_parent, "t1", &err);
	if (p == NULL)
		fail_msg("%s", err->message);
	g_autofree char *want = g_strdup_printf("%s/berth-pod-t1", test_parent);
	assert_string_equal(cgroup_path_relative(p), want);

	const GPtrArray *hs = cgroup_hierarchies();
	const char *const *dirs = cgroup_path_dirs(p);
	assert_int_equal(g_strv_length((char **)dirs), hs->len);
	for (guint i = 0; i < hs->len; i++) {
		const CgroupHierarchy *h = hs->pdata[i];
		g_autofree char *d =
			g_build_filename(h->mount_point, want, NULL);
		assert_string_equal(dirs[i], d);
		assert_true(dir_exists(d));
		if (h->v2 || !cgroup_hierarchy_has(h, "cpuset"))
			continue;
		g_autofree char *mine = cgroup_read(d, "cpuset.cpus", NULL);
		g_autofree char *top =
			cgroup_read(h->mount_point, "cpuset.cpus", NULL);
		assert_string_equal(mine, top);
		g_autofree char *mems = cgroup_read(d, "cpuset.mems", NULL);
		assert_true(mems && *mems);
	}

	/* Idempotent. */
	g_autoptr(CgroupPath) again =
		cgroup_pod_create(test_parent, "t1", &err);
	assert_non_null(again);

	CgroupStats st;
	if (!cgroup_stats(want, &st, &err))
		fail_msg("%s", err->message);
	assert_true(st.timestamp_ns > 0);
	assert_true(st.has_cpu);
	assert_true(st.has_memory);
	assert_true(st.memory_working_set <= st.memory_usage);
	assert_int_equal(st.pids, 0);

	assert_true(cgroup_remove(want, &err));
	for (guint i = 0; dirs[i]; i++)
		assert_false(dir_exists(dirs[i]));
	assert_true(cgroup_remove(want, &err));
	assert_false(cgroup_stats(want, &st, &err));
	assert_true(g_error_matches(err, BERTH_ERROR, BERTH_ERROR_NOT_FOUND));
}

/* Children below the pod cgroup (containers) go first. */
static void test_remove_deep(void **state)
{
	(void)state;
	g_autoptr(GError) err = NULL;
	g_autoptr(CgroupPath) p = cgroup_pod_create(test_parent, "deep", &err);
	assert_non_null(p);
	const char *const *dirs = cgroup_path_dirs(p);
	for (guint i = 0; dirs[i]; i++) {
		g_autofree char *c =
			g_build_filename(dirs[i], "ctr", "x", NULL);
		assert_int_equal(g_mkdir_with_parents(c, 0755), 0);
	}
	if (!cgroup_remove(cgroup_path_relative(p), &err))
		fail_msg("%s", err->message);
	for (guint i = 0; dirs[i]; i++)
		assert_false(dir_exists(dirs[i]));
}

typedef struct {
	GMutex lock;
	GCond cond;
	pid_t tid;
	gboolean go;
} Parked;

static gpointer parked_thread(gpointer data)
{
	Parked *p = data;
	g_mutex_lock(&p->lock);
	p->tid = gettid();
	g_cond_broadcast(&p->cond);
	while (!p->go)
		g_cond_wait(&p->cond, &p->lock);
	g_mutex_unlock(&p->lock);
	return NULL;
}

/* A v1 hierarchy lets one thread move: park a helper thread in the pod
 * cgroup, see remove refuse and name our pid, let the thread exit, and
 * remove again. */
static void test_remove_busy(void **state)
{
	(void)state;
	const GPtrArray *hs = cgroup_hierarchies();
	const CgroupHierarchy *v1 = NULL;
	for (guint i = 0; i < hs->len && !v1; i++)
		if (!((CgroupHierarchy *)hs->pdata[i])->v2)
			v1 = hs->pdata[i];
	if (v1 == NULL)
		skip();
	g_autoptr(GError) err = NULL;
	g_autoptr(CgroupPath) cg = cgroup_pod_create(test_parent, "busy", &err);
	assert_non_null(cg);
	g_autofree char *dir =
		cgroup_hierarchy_dir(v1, cgroup_path_relative(cg));

	Parked p = {0};
	g_mutex_init(&p.lock);
	g_cond_init(&p.cond);
	GThread *t = g_thread_new("parked", parked_thread, &p);
	g_mutex_lock(&p.lock);
	while (p.tid == 0)
		g_cond_wait(&p.cond, &p.lock);
	g_mutex_unlock(&p.lock);
	g_autofree char *tid = g_strdup_printf("%d", p.tid);
	assert_true(cgroup_write(dir, "tasks", tid, &err));

	assert_false(cgroup_remove(cgroup_path_relative(cg), &err));
	assert_true(g_error_matches(err, BERTH_ERROR,
				    BERTH_ERROR_FAILED_PRECONDITION));
	g_autofree char *pid = g_strdup_printf("%d", getpid());
	if (strstr(err->message, pid) == NULL)
		fail_msg("pid %s not named: %s", pid, err->message);
	g_clear_error(&err);

	g_mutex_lock(&p.lock);
	p.go = TRUE;
	g_cond_broadcast(&p.cond);
	g_mutex_unlock(&p.lock);
	g_thread_join(t);
	g_mutex_clear(&p.lock);
	g_cond_clear(&p.cond);
	if (!cgroup_remove(cgroup_path_relative(cg), &err))
		fail_msg("%s", err->message);
	assert_false(dir_exists(dir));
}

/* The subtree_control step of pure v2, tried on the unified tree of this
 * host below the test parent (never on the root). */
static void test_v2_enable_subtree(void **state)
{
	(void)state;
	const GPtrArray *hs = cgroup_hierarchies();
	const CgroupHierarchy *v2 = NULL;
	for (guint i = 0; i < hs->len; i++)
		if (((CgroupHierarchy *)hs->pdata[i])->v2)
			v2 = hs->pdata[i];
	if (v2 == NULL || g_strv_length(v2->controllers) == 0 ||
	    *v2->controllers[0] == '\0')
		skip();
	g_autoptr(GError) err = NULL;
	g_autoptr(CgroupPath) cg = cgroup_pod_create(test_parent, "v2", &err);
	assert_non_null(cg);
	g_autofree char *dir =
		cgroup_hierarchy_dir(v2, cgroup_path_relative(cg));
	if (!cgroup_v2_enable_subtree(dir, &err))
		fail_msg("%s", err->message);
	g_autofree char *on = cgroup_read(dir, "cgroup.subtree_control", NULL);
	g_autofree char *avail = cgroup_read(dir, "cgroup.controllers", NULL);
	assert_string_equal(on, avail);
	assert_true(cgroup_v2_enable_subtree(dir, &err)); /* again: no-op */
	g_autofree char *child = g_build_filename(dir, "c", NULL);
	assert_int_equal(mkdir(child, 0755), 0);
	g_autofree char *got = cgroup_read(child, "cgroup.controllers", NULL);
	assert_string_equal(got, avail);

	/* The v2 readers: cpu.stat is always there; memory and pids only
	 * with their controllers. */
	CgroupStats st = {0};
	cgroup_stats_from(v2, dir, &st);
	assert_true(st.has_cpu);
	assert_int_equal(st.has_memory, cgroup_hierarchy_has(v2, "memory"));
	assert_int_equal(st.has_pids, cgroup_hierarchy_has(v2, "pids"));
	assert_true(cgroup_remove(cgroup_path_relative(cg), &err));
}

static int group_setup(void **state)
{
	(void)state;
	test_parent = g_strdup_printf("/berth-test-%d", getpid());
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	g_autoptr(GError) err = NULL;
	int rc = 0;
	if (geteuid() == 0 && !cgroup_remove(test_parent, &err)) {
		fprintf(stderr, "cleanup: %s\n", err->message);
		rc = -1;
	}
	const GPtrArray *hs = cgroup_hierarchies();
	for (guint i = 0; i < hs->len; i++) {
		const CgroupHierarchy *h = hs->pdata[i];
		g_autofree char *d =
			g_build_filename(h->mount_point, test_parent, NULL);
		if (dir_exists(d)) {
			fprintf(stderr, "cleanup: %s left\n", d);
			rc = -1;
		}
	}
	g_free(test_parent);
	return rc;
}

int main(void)
{
	berth_log_set_level(BERTH_LOG_ERROR);
	const struct CMUnitTest pure[] = {
		cmocka_unit_test(test_parse_hybrid),
		cmocka_unit_test(test_parse_v2),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_systemd_available),
		cmocka_unit_test(test_slice_names),
		cmocka_unit_test(test_slice_paths),
		cmocka_unit_test(test_pod_slice),
		cmocka_unit_test(test_container_paths),
	};
	const struct CMUnitTest live[] = {
		cmocka_unit_test(test_live_hierarchies),
		cmocka_unit_test(test_create_stats_remove),
		cmocka_unit_test(test_remove_deep),
		cmocka_unit_test(test_remove_busy),
		cmocka_unit_test(test_v2_enable_subtree),
	};
	int rc = cmocka_run_group_tests(pure, NULL, NULL);
	if (geteuid() != 0) {
		fprintf(stderr, "test_cgroup: live tests need root; skipped\n");
		return rc;
	}
	return rc + cmocka_run_group_tests(live, group_setup, group_teardown);
}
