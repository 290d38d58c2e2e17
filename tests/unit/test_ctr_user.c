/* Tests of sandbox/ctr-user.c: passwd/group parsing, every way the CRI and
 * the image name a user, supplemental groups under Merge and Strict, the
 * validation errors, and reading the files without leaving the rootfs. */
#include "sandbox/spec/ctr-user.h"
#include "util/error.h"
#include "util/fs.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

static const char passwd[] =
	"root:x:0:0:root:/root:/bin/sh\n"
	"daemon:x:1:1:daemon:/usr/sbin:/bin/false\n"
	"# a comment\n"
	"\n"
	"broken line\n"
	"bad:x:notanumber:0::/:/bin/sh\n"
	"nobody:x:65534:65534:nobody:/nonexistent:/bin/false\n"
	"default-user:x:1000:1000::/home/default-user:/bin/sh\n"
	"nohome:x:1001:1001:::/bin/sh\n"
	"dup:x:2000:2000::/first:/bin/sh\n"
	"dup:x:2001:2001::/second:/bin/sh\n";

static const char group[] = "root:x:0:\n"
			    "daemon:x:1:\n"
			    "wheel:x:10:alice, default-user\n"
			    "users:x:100\n"
			    "default-user:x:1000:\n"
			    "group-defined-in-image:x:50000:default-user\n"
			    "nogroup:x:65534:\n";

typedef struct {
	char *dir;
	char *rootfs;
} Fx;

static void write_file(const char *path, const char *text)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_assert_true(berth_mkdir_p(dir, 0755, NULL));
	g_assert_true(g_file_set_contents(path, text, -1, NULL));
}

static int setup(void **state)
{
	Fx *f = g_new0(Fx, 1);
	f->dir = g_dir_make_tmp("berth-test-user-XXXXXX", NULL);
	f->rootfs = g_build_filename(f->dir, "rootfs", NULL);
	g_autofree char *p = g_build_filename(f->rootfs, "etc/passwd", NULL);
	g_autofree char *g = g_build_filename(f->rootfs, "etc/group", NULL);
	write_file(p, passwd);
	write_file(g, group);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	Fx *f = *state;
	berth_rm_rf(f->dir, NULL);
	g_free(f->dir);
	g_free(f->rootfs);
	g_free(f);
	return 0;
}

static CtrConfig *config(void)
{
	return ctr_config_new();
}

static void set_user(CtrConfig *c, gint64 uid)
{
	c->security.run_as_user.set = TRUE;
	c->security.run_as_user.value = uid;
}

static void set_group(CtrConfig *c, gint64 gid)
{
	c->security.run_as_group.set = TRUE;
	c->security.run_as_group.value = gid;
}

static void add_group(CtrConfig *c, gint64 gid)
{
	g_array_append_val(c->security.supplemental_groups, gid);
}

/* gids as "a,b,c". */
static char *gids_text(const CtrUser *u)
{
	GString *s = g_string_new("");
	for (guint i = 0; i < u->additional_gids->len; i++)
		g_string_append_printf(
			s, "%s%u", i ? "," : "",
			g_array_index(u->additional_gids, guint32, i));
	return g_string_free(s, FALSE);
}

static void expect(const char *rootfs, CtrConfig *c, const char *image_user,
		   guint32 uid, guint32 gid, const char *gids)
{
	CtrUser u;
	g_autoptr(GError) err = NULL;
	if (!ctr_user_resolve(rootfs, &c->security, image_user, &u, &err))
		fail_msg("image user %s: %s",
			 image_user ? image_user : "(none)", err->message);
	g_autofree char *got = gids_text(&u);
	if (u.uid != uid || u.gid != gid || strcmp(got, gids) != 0)
		fail_msg("image user %s: got %u:%u [%s], want %u:%u [%s]",
			 image_user ? image_user : "(none)", u.uid, u.gid, got,
			 uid, gid, gids);
	ctr_user_clear(&u);
}

