/* image/volume.c: image volumes are read-only binds of the shared
 * checkout or a sub path of it that no symlink can lead out of, each
 * holding one checkout reference, counted again after a store restart.
 * Needs root; skipped without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <sys/mount.h>

#include "tests/unit/store-helpers.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

typedef struct {
	char *dir;
	char *cdir; /* a container's dir */
	ImageStore *store;
	char *id;
} Fixture;

static const TarEntry entries[] = {
	{'d', "./", 0755},
	{'d', "etc", 0755},
	{'f', "etc/motd", 0644, "in the image\n"},
	{'d', "data", 0755},
	{'f', "data/a.txt", 0644, "a\n"},
	{'l', "data/up", 0, "../../../../../etc"},
	{'l', "data/abs", 0, "/etc/motd"},
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
	f->cdir = g_build_filename(f->dir, "containers", "c1", NULL);
	open_store(f);
	TestLayer l = test_layer(entries, G_N_ELEMENTS(entries), TAR_GZIP);
	import_ok(f->store, &l);
	char *ids[] = {l.diff_id, NULL};
	commit_ok(f->store, "vol", "docker.io/library/vol:1", ids, &f->id);
	test_layer_clear(&l);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	Fixture *f = *state;
	image_store_free(f->store);
	scratch_remove(f->dir);
	g_free(f->cdir);
	g_free(f->id);
	g_free(f);
	return 0;
}

static guint checkout_users(Fixture *f)
{
	g_mutex_lock(&f->store->checkouts_mu);
	StoreCheckout *c = g_hash_table_lookup(f->store->checkouts, f->id + 7);
	guint n = c != NULL ? c->users : 0;
	g_mutex_unlock(&f->store->checkouts_mu);
	return n;
}

static char *mount_ok(Fixture *f, const char *sub, guint index)
{
	g_autoptr(GError) err = NULL;
	char *path = NULL;
	if (!image_volume_mount(f->store, f->id, sub, f->cdir, index, &path,
				&err))
		fail_msg("mount %s: %s", sub, err->message);
	return path;
}

static void unmount_ok(Fixture *f, guint index)
{
	g_autoptr(GError) err = NULL;
	if (!image_volume_unmount(f->store, f->id, f->cdir, index, &err))
		fail_msg("unmount %u: %s", index, err->message);
}

static void test_whole_and_sub_read_only(void **state)
{
	Fixture *f = *state;
	g_autofree char *all = mount_ok(f, "", 0);
	g_autofree char *motd = read_text(all, "etc/motd");
	assert_string_equal(motd, "in the image\n");
	g_autofree char *fresh = g_build_filename(all, "new", NULL);
	assert_int_equal(mkdir(fresh, 0755), -1);
	assert_int_equal(errno, EROFS);
	g_autofree char *sub = mount_ok(f, "data", 1);
	g_autofree char *a = read_text(sub, "a.txt");
	assert_string_equal(a, "a\n");
	/* a file as the sub path: mounted on a file */
	g_autofree char *file = mount_ok(f, "data/a.txt", 2);
	assert_true(g_file_test(file, G_FILE_TEST_IS_REGULAR));
	assert_int_equal(checkout_users(f), 3);
	/* mounting again is idempotent */
	g_autofree char *again = mount_ok(f, "data", 1);
	assert_string_equal(again, sub);
	assert_int_equal(checkout_users(f), 3);
	for (guint i = 0; i < 3; i++)
		unmount_ok(f, i);
	assert_int_equal(checkout_users(f), 0);
	unmount_ok(f, 1); /* not mounted: fine, no reference dropped */
	assert_int_equal(checkout_users(f), 0);
	assert_false(g_file_test(sub, G_FILE_TEST_EXISTS));
}

