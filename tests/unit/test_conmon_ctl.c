/* Tests of conmon/ctl.c's command parser: the three commands, newlines,
 * bounds, and everything else refused with a reason. */
#include "conmon/ctl.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

static int parse(const char *msg, ConmonCtlCommand *cmd, char *why)
{
	return conmon_ctl_parse(msg, strlen(msg), cmd, why, 128);
}

static void test_resize(void **state)
{
	(void)state;
	ConmonCtlCommand cmd;
	char why[128];
	assert_int_equal(parse("resize 24 80", &cmd, why), 0);
	assert_int_equal(cmd.kind, CONMON_CTL_RESIZE);
	assert_int_equal(cmd.rows, 24);
	assert_int_equal(cmd.cols, 80);
	assert_int_equal(parse("resize 65535 0\n", &cmd, why), 0);
	assert_int_equal(cmd.rows, 65535);
	assert_int_equal(cmd.cols, 0);
	assert_int_equal(parse("resize  33   101\r\n", &cmd, why), 0);
	assert_int_equal(cmd.rows, 33);
	assert_int_equal(cmd.cols, 101);
}

static void test_reopen(void **state)
{
	(void)state;
	ConmonCtlCommand cmd;
	char why[128];
	assert_int_equal(parse("reopen", &cmd, why), 0);
	assert_int_equal(cmd.kind, CONMON_CTL_REOPEN);
	assert_int_equal(parse("reopen\n", &cmd, why), 0);
	assert_int_equal(cmd.kind, CONMON_CTL_REOPEN);
}

static void test_pid(void **state)
{
	(void)state;
	ConmonCtlCommand cmd;
	char why[128];
	assert_int_equal(parse("pid", &cmd, why), 0);
	assert_int_equal(cmd.kind, CONMON_CTL_PID);
	assert_int_equal(parse("pid\n", &cmd, why), 0);
	assert_int_equal(cmd.kind, CONMON_CTL_PID);
}

static void test_kill(void **state)
{
	(void)state;
	ConmonCtlCommand cmd;
	char why[128];
	assert_int_equal(parse("kill 15", &cmd, why), 0);
	assert_int_equal(cmd.kind, CONMON_CTL_KILL);
	assert_int_equal(cmd.signo, 15);
	assert_int_equal(parse("kill 9\n", &cmd, why), 0);
	assert_int_equal(cmd.signo, 9);
	assert_int_equal(parse("kill 1", &cmd, why), 0);
	assert_int_equal(cmd.signo, 1);
	char top[32];
	snprintf(top, sizeof top, "kill %d", SIGRTMAX);
	assert_int_equal(parse(top, &cmd, why), 0);
	assert_int_equal(cmd.signo, SIGRTMAX);
	snprintf(top, sizeof top, "kill %d", SIGRTMAX + 1);
	assert_int_equal(parse(top, &cmd, why), -1);
}

static void test_refused(void **state)
{
	(void)state;
	const char *bad[] = {"",
			     "\n",
			     "resize",
			     "resize 24",
			     "resize 24 80 1",
			     "resize -1 80",
			     "resize 24 x",
			     "resize 65536 1",
			     "reopen now",
			     "REOPEN",
			     "kill",
			     "kill 0",
			     "kill 09",
			     "kill -9",
			     "kill 9 9",
			     "kill TERM",
			     "pid 1",
			     "PID",
			     "kill 99999999999999999999",
			     "resize 24 8O"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		ConmonCtlCommand cmd;
		char why[128] = "";
		assert_int_equal(parse(bad[i], &cmd, why), -1);
		assert_non_null(strstr(why, "command"));
	}
	ConmonCtlCommand cmd;
	char why[128] = "";
	assert_int_equal(parse("kill 0", &cmd, why), -1);
	assert_string_equal(why, "unknown command \"kill 0\"");
}

static void test_malformed(void **state)
{
	(void)state;
	ConmonCtlCommand cmd;
	char why[128];
	char big[400];
	memset(big, 'a', sizeof big);
	assert_int_equal(conmon_ctl_parse(big, sizeof big, &cmd, why, 128), -1);
	assert_string_equal(why, "malformed command");
	assert_int_equal(conmon_ctl_parse("reopen\0x", 8, &cmd, why, 128), -1);
	assert_string_equal(why, "malformed command");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_resize),
		cmocka_unit_test(test_reopen),
		cmocka_unit_test(test_pid),
		cmocka_unit_test(test_kill),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