static void expect_error(const char *rootfs, CtrConfig *c,
			 const char *image_user, int code, const char *needle)
{
	CtrUser u;
	g_autoptr(GError) err = NULL;
	assert_false(
		ctr_user_resolve(rootfs, &c->security, image_user, &u, &err));
	assert_non_null(err);
	if (err->code != code)
		fail_msg("code %d, want %d: %s", err->code, code, err->message);
	if (needle && !strstr(err->message, needle))
		fail_msg("\"%s\" lacks \"%s\"", err->message, needle);
	assert_null(u.additional_gids);
}

static void test_passwd_parsing(void **state)
{
	(void)state;
	CtrPasswdEntry e = {0};
	assert_true(ctr_passwd_lookup(passwd, "nobody", 0, &e));
	assert_int_equal(e.uid, 65534);
	assert_int_equal(e.gid, 65534);
	assert_string_equal(e.home, "/nonexistent");
	ctr_passwd_entry_clear(&e);
	assert_true(ctr_passwd_lookup(passwd, NULL, 1000, &e));
	assert_string_equal(e.name, "default-user");
	ctr_passwd_entry_clear(&e);
	/* The first of two entries wins; an empty home is "/". */
	assert_true(ctr_passwd_lookup(passwd, "dup", 0, &e));
	assert_string_equal(e.home, "/first");
	ctr_passwd_entry_clear(&e);
	assert_true(ctr_passwd_lookup(passwd, "nohome", 0, &e));
	assert_string_equal(e.home, "/");
	ctr_passwd_entry_clear(&e);
	assert_false(ctr_passwd_lookup(passwd, "bad", 0, &e));
	assert_false(ctr_passwd_lookup(passwd, "broken line", 0, &e));
	assert_false(ctr_passwd_lookup(passwd, "# a comment", 0, &e));
	assert_false(ctr_passwd_lookup(NULL, "root", 0, &e));
	assert_false(ctr_passwd_lookup(passwd, NULL, 4242, &e));
}

static void test_group_parsing(void **state)
{
	(void)state;
	guint32 gid = 0;
	assert_true(ctr_group_lookup(group, "wheel", &gid));
	assert_int_equal(gid, 10);
	assert_true(ctr_group_lookup(group, "users", &gid));
	assert_int_equal(gid, 100);
	assert_false(ctr_group_lookup(group, "ghost", &gid));
	g_autoptr(GArray) gids = g_array_new(FALSE, FALSE, sizeof(guint32));
	ctr_group_member_gids(group, "default-user", gids);
	assert_int_equal(gids->len, 2);
	assert_int_equal(g_array_index(gids, guint32, 0), 10);
	assert_int_equal(g_array_index(gids, guint32, 1), 50000);
	g_array_set_size(gids, 0);
	ctr_group_member_gids(group, "alice", gids);
	assert_int_equal(gids->len, 1);
	g_array_set_size(gids, 0);
	ctr_group_member_gids(group, "default", gids);
	assert_int_equal(gids->len, 0);
}

static void test_image_user_forms(void **state)
{
	Fx *f = *state;
	g_autoptr(CtrConfig) c = config();
	expect(f->rootfs, c, NULL, 0, 0, "0");
	expect(f->rootfs, c, "", 0, 0, "0");
	expect(f->rootfs, c, "daemon", 1, 1, "1");
	expect(f->rootfs, c, "1000", 1000, 1000, "1000,10,50000");
	expect(f->rootfs, c, "4242", 4242, 0, "0");
	expect(f->rootfs, c, "1000:10", 1000, 10, "10,50000");
	expect(f->rootfs, c, "default-user:wheel", 1000, 10, "10,50000");
	expect(f->rootfs, c, "default-user:7", 1000, 7, "7,10,50000");
	expect(f->rootfs, c, "4242:4343", 4242, 4343, "4343");
	expect(f->rootfs, c, "daemon:", 1, 1, "1");
	expect_error(f->rootfs, c, "ghost", BERTH_ERROR_INVALID_ARGUMENT,
		     "ghost");
	expect_error(f->rootfs, c, "default-user:ghostgroup",
		     BERTH_ERROR_INVALID_ARGUMENT, "ghostgroup");
	expect_error(f->rootfs, c, ":5", BERTH_ERROR_INVALID_ARGUMENT, NULL);
	expect_error(f->rootfs, c, "-1", BERTH_ERROR_INVALID_ARGUMENT, NULL);
	expect_error(f->rootfs, c, "4294967295", BERTH_ERROR_INVALID_ARGUMENT,
		     NULL);
}

