/* Tests of conmon/util.c: JSON strings (escapes, invalid UTF-8,
 * truncation that stays valid JSON) and atomic file writes. */
#include "conmon/util.h"
#include "util/fs.h"

#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

static const char *json(const char *s, size_t cap)
{
	static char out[512];
	size_t pos = 0;
	conmon_json_string(out, cap, &pos, s);
	assert_int_equal(pos, strlen(out));
	return out;
}

static void test_json_string(void **state)
{
	(void)state;
	assert_string_equal(json("plain", 512), "\"plain\"");
	assert_string_equal(json("q\"b\\n\nt\tc\x01", 512),
			    "\"q\\\"b\\\\n\\nt\\tc\\u0001\"");
	assert_string_equal(json("\xc3\xa9 ok \xff bad \xc3", 512),
			    "\"\xc3\xa9 ok ? bad ?\"");
	assert_string_equal(json("abcdef", 6), "\"abc\"");
	/* An escape that does not fit is left out whole. */
	assert_string_equal(json("ab\"", 6), "\"ab\"");
}

static void test_json_string_parses(void **state)
{
	(void)state;
	char text[256] = "{\"error\": ";
	size_t pos = strlen(text);
	conmon_json_string(text, sizeof text - 2, &pos,
			   "bad \xfe\xfe \"quoted\" \x7f\n");
	strcpy(text + pos, "}");
	json_error_t err;
	json_t *j = json_loads(text, 0, &err);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "error")),
			    "bad ?? \"quoted\" \x7f\n");
	json_decref(j);
}

/* Both writers: the new contents with the mode asked for (less the
 * umask), nothing else left in the dir, -ENOENT for a missing dir. */
static void check_writer(int (*write)(const char *, const char *, size_t,
				      mode_t))
{
	g_autofree char *dir = g_dir_make_tmp("berth-test-cutil-XXXXXX", NULL);
	g_autofree char *path = g_build_filename(dir, "f", NULL);
	assert_int_equal(write(path, "one", 3, 0640), 0);
	assert_int_equal(write(path, "two!", 4, 0640), 0);
	char buf[16];
	assert_int_equal(conmon_read_small_file(path, buf, sizeof buf), 4);
	assert_string_equal(buf, "two!");
	struct stat st;
	mode_t mask = umask(0);
	umask(mask);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640 & ~mask);
	GDir *d = g_dir_open(dir, 0, NULL);
	assert_string_equal(g_dir_read_name(d), "f");
	assert_null(g_dir_read_name(d));
	g_dir_close(d);
	g_autofree char *missing = g_build_filename(dir, "no", "f", NULL);
	assert_int_equal(write(missing, "x", 1, 0644), -ENOENT);
	berth_rm_rf(dir, NULL);
}

static void test_write_file_atomic(void **state)
{
	(void)state;
	check_writer(conmon_write_file_atomic);
}

static void test_replace_file(void **state)
{
	(void)state;
	check_writer(conmon_replace_file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_json_string),
		cmocka_unit_test(test_json_string_parses),
		cmocka_unit_test(test_write_file_atomic),
		cmocka_unit_test(test_replace_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
