/* image/rootfs.c: overlay mounts over the shared checkout, which no
 * container write may reach, and the checkout's reference count across
 * unmounts, image removal and a store restart. Needs root and overlayfs;
 * skipped without them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <signal.h>

#include "tests/unit/store-helpers.h"
#include "util/log.h"

typedef struct {
	char *dir;
	ImageStore *store;
	char *id;
} Fixture;

static const TarEntry entries[] = {
	{'d', "./", 0755},
	{'d', "etc", 0755},
	{'f', "etc/motd", 0644, "pristine\n"},
	{'f', "etc/doomed", 0644, "delete me\n"},
	{'f', "bin-setuid", 04755, "#!/bin/sh\n"},
};

static void open_store(Fixture *f)
{
	g_autoptr(GError) err = NULL;
	g_autofree char *storage = g_build_filename(f->dir, "storage", NULL);
	f->store = image_store_open(storage, &err);
	g_assert_no_error(err);
}

static int setup(void **state)
{
	Fixture *f = g_new0(Fixture, 1);
	f->dir = scratch_dir();
	open_store(f);
	TestLayer l = test_layer(entries, G_N_ELEMENTS(entries), TAR_GZIP);
	import_ok(f->store, &l);
	char *ids[] = {l.diff_id, NULL};
	commit_ok(f->store, "rootfs", "docker.io/library/rootfs:1", ids,
		  &f->id);
	test_layer_clear(&l);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	Fixture *f = *state;
	image_store_free(f->store);
	scratch_remove(f->dir);
	g_free(f->id);
	g_free(f);
	return 0;
}

static char *container_dir(Fixture *f, const char *name)
{
	return g_build_filename(f->dir, "containers", name, NULL);
}

static char *mount_ok(Fixture *f, const char *name)
{
	g_autofree char *dir = container_dir(f, name);
	g_autoptr(GError) err = NULL;
	char *rootfs = NULL;
	if (!image_rootfs_mount(f->store, f->id, dir, -1, &rootfs, &err))
		fail_msg("mount %s: %s", name, err->message);
	return rootfs;
}

static void unmount_ok(Fixture *f, const char *name)
{
	g_autofree char *dir = container_dir(f, name);
	g_autoptr(GError) err = NULL;
	if (!image_rootfs_unmount(f->store, f->id, dir, &err))
		fail_msg("unmount %s: %s", name, err->message);
}

static guint checkout_users(Fixture *f)
{
	g_mutex_lock(&f->store->checkouts_mu);
	StoreCheckout *c = g_hash_table_lookup(f->store->checkouts, f->id + 7);
	guint n = c != NULL ? c->users : 0;
	g_mutex_unlock(&f->store->checkouts_mu);
	return n;
}

static char *checkout_dir(Fixture *f)
{
	return g_build_filename(f->store->checkouts_dir, f->id + 7, NULL);
}

static void assert_pristine(const char *root)
{
	g_autofree char *motd = read_text(root, "etc/motd");
	assert_string_equal(motd, "pristine\n");
	assert_true(exists_at(root, "etc/doomed"));
	assert_false(exists_at(root, "new.txt"));
}

static void write_into(const char *root)
{
	g_autofree char *motd = g_build_filename(root, "etc/motd", NULL);
	g_autofree char *doomed = g_build_filename(root, "etc/doomed", NULL);
	g_autofree char *fresh = g_build_filename(root, "new.txt", NULL);
	g_autofree char *suid = g_build_filename(root, "bin-setuid", NULL);
	assert_true(g_file_set_contents(motd, "changed\n", -1, NULL));
	assert_int_equal(unlink(doomed), 0);
	assert_true(g_file_set_contents(fresh, "new\n", -1, NULL));
	assert_int_equal(chmod(suid, 0700), 0);
}

static void test_overlay_pristine(void **state)
{
	Fixture *f = *state;
	g_autofree char *root1 = mount_ok(f, "c1");
	assert_pristine(root1);
	struct stat st;
	assert_true(lstat_at(root1, "", &st));
	assert_int_equal(st.st_mode & 07777, 0755);
	assert_true(lstat_at(root1, "bin-setuid", &st));
	assert_int_equal(st.st_mode & 07777, 04755);
	write_into(root1);
	g_autofree char *motd = read_text(root1, "etc/motd");
	assert_string_equal(motd, "changed\n");
	/* the shared checkout did not see any of it */
	g_autofree char *lower = checkout_dir(f);
	assert_pristine(lower);
	assert_true(lstat_at(lower, "bin-setuid", &st));
	assert_int_equal(st.st_mode & 07777, 04755);
	/* mounting again is idempotent, with one reference */
	g_autofree char *same = mount_ok(f, "c1");
	assert_string_equal(same, root1);
	assert_int_equal(checkout_users(f), 1);

	unmount_ok(f, "c1");
	assert_false(exists_at(root1, "etc/motd"));
	assert_int_equal(checkout_users(f), 0);
	unmount_ok(f, "c1"); /* not mounted: fine */
	g_autofree char *root2 = mount_ok(f, "c2");
	assert_pristine(root2);
	assert_int_equal(checkout_users(f), 1);
	unmount_ok(f, "c2");
	assert_true(image_store_remove(f->store, f->id, NULL));
	assert_false(g_file_test(lower, G_FILE_TEST_EXISTS));
}

