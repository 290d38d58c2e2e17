/* Tests of conmon/exit.c: the OOM counter in v1 and v2 files, finding
 * the container's memory cgroup from /proc/<pid>/cgroup, and the exit
 * file's JSON for exits and signals. */
#include "conmon/exit.h"
#include "util/fs.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/wait.h>

#include <cmocka.h>

static void test_oom_parse(void **state)
{
	(void)state;
	assert_int_equal(conmon_oom_parse("oom_kill_disable 0\nunder_oom 0\n"
					  "oom_kill 3\n"),
			 3);
	assert_int_equal(conmon_oom_parse("low 0\nhigh 0\nmax 12\noom 2\n"
					  "oom_kill 1\noom_group_kill 0\n"),
			 1);
	assert_int_equal(conmon_oom_parse("oom_kill_disable 0\nunder_oom 0\n"),
			 -1);
	assert_int_equal(conmon_oom_parse(""), -1);
}

static void put(const char *dir, const char *rel, const char *text)
{
	g_autofree char *path = g_build_filename(dir, rel, NULL);
	g_autofree char *parent = g_path_get_dirname(path);
	assert_true(berth_mkdir_p(parent, 0755, NULL));
	assert_true(g_file_set_contents(path, text, -1, NULL));
}

static void test_oom_file(void **state)
{
	(void)state;
	g_autofree char *sys = g_dir_make_tmp("berth-test-oom-XXXXXX", NULL);
	char out[1024];
	put(sys, "memory/pods/c1/memory.oom_control", "oom_kill 0\n");
	put(sys, "pods/c2/memory.events", "oom_kill 0\n");
	const char *v1 = "12:pids:/pods/c1\n4:cpu,memory:/pods/c1\n0::/\n";
	assert_int_equal(conmon_oom_file(NULL, v1, sys, out, sizeof out), 0);
	g_autofree char *want1 = g_build_filename(
		sys, "memory/pods/c1/memory.oom_control", NULL);
	assert_string_equal(out, want1);
	const char *v2 = "0::/pods/c2\n";
	assert_int_equal(conmon_oom_file(NULL, v2, sys, out, sizeof out), 0);
	g_autofree char *want2 =
		g_build_filename(sys, "pods/c2/memory.events", NULL);
	assert_string_equal(out, want2);
	/* An explicit --cgroup dir wins. */
	g_autofree char *dir = g_build_filename(sys, "pods/c2", NULL);
	assert_int_equal(conmon_oom_file(dir, v1, sys, out, sizeof out), 0);
	assert_string_equal(out, want2);
	assert_int_equal(
		conmon_oom_file(NULL, "0::/gone\n", sys, out, sizeof out), -1);
	assert_int_equal(conmon_oom_file(NULL, NULL, sys, out, sizeof out), -1);
	berth_rm_rf(sys, NULL);
}

static void test_exit_format(void **state)
{
	(void)state;
	char out[256];
	conmon_exit_format(3 << 8, false, 1700000000123456789LL, out,
			   sizeof out);
	assert_string_equal(out, "{\"exit_code\": 3, \"signal\": 0, "
				 "\"oom_killed\": false, \"finished_at\": "
				 "1700000000123456789}\n");
	conmon_exit_format(9, true, 5, out, sizeof out);
	assert_true(WIFSIGNALED(9));
	assert_string_equal(out, "{\"exit_code\": 137, \"signal\": 9, "
				 "\"oom_killed\": true, \"finished_at\": 5}\n");
	conmon_exit_format(0, false, 1, out, sizeof out);
	assert_string_equal(out,
			    "{\"exit_code\": 0, \"signal\": 0, "
			    "\"oom_killed\": false, \"finished_at\": 1}\n");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_oom_parse),
		cmocka_unit_test(test_oom_file),
		cmocka_unit_test(test_exit_format),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
