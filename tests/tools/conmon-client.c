/* conmon-client: drive conmon/client.c the way berthd will, for the
 * integration tests. Each command prints one JSON object on stdout (or
 * {"error": {code, message}} and exits 1); attach relays instead.
 *
 *   conmon-client start [--terminal] [--stdin] [--log-max-line N]
 *       [--cgroup DIR] [--timeout-ms N] [--start] [--runtime-arg ARG]...
 *       CONMON RUNTIME RUNTIME_ROOT ID BUNDLE LOG EXIT_DIR SOCKET_DIR
 *   conmon-client reopen SOCKET_DIR
 *   conmon-client resize SOCKET_DIR ROWS COLS
 *   conmon-client exit EXIT_DIR ID
 *   conmon-client monitor SOCKET_DIR
 *   conmon-client pid SOCKET_DIR       the container's, from its monitor
 *   conmon-client attach SOCKET_DIR    frames to stdout/stderr, stdin to
 *                                      the container, EOF closes its stdin
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

static int print_json(json_t *j)
{
	char *text = json_dumps(j, JSON_COMPACT);
	printf("%s\n", text);
	free(text);
	json_decref(j);
	return 0;
}

static int print_error(GError *error)
{
	print_json(json_pack("{s:{s:i, s:s}}", "error", "code",
			     berth_error_code(error), "message",
			     error->message));
	g_error_free(error);
	return 1;
}

static int cmd_start(int argc, char **argv)
{
	static const struct option opts[] = {
		{"terminal", no_argument, NULL, 't'},
		{"stdin", no_argument, NULL, 'i'},
		{"log-max-line", required_argument, NULL, 'm'},
		{"cgroup", required_argument, NULL, 'c'},
		{"timeout-ms", required_argument, NULL, 'T'},
		{"runtime-arg", required_argument, NULL, 'a'},
		{"start", no_argument, NULL, 's'},
		{NULL, 0, NULL, 0}};
	ConmonOptions o = {0};
	g_autoptr(GPtrArray) rargs = g_ptr_array_new();
	int c;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c == 't')
			o.terminal = TRUE;
		else if (c == 'i')
			o.stdin_open = TRUE;
		else if (c == 'm')
			o.log_max_line = strtoul(optarg, NULL, 10);
		else if (c == 'c')
			o.cgroup = optarg;
		else if (c == 'T')
			o.timeout_ms = strtoul(optarg, NULL, 10);
		else if (c == 'a')
			g_ptr_array_add(rargs, optarg);
		else if (c == 's')
			o.start = TRUE;
		else
			return 2;
	}
	if (argc - optind != 8)
		return 2;
	g_ptr_array_add(rargs, NULL);
	char **a = argv + optind;
	o.conmon_path = a[0];
	o.runtime_path = a[1];
	o.runtime_root = a[2];
	o.id = a[3];
	o.bundle = a[4];
	o.log_path = a[5];
	o.exit_dir = a[6];
	o.socket_dir = a[7];
	o.runtime_args = (const char *const *)rargs->pdata;
	int pid = 0;
	GError *error = NULL;
	if (!conmon_start(&o, &pid, &error))
		return print_error(error);
	return print_json(json_pack("{s:i}", "pid", pid));
}

static int cmd_simple(const char *cmd, char **a, int n)
{
	GError *error = NULL;
	ConmonExit e;
	int pid = 0;
	if (strcmp(cmd, "reopen") == 0 && n == 1) {
		if (!conmon_reopen_log(a[0], &error))
			return print_error(error);
		return print_json(json_pack("{s:b}", "ok", 1));
	}
	if (strcmp(cmd, "resize") == 0 && n == 3) {
		if (!conmon_resize(a[0], atoi(a[1]), atoi(a[2]), &error))
			return print_error(error);
		return print_json(json_pack("{s:b}", "ok", 1));
	}
	if (strcmp(cmd, "exit") == 0 && n == 2) {
		if (!conmon_read_exit(a[0], a[1], &e, &error))
			return print_error(error);
		return print_json(json_pack(
			"{s:i, s:i, s:b, s:I}", "exit_code", e.exit_code,
			"signal", e.signal, "oom_killed", e.oom_killed,
			"finished_at", (json_int_t)e.finished_at));
	}
	if (strcmp(cmd, "pid") == 0 && n == 1) {
		if (!conmon_container_pid(a[0], 10000, &pid, &error))
			return print_error(error);
		return print_json(json_pack("{s:i}", "pid", pid));
	}
	if (strcmp(cmd, "monitor") == 0 && n == 1) {
		if (!conmon_monitor_pid(a[0], &pid, &error))
			return print_error(error);
		return print_json(json_pack("{s:i}", "pid", pid));
	}
	return 2;
}

/* Our stdin to the container until EOF (then CLOSE_STDIN); frames to our
 * stdout/stderr until the monitor closes the connection. */
static int cmd_attach(const char *socket_dir)
{
	GError *error = NULL;
	autofd fd = conmon_attach_connect(socket_dir, &error);
	if (fd < 0)
		return print_error(error);
	static char buf[CONMON_ATTACH_MAX_PAYLOAD];
	gboolean in_open = TRUE;
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
				return print_error(error);
			in_open = n > 0;
		}
		if (!p[0].revents)
			continue;
		int type;
		gssize n = conmon_attach_recv(fd, &type, buf, &error);
		if (n < 0)
			return print_error(error);
		if (type < 0)
			return 0;
		FILE *out = type == CONMON_FRAME_STDERR ? stderr : stdout;
		fwrite(buf, 1, n, out);
		fflush(out);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: conmon-client start|reopen|resize|exit|"
				"monitor|attach ...\n");
		return 2;
	}
	if (strcmp(argv[1], "start") == 0)
		return cmd_start(argc - 1, argv + 1);
	if (strcmp(argv[1], "attach") == 0 && argc == 3)
		return cmd_attach(argv[2]);
	int r = cmd_simple(argv[1], argv + 2, argc - 2);
	if (r == 2)
		fprintf(stderr, "conmon-client: bad arguments\n");
	return r;
}