/* Symlinks resolve as if the image were "/": never to the host. */
static void test_symlinks_stay_inside(void **state)
{
	Fixture *f = *state;
	g_autofree char *up = mount_ok(f, "data/up", 0);
	g_autofree char *motd = read_text(up, "motd");
	assert_string_equal(motd, "in the image\n");
	g_autofree char *abs = mount_ok(f, "data/abs", 1);
	g_autofree char *text = NULL;
	assert_true(g_file_get_contents(abs, &text, NULL, NULL));
	assert_string_equal(text, "in the image\n");
	unmount_ok(f, 0);
	unmount_ok(f, 1);
}

static void test_bad_sub_paths(void **state)
{
	Fixture *f = *state;
	const struct {
		const char *sub;
		int code;
	} bad[] = {
		{"../x", BERTH_ERROR_INVALID_ARGUMENT},
		{"data/../../x", BERTH_ERROR_INVALID_ARGUMENT},
		{"/etc", BERTH_ERROR_INVALID_ARGUMENT},
		{"missing", BERTH_ERROR_NOT_FOUND},
		{"etc/motd/below", BERTH_ERROR_NOT_FOUND},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++) {
		g_autoptr(GError) err = NULL;
		char *path = NULL;
		assert_false(image_volume_mount(f->store, f->id, bad[i].sub,
						f->cdir, 0, &path, &err));
		assert_null(path);
		assert_true(g_error_matches(err, BERTH_ERROR, bad[i].code));
		assert_non_null(strstr(err->message, bad[i].sub));
	}
	assert_int_equal(checkout_users(f), 0);
}

static void test_restart_counts_volumes(void **state)
{
	Fixture *f = *state;
	g_autofree char *p = mount_ok(f, "data", 0);
	/* A bind that only looks like a volume of this image: not counted. */
	g_autofree char *name = g_strdup_printf("0-%s", f->id + 7);
	g_autofree char *decoy = g_build_filename(
		f->dir, "other", IMAGE_VOLUMES_DIR, name, NULL);
	g_autofree char *plain = g_build_filename(f->dir, "plain", NULL);
	assert_true(berth_mkdir_p(decoy, 0755, NULL));
	assert_true(berth_mkdir_p(plain, 0755, NULL));
	assert_int_equal(mount(plain, decoy, NULL, MS_BIND, NULL), 0);
	image_store_free(f->store);
	open_store(f);
	assert_int_equal(umount2(decoy, MNT_DETACH), 0);
	assert_int_equal(checkout_users(f), 1);
	/* removed while mounted: the checkout goes at the unmount */
	assert_true(image_store_remove(f->store, f->id, NULL));
	g_autofree char *lower =
		g_build_filename(f->store->checkouts_dir, f->id + 7, NULL);
	assert_true(g_file_test(lower, G_FILE_TEST_IS_DIR));
	unmount_ok(f, 0);
	assert_false(g_file_test(lower, G_FILE_TEST_EXISTS));
}

static void test_hex_of(void **state)
{
	(void)state;
	const char *hex = "0123456789abcdef0123456789abcdef"
			  "0123456789abcdef0123456789abcdef";
	g_autofree char *ok =
		g_strconcat("/r/c/1/image-volumes/12-", hex, NULL);
	assert_string_equal(image_volume_hex_of(ok), hex);
	g_autofree char *no_index =
		g_strconcat("/r/c/1/image-volumes/-", hex, NULL);
	assert_null(image_volume_hex_of(no_index));
	g_autofree char *other = g_strconcat("/r/c/1/volumes/0-", hex, NULL);
	assert_null(image_volume_hex_of(other));
	assert_null(image_volume_hex_of("/r/c/1/image-volumes/0-abc"));
}

int main(void)
{
	if (geteuid() != 0) {
		fprintf(stderr, "test_image_volume: needs root, skipped\n");
		return 0;
	}
	signal(SIGPIPE, SIG_IGN);
	berth_log_set_level(BERTH_LOG_WARN);
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_whole_and_sub_read_only), T(test_symlinks_stay_inside),
		T(test_bad_sub_paths),		 T(test_restart_counts_volumes),
		cmocka_unit_test(test_hex_of),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
