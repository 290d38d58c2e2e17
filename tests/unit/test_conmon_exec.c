/* Tests of exec mode's pure parts: its command line (conmon/args.c), the
 * EXIT frame both ways (conmon/exec.c and conmon/client-exec.c), RESIZE
 * payloads (conmon/attach.c, conmon/client-sock.c) and how a runtime's
 * message becomes a status code. */
#include "conmon/args.h"
#include "conmon/attach.h"
#include "conmon/client.h"
#include "conmon/exec.h"
#include "conmon/protocol.h"
#include "util/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#define EXEC_BASE                                                              \
	"berth-conmon", "--exec", "--id", "c1", "--runtime", "/usr/bin/crun",  \
		"--runtime-root", "/run/crun", "--socket-dir", "/s",           \
		"--attach-fd", "3"

static int parse(char **argv, ConmonConfig *c, char *why)
{
	int argc = 0;
	while (argv[argc] != NULL)
		argc++;
	return conmon_args_parse(argc, argv, c, why, 256);
}

static void test_exec_command(void **state)
{
	(void)state;
	/* The command's own options are not ours. */
	char *argv[] = {EXEC_BASE, "--terminal", "--stdin", "--",
			"ls",	   "-l",	 "--stdin", NULL};
	ConmonConfig c;
	char why[256];
	assert_int_equal(parse(argv, &c, why), 0);
	assert_true(c.exec);
	assert_true(c.terminal);
	assert_true(c.stdin_open);
	assert_int_equal(c.attach_fd, 3);
	assert_int_equal(c.sync_fd, -1);
	assert_null(c.process_file);
	assert_int_equal(c.n_exec_argv, 3);
	assert_string_equal(c.exec_argv[0], "ls");
	assert_string_equal(c.exec_argv[2], "--stdin");
	assert_null(c.exec_argv[3]);
}

static void test_exec_process_file(void **state)
{
	(void)state;
	char *argv[] = {EXEC_BASE, "--process", "/s/p.json", NULL};
	ConmonConfig c;
	char why[256];
	assert_int_equal(parse(argv, &c, why), 0);
	assert_string_equal(c.process_file, "/s/p.json");
	assert_int_equal(c.n_exec_argv, 0);
}

static void refused(char **argv, const char *want)
{
	ConmonConfig c;
	char why[256] = "";
	assert_int_equal(parse(argv, &c, why), -1);
	assert_non_null(strstr(why, want));
}

static void test_exec_refused(void **state)
{
	(void)state;
	char *none[] = {EXEC_BASE, NULL};
	refused(none, "either --process or a command");
	char *both[] = {EXEC_BASE, "--process", "/p.json", "--", "ls", NULL};
	refused(both, "either --process or a command");
	char *relative[] = {EXEC_BASE, "--process", "p.json", NULL};
	refused(relative, "not an absolute path");
	char *start[] = {EXEC_BASE, "--start", "--", "true", NULL};
	refused(start, "--start is not for");
	char *del[] = {EXEC_BASE, "--delete", "--", "true", NULL};
	refused(del, "--delete is not for");
	char *no_fd[] = {"berth-conmon",
			 "--exec",
			 "--id",
			 "c1",
			 "--runtime",
			 "/r",
			 "--runtime-root",
			 "/rr",
			 "--socket-dir",
			 "/s",
			 "--",
			 "true",
			 NULL};
	refused(no_fd, "--attach-fd");
	char *low_fd[] = {EXEC_BASE, "--attach-fd", "2", "--", "true", NULL};
	refused(low_fd, "--attach-fd");
	char *bad_id[] = {"berth-conmon",
			  "--exec",
			  "--id",
			  "a/b",
			  "--runtime",
			  "/r",
			  "--runtime-root",
			  "/rr",
			  "--socket-dir",
			  "/s",
			  "--attach-fd",
			  "3",
			  "--",
			  "true",
			  NULL};
	refused(bad_id, "--id");
}

static void exit_round_trip(int status, int want_code, int want_sig)
{
	char text[64];
	size_t n = conmon_exec_exit_payload(status, text, sizeof text);
	int code = -1, sig = -1;
	assert_true(conmon_parse_exit_frame(text, n, &code, &sig));
	assert_int_equal(code, want_code);
	assert_int_equal(sig, want_sig);
}

static void test_exit_frame(void **state)
{
	(void)state;
	exit_round_trip(0, 0, 0);
	exit_round_trip(1 << 8, 1, 0);
	exit_round_trip(255 << 8, 255, 0);
	exit_round_trip(SIGKILL, 137, 9);
	char text[64];
	size_t n = conmon_exec_exit_payload(3 << 8, text, sizeof text);
	assert_string_equal(text, "{\"exit_code\": 3, \"signal\": 0}");
	assert_int_equal(n, strlen(text));
	int code = 7, sig = 7;
	const char *bad[] = {"",
			     "{}",
			     "[]",
			     "{\"exit_code\": 1}",
			     "{\"exit_code\": \"1\", \"signal\": 0}",
			     "{\"exit_code\": -1, \"signal\": 0}"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_false(conmon_parse_exit_frame(bad[i], strlen(bad[i]),
						     &code, &sig));
	assert_int_equal(code, 7);
}

/* The client's RESIZE frame, read back as the monitor parses it. */
static void test_resize_frame(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv), 0);
	assert_true(conmon_attach_resize(sv[0], 300, 65535, NULL));
	char frame[16];
	ssize_t n = recv(sv[1], frame, sizeof frame, 0);
	assert_int_equal(n, 1 + CONMON_RESIZE_PAYLOAD);
	assert_int_equal(frame[0], CONMON_FRAME_RESIZE);
	unsigned rows = 0, cols = 0;
	assert_int_equal(
		conmon_attach_parse_resize(frame + 1, n - 1, &rows, &cols), 0);
	assert_int_equal(rows, 300);
	assert_int_equal(cols, 65535);
	assert_int_equal(conmon_attach_parse_resize(frame + 1, 3, &rows, &cols),
			 -1);
	GError *error = NULL;
	assert_false(conmon_attach_resize(sv[0], 70000, 1, &error));
	assert_int_equal(berth_error_code(error), BERTH_ERROR_INVALID_ARGUMENT);
	g_error_free(error);
	close(sv[0]);
	close(sv[1]);
}

static void test_error_codes(void **state)
{
	(void)state;
	const char *precondition[] = {
		"exec failed: container does not exist",
		"exec failed: cannot exec in a stopped container",
		"the container `c1` is not running",
		"error opening file `/run/crun/c1/status`: No such file or "
		"directory",
	};
	for (size_t i = 0; i < sizeof precondition / sizeof precondition[0];
	     i++)
		assert_int_equal(conmon_exec_error_code(precondition[i]),
				 BERTH_ERROR_FAILED_PRECONDITION);
	assert_int_equal(
		conmon_exec_error_code("exec failed: unable to start container "
				       "process: exec: \"x\": executable file "
				       "not found in $PATH"),
		BERTH_ERROR_INTERNAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exec_command),
		cmocka_unit_test(test_exec_process_file),
		cmocka_unit_test(test_exec_refused),
		cmocka_unit_test(test_exit_frame),
		cmocka_unit_test(test_resize_frame),
		cmocka_unit_test(test_error_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
