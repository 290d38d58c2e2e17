/* util/fs: the atomic writers leave the new contents, the mode asked for
 * and no tmp file behind, durable or not, and fail on a missing dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <string.h>
#include <sys/stat.h>

#include "util/error.h"
#include "util/fs.h"

typedef gboolean (*Writer)(const char *, const void *, gsize, mode_t,
			   GError **);

static void check_writer(Writer write)
{
	g_autofree char *dir = g_dir_make_tmp("berth-test-fs-XXXXXX", NULL);
	assert_non_null(dir);
	g_autofree char *path = g_build_filename(dir, "f", NULL);
	GError *error = NULL;
	assert_true(write(path, "first", 5, 0600, &error));
	assert_true(write(path, "second", 6, 0640, &error));
	assert_null(error);
	g_autofree char *text = NULL;
	gsize len = 0;
	assert_true(berth_read_file(path, &text, &len, NULL));
	assert_int_equal(len, 6);
	assert_memory_equal(text, "second", 6);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	/* The mode asked for, whatever the umask. */
	assert_int_equal(st.st_mode & 0777, 0640);
	GDir *d = g_dir_open(dir, 0, NULL);
	assert_string_equal(g_dir_read_name(d), "f");
	assert_null(g_dir_read_name(d));
	g_dir_close(d);
	g_autofree char *missing = g_build_filename(dir, "no", "f", NULL);
	assert_false(write(missing, "x", 1, 0600, &error));
	assert_non_null(error);
	assert_non_null(strstr(error->message, missing));
	g_clear_error(&error);
	assert_true(berth_rm_rf(dir, NULL));
}

static void test_write_file_atomic(void **state)
{
	(void)state;
	check_writer(berth_write_file_atomic);
}

static void test_replace_file(void **state)
{
	(void)state;
	check_writer(berth_replace_file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_file_atomic),
		cmocka_unit_test(test_replace_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
