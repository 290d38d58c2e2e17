/* Tests of sandbox/pod/userns.c and util/idmap.c (root): range checks,
 * the holder process, pod namespaces owned by a new user namespace and
 * their release, an idmapped mount, the OCI spec entries. */
#include "sandbox/pod/netns.h"
#include "sandbox/pod/userns.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/idmap.h"
#include "util/jsonutil.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static const UsernsMap map = {
	.uid = {.container_id = 0, .host_id = 300000, .length = 65536},
	.gid = {.container_id = 0, .host_id = 400000, .length = 65536},
};

static void check_refused(UsernsRange r, const char *want)
{
	g_autoptr(GError) err = NULL;
	assert_false(userns_range_check(&r, "f.uids", &err));
	assert_int_equal(err->code, BERTH_ERROR_INVALID_ARGUMENT);
	assert_non_null(strstr(err->message, "f.uids: "));
	if (strstr(err->message, want) == NULL)
		fail_msg("\"%s\" lacks \"%s\"", err->message, want);
}

static void test_range_check(void **state)
{
	(void)state;
	assert_true(userns_range_check(&map.uid, "f", NULL));
	UsernsRange top = {0, G_MAXUINT32 - 65536, 65536};
	assert_true(userns_range_check(&top, "f", NULL));
	check_refused((UsernsRange){0, 100000, 0}, "length is 0");
	check_refused((UsernsRange){0, G_MAXUINT32 - 10, 100},
		      "runs past the largest id");
	check_refused((UsernsRange){0, G_MAXUINT32 - 9, 10}, "4294967295");
	check_refused((UsernsRange){1, 100000, 10}, "id 0 (its root) unmapped");
	check_refused((UsernsRange){0, 0, 65536}, "host's id 0");
}

static void test_range_host_and_line(void **state)
{
	(void)state;
	assert_int_equal(userns_range_host(&map.uid, 0), 300000);
	assert_int_equal(userns_range_host(&map.uid, 65535), 365535);
	assert_int_equal(userns_range_host(&map.uid, 65536), -1);
	UsernsRange r = {10, 500, 5};
	assert_int_equal(userns_range_host(&r, 9), -1);
	assert_int_equal(userns_range_host(&r, 12), 502);
	g_autofree char *line = userns_range_line(&map.gid);
	assert_string_equal(line, "0 400000 65536\n");
	UsernsMap other = map;
	assert_true(userns_map_equal(&map, &other));
	other.gid.length--;
	assert_false(userns_map_equal(&map, &other));
}

static char *read_text(const char *path)
{
	char *text = NULL;
	assert_true(g_file_get_contents(path, &text, NULL, NULL));
	return text;
}

static ino_t ns_inode(int fd)
{
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	return st.st_ino;
}

static void test_holder(void **state)
{
	(void)state;
	UsernsHolder h;
	assert_true(userns_holder_start(&map, CLONE_NEWNET, &h, NULL));
	g_autofree char *uid_map = g_strdup_printf("/proc/%d/uid_map", h.pid);
	g_autofree char *gid_map = g_strdup_printf("/proc/%d/gid_map", h.pid);
	g_autofree char *u = read_text(uid_map);
	g_autofree char *g = read_text(gid_map);
	assert_non_null(strstr(g, "400000"));
	assert_non_null(strstr(u, "300000"));
	/* The new network namespace belongs to the new user namespace. */
	g_autofree char *net = g_strdup_printf("/proc/%d/ns/net", h.pid);
	g_autofree char *user = g_strdup_printf("/proc/%d/ns/user", h.pid);
	autofd nfd = open(net, O_RDONLY | O_CLOEXEC);
	autofd ufd = userns_open(user, NULL);
	assert_true(nfd >= 0 && ufd >= 0);
	autofd owner = ioctl(nfd, NS_GET_USERNS);
	assert_true(owner >= 0);
	assert_int_equal(ns_inode(owner), ns_inode(ufd));
	pid_t pid = h.pid;
	userns_holder_stop(&h);
	assert_int_equal(h.pid, -1);
	assert_int_equal(kill(pid, 0), -1); /* reaped, gone */
	/* Not a user namespace: refused. */
	g_autoptr(GError) err = NULL;
	assert_int_equal(userns_open("/proc/self/ns/net", &err), -1);
	assert_int_equal(err->code, BERTH_ERROR_FAILED_PRECONDITION);
}

