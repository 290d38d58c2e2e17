/* Tests of conmon/args.c: a full command line, defaults, and each way a
 * command line is refused (the sync fd is known even then). */
#include "conmon/args.h"
#include "conmon/protocol.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#define BASE                                                                   \
	"berth-conmon", "--id", "c1", "--bundle", "/b", "--runtime",           \
		"/usr/sbin/runc", "--runtime-root", "/run/runc", "--log-path", \
		"/l/c1.log", "--exit-dir", "/e", "--socket-dir", "/s",         \
		"--sync-fd", "5"

static int parse(char **argv, ConmonConfig *c, char *why)
{
	int argc = 0;
	while (argv[argc] != NULL)
		argc++;
	return conmon_args_parse(argc, argv, c, why, 256);
}

static void test_minimal(void **state)
{
	(void)state;
	char *argv[] = {BASE, NULL};
	ConmonConfig c;
	char why[256];
	assert_int_equal(parse(argv, &c, why), 0);
	assert_string_equal(c.id, "c1");
	assert_string_equal(c.bundle, "/b");
	assert_string_equal(c.runtime, "/usr/sbin/runc");
	assert_string_equal(c.runtime_root, "/run/runc");
	assert_string_equal(c.log_path, "/l/c1.log");
	assert_string_equal(c.exit_dir, "/e");
	assert_string_equal(c.socket_dir, "/s");
	assert_int_equal(c.sync_fd, 5);
	assert_false(c.terminal);
	assert_false(c.stdin_open);
	assert_null(c.cgroup);
	assert_false(c.start);
	assert_false(c.delete_on_exit);
	assert_int_equal(c.log_max_line, CONMON_DEFAULT_LOG_MAX_LINE);
	assert_int_equal(c.timeout_s, CONMON_DEFAULT_TIMEOUT_S);
	assert_int_equal(c.n_runtime_args, 0);
}

static void test_everything(void **state)
{
	(void)state;
	char *argv[] = {BASE,
			"--terminal",
			"--stdin",
			"--log-max-line",
			"100",
			"--cgroup",
			"/sys/fs/cgroup/memory/x",
			"--timeout",
			"7",
			"--runtime-arg",
			"--systemd-cgroup",
			"--runtime-arg=--debug",
			"--start",
			"--delete",
			NULL};
	ConmonConfig c;
	char why[256];
	assert_int_equal(parse(argv, &c, why), 0);
	assert_true(c.start);
	assert_true(c.delete_on_exit);
	assert_true(c.terminal);
	assert_true(c.stdin_open);
	assert_int_equal(c.log_max_line, 100);
	assert_string_equal(c.cgroup, "/sys/fs/cgroup/memory/x");
	assert_int_equal(c.timeout_s, 7);
	assert_int_equal(c.n_runtime_args, 2);
	assert_string_equal(c.runtime_args[0], "--systemd-cgroup");
	assert_string_equal(c.runtime_args[1], "--debug");
}

static void expect_refused(char **argv, const char *why_part)
{
	ConmonConfig c;
	char why[256] = "";
	assert_int_equal(parse(argv, &c, why), -1);
	if (strstr(why, why_part) == NULL)
		fail_msg("\"%s\" does not mention \"%s\"", why, why_part);
}

static void test_refused(void **state)
{
	(void)state;
	char *missing[] = {"berth-conmon", "--id", "c1", NULL};
	expect_refused(missing, "missing: --bundle");
	char *relative[] = {BASE, "--bundle", "b", NULL};
	expect_refused(relative, "not an absolute path: b");
	char *bad_id[] = {BASE, "--id", "../x", NULL};
	expect_refused(bad_id, "--id");
	char *hidden_id[] = {BASE, "--id", ".x", NULL};
	expect_refused(hidden_id, "--id");
	char *zero_max[] = {BASE, "--log-max-line", "0", NULL};
	expect_refused(zero_max, "--log-max-line");
	char *bad_timeout[] = {BASE, "--timeout", "1x", NULL};
	expect_refused(bad_timeout, "--timeout");
	char *low_fd[] = {BASE, "--sync-fd", "2", NULL};
	expect_refused(low_fd, "--sync-fd");
	char *unknown[] = {BASE, "--frobnicate", NULL};
	expect_refused(unknown, "bad option: --frobnicate");
	char *extra[] = {BASE, "surplus", NULL};
	expect_refused(extra, "unexpected argument: surplus");
	char *cg[] = {BASE, "--cgroup", "memory/x", NULL};
	expect_refused(cg, "not an absolute path: memory/x");
}

static void test_sync_fd_known_on_error(void **state)
{
	(void)state;
	char *argv[] = {"berth-conmon", "--sync-fd", "9", "--id", "c1", NULL};
	ConmonConfig c;
	char why[256];
	assert_int_equal(parse(argv, &c, why), -1);
	assert_int_equal(c.sync_fd, 9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_minimal),
		cmocka_unit_test(test_everything),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_sync_fd_known_on_error),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