static void test_run_as_user(void **state)
{
	Fx *f = *state;
	g_autoptr(CtrConfig) c = config();
	set_user(c, 1000);
	/* run_as_user wins over the image's user. */
	expect(f->rootfs, c, "daemon", 1000, 1000, "1000,10,50000");
	set_user(c, 4242);
	expect(f->rootfs, c, NULL, 4242, 0, "0");
	set_group(c, 77);
	expect(f->rootfs, c, NULL, 4242, 77, "77");
	set_user(c, -1);
	expect_error(f->rootfs, c, NULL, BERTH_ERROR_INVALID_ARGUMENT,
		     "run_as_user");
	set_user(c, 4294967295LL);
	expect_error(f->rootfs, c, NULL, BERTH_ERROR_INVALID_ARGUMENT,
		     "run_as_user");
	set_user(c, 0);
	set_group(c, -5);
	expect_error(f->rootfs, c, NULL, BERTH_ERROR_INVALID_ARGUMENT,
		     "run_as_group");
}

static void test_run_as_username(void **state)
{
	Fx *f = *state;
	g_autoptr(CtrConfig) c = config();
	g_free(c->security.run_as_username);
	c->security.run_as_username = g_strdup("nobody");
	expect(f->rootfs, c, NULL, 65534, 65534, "65534");
	/* kubelet passes only the name; the image's group still applies. */
	g_free(c->security.run_as_username);
	c->security.run_as_username = g_strdup("default-user");
	expect(f->rootfs, c, "default-user:wheel", 1000, 10, "10,50000");
	expect(f->rootfs, c, "default:wheel", 1000, 1000, "1000,10,50000");
	expect(f->rootfs, c, "default-user", 1000, 1000, "1000,10,50000");
	set_group(c, 5);
	expect(f->rootfs, c, "default-user:wheel", 1000, 5, "5,10,50000");
	g_free(c->security.run_as_username);
	c->security.run_as_username = g_strdup("ghost");
	expect_error(f->rootfs, c, NULL, BERTH_ERROR_INVALID_ARGUMENT,
		     "\"ghost\" is not in the image's /etc/passwd");
}

static void test_run_as_group_alone(void **state)
{
	Fx *f = *state;
	g_autoptr(CtrConfig) c = config();
	set_group(c, 10);
	expect_error(f->rootfs, c, "1000", BERTH_ERROR_INVALID_ARGUMENT,
		     "run_as_group is set without run_as_user");
}

static void test_supplemental_groups(void **state)
{
	Fx *f = *state;
	g_autoptr(CtrConfig) c = config();
	set_user(c, 1000);
	add_group(c, 1234);
	add_group(c, 10); /* already there: listed once */
	expect(f->rootfs, c, NULL, 1000, 1000, "1000,10,50000,1234");
	c->security.supplemental_groups_policy = CTR_GROUPS_STRICT;
	expect(f->rootfs, c, NULL, 1000, 1000, "1000,1234,10");
	add_group(c, -3);
	expect_error(f->rootfs, c, NULL, BERTH_ERROR_INVALID_ARGUMENT,
		     "supplemental group");
}

static void test_home(void **state)
{
	Fx *f = *state;
	g_autoptr(CtrConfig) c = config();
	CtrUser u;
	assert_true(ctr_user_resolve(f->rootfs, &c->security, "default-user",
				     &u, NULL));
	assert_string_equal(u.home, "/home/default-user");
	assert_string_equal(u.username, "default-user");
	ctr_user_clear(&u);
	assert_true(
		ctr_user_resolve(f->rootfs, &c->security, "4242", &u, NULL));
	assert_string_equal(u.home, "/");
	assert_null(u.username);
	ctr_user_clear(&u);
}