static void test_pod_namespaces_in_userns(void **state)
{
	(void)state;
	g_autofree char *dir = g_dir_make_tmp("berth-test-userns-XXXXXX", NULL);
	g_autofree char *root = g_build_filename(dir, "ns", NULL);
	g_autofree char *pins = g_build_filename(root, "pod1", NULL);
	PodNsSpec spec = {.new_net = TRUE,
			  .new_ipc = TRUE,
			  .new_uts = TRUE,
			  .hostname = "userns-pod",
			  .pin_dir = pins,
			  .userns = &map};
	g_auto(PodNs) ns = {0};
	g_autoptr(GError) err = NULL;
	if (!pod_ns_create(&spec, &ns, &err))
		fail_msg("%s", err->message);
	assert_non_null(ns.user);
	assert_non_null(ns.net);
	autofd ufd = userns_open(ns.user, NULL);
	autofd nfd = open(ns.net, O_RDONLY | O_CLOEXEC);
	autofd ifd = open(ns.ipc, O_RDONLY | O_CLOEXEC);
	assert_true(ufd >= 0 && nfd >= 0 && ifd >= 0);
	autofd nown = ioctl(nfd, NS_GET_USERNS);
	autofd iown = ioctl(ifd, NS_GET_USERNS);
	assert_int_equal(ns_inode(nown), ns_inode(ufd));
	assert_int_equal(ns_inode(iown), ns_inode(ufd));
	/* Without its own network namespace a user namespace is refused. */
	PodNsSpec bad = spec;
	bad.new_net = FALSE;
	bad.pin_dir = g_build_filename(root, "pod2", NULL);
	PodNs none = {0};
	g_clear_error(&err);
	assert_false(pod_ns_create(&bad, &none, &err));
	assert_int_equal(err->code, BERTH_ERROR_INVALID_ARGUMENT);
	assert_false(g_file_test(bad.pin_dir, G_FILE_TEST_EXISTS));
	g_free((char *)bad.pin_dir);
	assert_true(pod_ns_release(pins, NULL));
	assert_false(g_file_test(pins, G_FILE_TEST_EXISTS));
	assert_true(pod_ns_release(pins, NULL)); /* idempotent */
	umount2(root, MNT_DETACH);
	berth_rm_rf(dir, NULL);
}

static void test_idmap_mount(void **state)
{
	(void)state;
	g_autofree char *dir = g_dir_make_tmp("berth-test-idmap-XXXXXX", NULL);
	g_autofree char *src = g_build_filename(dir, "src", NULL);
	g_autofree char *dst = g_build_filename(dir, "dst", NULL);
	g_autofree char *file = g_build_filename(src, "f", NULL);
	g_autofree char *seen = g_build_filename(dst, "f", NULL);
	assert_int_equal(mkdir(src, 0755), 0);
	assert_int_equal(mkdir(dst, 0755), 0);
	assert_true(g_file_set_contents(file, "x", 1, NULL));
	assert_int_equal(chown(file, 7, 8), 0);
	UsernsHolder h;
	assert_true(userns_holder_start(&map, 0, &h, NULL));
	g_autofree char *user = g_strdup_printf("/proc/%d/ns/user", h.pid);
	autofd ufd = userns_open(user, NULL);
	g_autoptr(GError) err = NULL;
	if (!idmap_mount(src, dst, ufd, FALSE, TRUE, &err))
		fail_msg("%s", err->message);
	struct stat st;
	assert_int_equal(stat(seen, &st), 0);
	assert_int_equal(st.st_uid, 300007);
	assert_int_equal(st.st_gid, 400008);
	/* Read-only copy; the source is unchanged. */
	assert_int_equal(open(seen, O_WRONLY | O_CLOEXEC), -1);
	assert_int_equal(errno, EROFS);
	assert_int_equal(stat(file, &st), 0);
	assert_int_equal(st.st_uid, 7);
	assert_int_equal(umount2(dst, 0), 0);
	/* /proc cannot be idmapped: a clear FAILED_PRECONDITION. */
	g_clear_error(&err);
	assert_false(idmap_mount("/proc", dst, ufd, FALSE, FALSE, &err));
	assert_int_equal(err->code, BERTH_ERROR_FAILED_PRECONDITION);
	assert_non_null(strstr(err->message, "idmapped"));
	userns_holder_stop(&h);
	berth_rm_rf(dir, NULL);
}

static void test_spec_apply(void **state)
{
	(void)state;
	g_autoptr(json_t) linux_ = json_object();
	userns_spec_apply(linux_, "/run/berth/ns/p/user", &map);
	json_t *ns = json_array_get(json_object_get(linux_, "namespaces"), 0);
	assert_string_equal(json_string_value(json_object_get(ns, "type")),
			    "user");
	assert_string_equal(json_string_value(json_object_get(ns, "path")),
			    "/run/berth/ns/p/user");
	json_t *g = json_array_get(json_object_get(linux_, "gidMappings"), 0);
	assert_int_equal(json_integer_value(json_object_get(g, "hostID")),
			 400000);
	assert_int_equal(json_integer_value(json_object_get(g, "size")), 65536);
	assert_int_equal(json_integer_value(json_object_get(g, "containerID")),
			 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_range_check),
		cmocka_unit_test(test_range_host_and_line),
		cmocka_unit_test(test_holder),
		cmocka_unit_test(test_pod_namespaces_in_userns),
		cmocka_unit_test(test_idmap_mount),
		cmocka_unit_test(test_spec_apply),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
