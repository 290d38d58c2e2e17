/* Tests of conmon/runtime-error.c: which words of a failed create reach
 * berthd (the runtime's JSON log, its stderr, or its exit status). */
#include "conmon/runtime.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static const char *message(const char *log, const char *err, int status)
{
	static char out[512];
	conmon_runtime_error_message(log, err, status, out, sizeof out);
	return out;
}

static void test_runc_json_log(void **state)
{
	(void)state;
	const char *log =
		"{\"level\":\"warning\",\"msg\":\"a warning\",\"time\":\"t\"}\n"
		"{\"level\":\"error\",\"msg\":\"runc create failed: unable to "
		"start container process: exec: \\\"/nope\\\": stat /nope: no "
		"such file or directory\",\"time\":\"2024-01-01T00:00:00Z\"}\n"
		"{\"level\":\"info\",\"msg\":\"bye\"}\n";
	assert_string_equal(message(log, "ignored stderr\n", 1 << 8),
			    "runc create failed: unable to start container "
			    "process: exec: \"/nope\": stat /nope: no such "
			    "file or directory");
}

static void test_crun_json_log(void **state)
{
	(void)state;
	const char *log = "{\"msg\": \"first\\tproblem\", \"level\": "
			  "\"error\", \"time\": \"x\"}\n"
			  "{\"msg\": \"cannot open \\u00e9t\\u00e9\", "
			  "\"level\": \"error\", \"time\": \"x\"}\n";
	assert_string_equal(message(log, "", 1 << 8),
			    "cannot open \xc3\xa9t\xc3\xa9");
}

static void test_fallbacks(void **state)
{
	(void)state;
	assert_string_equal(message("", "line one\nthe reason\n\n", 1 << 8),
			    "the reason");
	assert_string_equal(message("plain text log\n", "", 1 << 8),
			    "plain text log");
	assert_string_equal(
		message("{\"level\":\"info\",\"msg\":\"x\"}\n", "", 2 << 8),
		"{\"level\":\"info\",\"msg\":\"x\"}");
	assert_string_equal(message("", "", 2 << 8),
			    "runtime exited with status 2");
	assert_string_equal(message("", "\n  \n", 9),
			    "runtime killed by signal 9");
}

static void test_truncated(void **state)
{
	(void)state;
	char out[8];
	conmon_runtime_error_message("{\"level\":\"error\",\"msg\":\"long "
				     "message here\"}",
				     "", 256, out, sizeof out);
	assert_string_equal(out, "long me");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_runc_json_log),
		cmocka_unit_test(test_crun_json_log),
		cmocka_unit_test(test_fallbacks),
		cmocka_unit_test(test_truncated),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