static void test_remove_while_mounted(void **state)
{
	Fixture *f = *state;
	g_autofree char *root = mount_ok(f, "c1");
	g_autofree char *lower = checkout_dir(f);
	assert_true(image_store_remove(f->store, f->id, NULL));
	assert_null(image_store_lookup(f->store, f->id, NULL));
	/* the container keeps running on the checkout */
	assert_true(g_file_test(lower, G_FILE_TEST_IS_DIR));
	assert_pristine(root);
	unmount_ok(f, "c1");
	assert_false(g_file_test(lower, G_FILE_TEST_EXISTS));
	g_autofree char *dir = container_dir(f, "c2");
	g_autoptr(GError) err = NULL;
	char *none = NULL;
	assert_false(image_rootfs_mount(f->store, f->id, dir, -1, &none, &err));
	assert_null(none);
}

static void reopen(Fixture *f)
{
	image_store_free(f->store);
	open_store(f);
}

static void test_restart(void **state)
{
	Fixture *f = *state;
	g_autofree char *root = mount_ok(f, "c1");
	g_autofree char *lower = checkout_dir(f);
	reopen(f);
	assert_int_equal(checkout_users(f), 1);
	unmount_ok(f, "c1");
	assert_int_equal(checkout_users(f), 0);
	assert_true(g_file_test(lower, G_FILE_TEST_IS_DIR));

	/* removed while mounted, then restarted: deleted at the unmount */
	g_autofree char *again = mount_ok(f, "c2");
	assert_true(image_store_remove(f->store, f->id, NULL));
	reopen(f);
	assert_true(g_file_test(lower, G_FILE_TEST_IS_DIR));
	assert_int_equal(checkout_users(f), 1);
	unmount_ok(f, "c2");
	assert_false(g_file_test(lower, G_FILE_TEST_EXISTS));
}

static void test_bad_container_dir(void **state)
{
	Fixture *f = *state;
	const char *bad[] = {"relative/dir", "/a,b", "/a:b", "/a\\b"};
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		char *root = NULL;
		assert_false(image_rootfs_mount(f->store, f->id, bad[i], -1,
						&root, NULL));
	}
	assert_int_equal(checkout_users(f), 0);
}

static gboolean overlay_available(void)
{
	g_autofree char *fs = NULL;
	return g_file_get_contents("/proc/filesystems", &fs, NULL, NULL) &&
	       strstr(fs, "\toverlay\n") != NULL;
}

int main(void)
{
	if (geteuid() != 0 || !overlay_available()) {
		fprintf(stderr, "test_image_rootfs: needs root and overlayfs, "
				"skipped\n");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	berth_log_set_level(BERTH_LOG_WARN);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_overlay_pristine, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_remove_while_mounted,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_container_dir, setup,
						teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
