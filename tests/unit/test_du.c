/* Tests of util/du.c: a tree's usage, each hard-linked inode once, and the
 * cache that keeps a figure for a given age. */
#include "util/du.h"
#include "util/fs.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <unistd.h>

#include <cmocka.h>

static void write_file(const char *dir, const char *name, gsize len)
{
	g_autofree char *path = g_build_filename(dir, name, NULL);
	g_autofree char *data = g_malloc0(len);
	assert_true(g_file_set_contents(path, data, (gssize)len, NULL));
}

static void test_usage_counts_links_once(void **state)
{
	(void)state;
	g_autofree char *dir = g_dir_make_tmp("berth-test-du-XXXXXX", NULL);
	write_file(dir, "a", 64 * 1024);
	g_autofree char *a = g_build_filename(dir, "a", NULL);
	g_autofree char *b = g_build_filename(dir, "b", NULL);
	assert_int_equal(link(a, b), 0);
	guint64 bytes = 0, inodes = 0;
	assert_true(berth_disk_usage(dir, &bytes, &inodes, NULL));
	assert_int_equal(inodes, 2); /* the dir and one file */
	assert_true(bytes >= 64 * 1024 && bytes < 3 * 64 * 1024);
	berth_rm_rf(dir, NULL);
}

static void test_cache_keeps_a_figure_for_its_age(void **state)
{
	(void)state;
	g_autofree char *dir = g_dir_make_tmp("berth-test-du-XXXXXX", NULL);
	guint64 b0, i0, b1, i1, b2, i2;
	assert_true(berth_disk_usage_cached(dir, G_USEC_PER_SEC * 60, &b0, &i0,
					    NULL));
	write_file(dir, "grown", 256 * 1024);
	/* Within its age: the same figure, no walk. */
	assert_true(berth_disk_usage_cached(dir, G_USEC_PER_SEC * 60, &b1, &i1,
					    NULL));
	assert_int_equal(b1, b0);
	assert_int_equal(i1, i0);
	/* Past it: walked again. */
	assert_true(berth_disk_usage_cached(dir, 0, &b2, &i2, NULL));
	assert_true(b2 >= b0 + 256 * 1024);
	assert_int_equal(i2, i0 + 1);
	berth_rm_rf(dir, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage_counts_links_once),
		cmocka_unit_test(test_cache_keeps_a_figure_for_its_age),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
