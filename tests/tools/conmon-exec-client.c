/* conmon-exec-client: run one exec session through conmon_exec_start
 * the way berthd's streaming Exec will, for the integration tests.
 *
 *   conmon-exec-client [--terminal] [--stdin] [--timeout-ms N]
 *       [--runtime-arg ARG]... [--process FILE] [--resize ROWS,COLS]
 *       [--report FILE] [--slow-ms N]
 *       CONMON RUNTIME RUNTIME_ROOT ID SOCKET_DIR [-- ARG...]
 *
 * The process's stdout and stderr frames go to our stdout and stderr byte
 * for byte; our stdin (with --stdin) goes to it, EOF as CLOSE_STDIN.
 * --resize sends one RESIZE frame first; --slow-ms sleeps before each
 * frame read (a slow client). --report gets JSON lines: {"pid": N} once
 * started, {"exit_code": N, "signal": S} at the end. A failed start
 * prints {"error": {code, message}} on stdout and exits 125; otherwise
 * the exit code is the process's.
 */
#include "conmon/client.h"
#include "conmon/protocol.h"
#include "util/error.h"
#include "util/fs.h"

#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	ConmonExecOptions o;
	guint rows, cols;
	gboolean resize;
	const char *report;
	guint slow_ms;
} Tool;

static void report_line(const Tool *t, json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	if (t->report != NULL) {
		FILE *f = fopen(t->report, "a");
		if (f != NULL) {
			fprintf(f, "%s\n", text);
			fclose(f);
		}
	}
	free(text);
}

static int fail(GError *error)
{
	json_t *j =
		json_pack("{s:{s:i, s:s}}", "error", "code",
			  berth_error_code(error), "message", error->message);
	char *text = json_dumps(j, JSON_COMPACT);
	printf("%s\n", text);
	free(text);
	json_decref(j);
	g_error_free(error);
	return 125;
}

static int parse(int argc, char **argv, Tool *t, GPtrArray *rargs)
{
	static const struct option opts[] = {
		{"terminal", no_argument, NULL, 't'},
		{"stdin", no_argument, NULL, 'i'},
		{"timeout-ms", required_argument, NULL, 'T'},
		{"runtime-arg", required_argument, NULL, 'a'},
		{"process", required_argument, NULL, 'p'},
		{"resize", required_argument, NULL, 'r'},
		{"report", required_argument, NULL, 'R'},
		{"slow-ms", required_argument, NULL, 's'},
		{NULL, 0, NULL, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c == 't')
			t->o.terminal = TRUE;
		else if (c == 'i')
			t->o.stdin_open = TRUE;
		else if (c == 'T')
			t->o.timeout_ms = strtoul(optarg, NULL, 10);
		else if (c == 'a')
			g_ptr_array_add(rargs, optarg);
		else if (c == 'p')
			t->o.process_file = optarg;
		else if (c == 'r')
			t->resize = sscanf(optarg, "%u,%u", &t->rows,
					   &t->cols) == 2;
		else if (c == 'R')
			t->report = optarg;
		else if (c == 's')
			t->slow_ms = strtoul(optarg, NULL, 10);
		else
			return -1;
	}
	if (argc - optind < 5)
		return -1;
	g_ptr_array_add(rargs, NULL);
	char **a = argv + optind;
	t->o.conmon_path = a[0];
	t->o.runtime_path = a[1];
	t->o.runtime_root = a[2];
	t->o.id = a[3];
	t->o.socket_dir = a[4];
	t->o.runtime_args = (const char *const *)rargs->pdata;
	int rest = 5;
	if (argc - optind > rest && strcmp(a[rest], "--") == 0)
		rest++;
	if (argc - optind > rest)
		t->o.argv = (const char *const *)a + rest;
	return 0;
}

/* One frame from the monitor; FALSE at end of stream. */
static gboolean relay_frame(const Tool *t, int fd, char *buf, int *exit_code)
{
	GError *error = NULL;
	int type, sig = 0;
	gssize n = conmon_attach_recv(fd, &type, buf, &error);
	if (n < 0) {
		fprintf(stderr, "conmon-exec-client: %s\n", error->message);
		g_error_free(error);
		return FALSE;
	}
	if (type < 0)
		return FALSE;
	if (type == CONMON_FRAME_STDOUT || type == CONMON_FRAME_STDERR) {
		FILE *out = type == CONMON_FRAME_STDERR ? stderr : stdout;
		fwrite(buf, 1, n, out);
		fflush(out);
	} else if (type == CONMON_FRAME_EXIT &&
		   conmon_parse_exit_frame(buf, n, exit_code, &sig)) {
		report_line(t, json_pack("{s:i, s:i}", "exit_code", *exit_code,
					 "signal", sig));
	}
	return TRUE;
}

static int session(const Tool *t, int fd)
{
	static char buf[CONMON_ATTACH_MAX_PAYLOAD];
	GError *error = NULL;
	gboolean in_open = t->o.stdin_open;
	int exit_code = 255;
	if (t->resize && !conmon_attach_resize(fd, t->rows, t->cols, &error))
		return fail(error);
	for (;;) {
		struct pollfd p[2] = {{fd, POLLIN, 0},
				      {in_open ? 0 : -1, POLLIN, 0}};
		if (poll(p, 2, -1) < 0)
			continue;
		if (p[1].revents) {
			ssize_t n = read(0, buf, sizeof buf);
			int type = n > 0 ? CONMON_FRAME_STDIN
					 : CONMON_FRAME_CLOSE_STDIN;
			if (!conmon_attach_send(fd, type, buf, n > 0 ? n : 0,
						&error))
				return fail(error);
			in_open = n > 0;
		}
		if (!p[0].revents)
			continue;
		if (t->slow_ms)
			g_usleep(t->slow_ms * 1000);
		if (!relay_frame(t, fd, buf, &exit_code))
			return exit_code;
	}
}

int main(int argc, char **argv)
{
	Tool t = {0};
	g_autoptr(GPtrArray) rargs = g_ptr_array_new();
	if (parse(argc, argv, &t, rargs) < 0) {
		fprintf(stderr,
			"usage: conmon-exec-client [options] CONMON "
			"RUNTIME RUNTIME_ROOT ID SOCKET_DIR [-- ARG...]\n");
		return 2;
	}
	GError *error = NULL;
	int fd = -1, pid = 0;
	if (!conmon_exec_start(&t.o, &fd, &pid, &error))
		return fail(error);
	report_line(&t, json_pack("{s:i}", "pid", pid));
	int r = session(&t, fd);
	close(fd);
	return r;
}