static void test_no_etc(void **state)
{
	Fx *f = *state;
	g_autofree char *empty = g_build_filename(f->dir, "empty", NULL);
	g_assert_true(berth_mkdir_p(empty, 0755, NULL));
	g_autoptr(CtrConfig) c = config();
	expect(empty, c, NULL, 0, 0, "0");
	expect(empty, c, "123:456", 123, 456, "456");
	expect_error(empty, c, "root", BERTH_ERROR_INVALID_ARGUMENT, "root");
}

/* An /etc/passwd that points outside the rootfs must not be read from
 * the host: resolution stays inside the rootfs. */
static void test_symlink_stays_inside(void **state)
{
	Fx *f = *state;
	g_autofree char *outside = g_build_filename(f->dir, "outside", NULL);
	write_file(outside, "evil:x:0:0::/:/bin/sh\n");
	g_autofree char *root2 = g_build_filename(f->dir, "root2", NULL);
	g_autofree char *etc2 = g_build_filename(root2, "etc", NULL);
	g_assert_true(berth_mkdir_p(etc2, 0755, NULL));
	g_autofree char *link = g_build_filename(etc2, "passwd", NULL);
	assert_int_equal(symlink("../../outside", link), 0);
	g_autoptr(CtrConfig) c = config();
	expect_error(root2, c, "evil", BERTH_ERROR_INVALID_ARGUMENT, "evil");
	/* Nor by its absolute host path. */
	assert_int_equal(unlink(link), 0);
	assert_int_equal(symlink(outside, link), 0);
	expect_error(root2, c, "evil", BERTH_ERROR_INVALID_ARGUMENT, "evil");
	/* An absolute link means the rootfs's own file. */
	g_autofree char *real = g_build_filename(etc2, "real-passwd", NULL);
	write_file(real, "inside:x:7:8::/:/bin/sh\n");
	assert_int_equal(unlink(link), 0);
	assert_int_equal(symlink("/etc/real-passwd", link), 0);
	expect(root2, c, "inside", 7, 8, "8");
	/* A link to itself is the image's fault. */
	assert_int_equal(unlink(link), 0);
	assert_int_equal(symlink("/etc/passwd", link), 0);
	expect_error(root2, c, "root", BERTH_ERROR_INVALID_ARGUMENT,
		     "symbolic links");
}

static void test_read_limits(void **state)
{
	Fx *f = *state;
	g_autoptr(GError) err = NULL;
	char *text =
		ctr_user_read_rootfs_file(f->rootfs, "etc/passwd", 10, &err);
	assert_null(text);
	assert_int_equal(err->code, BERTH_ERROR_INVALID_ARGUMENT);
	g_clear_error(&err);
	text = ctr_user_read_rootfs_file(f->rootfs, "etc/missing", 100, &err);
	assert_null(text);
	assert_int_equal(err->code, BERTH_ERROR_NOT_FOUND);
	g_clear_error(&err);
	/* A FIFO neither blocks nor is read. */
	g_autofree char *fifo = g_build_filename(f->rootfs, "etc/fifo", NULL);
	assert_int_equal(mkfifo(fifo, 0644), 0);
	text = ctr_user_read_rootfs_file(f->rootfs, "etc/fifo", 100, &err);
	assert_null(text);
	assert_int_equal(err->code, BERTH_ERROR_INVALID_ARGUMENT);
	g_clear_error(&err);
	text = ctr_user_read_rootfs_file(f->rootfs, "etc", 100, &err);
	assert_null(text);
	g_clear_error(&err);
	text = ctr_user_read_rootfs_file(f->rootfs, "etc/group", 4096, &err);
	assert_string_equal(text, group);
	g_free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_passwd_parsing),
		cmocka_unit_test(test_group_parsing),
		cmocka_unit_test_setup_teardown(test_image_user_forms, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_run_as_user, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_run_as_username, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_run_as_group_alone, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_supplemental_groups, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_home, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_etc, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_stays_inside,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_limits, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
