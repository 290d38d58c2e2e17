/* Parsing and checking berth-conmon's arguments. */
#include "conmon/args.h"
#include "conmon/protocol.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum {
	OPT_ID = 1000,
	OPT_BUNDLE,
	OPT_RUNTIME,
	OPT_RUNTIME_ROOT,
	OPT_LOG_PATH,
	OPT_EXIT_DIR,
	OPT_SOCKET_DIR,
	OPT_CGROUP,
	OPT_TERMINAL,
	OPT_STDIN,
	OPT_LOG_MAX_LINE,
	OPT_TIMEOUT,
	OPT_SYNC_FD,
	OPT_RUNTIME_ARG,
	OPT_HELP,
	OPT_VERSION,
	OPT_EXEC,
	OPT_ATTACH_FD,
	OPT_PROCESS,
	OPT_START,
	OPT_DELETE,
};

static const struct option options[] = {
	{"id", required_argument, NULL, OPT_ID},
	{"bundle", required_argument, NULL, OPT_BUNDLE},
	{"runtime", required_argument, NULL, OPT_RUNTIME},
	{"runtime-root", required_argument, NULL, OPT_RUNTIME_ROOT},
	{"log-path", required_argument, NULL, OPT_LOG_PATH},
	{"exit-dir", required_argument, NULL, OPT_EXIT_DIR},
	{"socket-dir", required_argument, NULL, OPT_SOCKET_DIR},
	{"cgroup", required_argument, NULL, OPT_CGROUP},
	{"terminal", no_argument, NULL, OPT_TERMINAL},
	{"stdin", no_argument, NULL, OPT_STDIN},
	{"log-max-line", required_argument, NULL, OPT_LOG_MAX_LINE},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"sync-fd", required_argument, NULL, OPT_SYNC_FD},
	{"runtime-arg", required_argument, NULL, OPT_RUNTIME_ARG},
	{"exec", no_argument, NULL, OPT_EXEC},
	{"attach-fd", required_argument, NULL, OPT_ATTACH_FD},
	{"process", required_argument, NULL, OPT_PROCESS},
	{"start", no_argument, NULL, OPT_START},
	{"delete", no_argument, NULL, OPT_DELETE},
	{"help", no_argument, NULL, OPT_HELP},
	{"version", no_argument, NULL, OPT_VERSION},
	{NULL, 0, NULL, 0},
};

static const char usage[] =
	"usage: berth-conmon --id ID --bundle DIR --runtime PATH "
	"--runtime-root DIR\n"
	"         --log-path FILE --exit-dir DIR --socket-dir DIR --sync-fd N\n"
	"         [--terminal] [--stdin] [--log-max-line BYTES] "
	"[--cgroup DIR]\n"
	"         [--timeout SECONDS] [--start] [--delete] [--runtime-arg "
	"ARG]...\n"
	"       berth-conmon --exec --id ID --runtime PATH --runtime-root DIR\n"
	"         --socket-dir DIR --attach-fd N [--terminal] [--stdin]\n"
	"         [--timeout SECONDS] [--runtime-arg ARG]...\n"
	"         (--process FILE | -- ARG...)\n";

static bool parse_ulong(const char *s, unsigned long max, unsigned long *out)
{
	char *end = NULL;
	if (*s < '0' || *s > '9')
		return false;
	unsigned long v = strtoul(s, &end, 10);
	if (*end != '\0' || v > max)
		return false;
	*out = v;
	return true;
}

static int fail(char *why, size_t len, const char *what, const char *value)
{
	snprintf(why, len, "%s%s%s", what, value ? ": " : "",
		 value ? value : "");
	return -1;
}

/* Numbers and the runtime args; NULL if taken, else the bad option. */
static const char *take_value(int opt, const char *arg, ConmonConfig *c)
{
	unsigned long v;
	switch (opt) {
	case OPT_LOG_MAX_LINE:
		if (!parse_ulong(arg, 64ul << 20, &v) || v == 0)
			return "--log-max-line";
		c->log_max_line = v;
		return NULL;
	case OPT_TIMEOUT:
		if (!parse_ulong(arg, 86400, &v) || v == 0)
			return "--timeout";
		c->timeout_s = (unsigned)v;
		return NULL;
	case OPT_SYNC_FD:
		if (!parse_ulong(arg, 1 << 20, &v) || v < 3)
			return "--sync-fd";
		c->sync_fd = (int)v;
		return NULL;
	case OPT_ATTACH_FD:
		if (!parse_ulong(arg, 1 << 20, &v) || v < 3)
			return "--attach-fd";
		c->attach_fd = (int)v;
		return NULL;
	case OPT_RUNTIME_ARG:
		if (c->n_runtime_args >= CONMON_MAX_RUNTIME_ARGS)
			return "--runtime-arg (too many)";
		c->runtime_args[c->n_runtime_args++] = arg;
		return NULL;
	default:
		return "?";
	}
}

static const char **string_slot(int opt, ConmonConfig *c)
{
	switch (opt) {
	case OPT_ID:
		return &c->id;
	case OPT_BUNDLE:
		return &c->bundle;
	case OPT_RUNTIME:
		return &c->runtime;
	case OPT_RUNTIME_ROOT:
		return &c->runtime_root;
	case OPT_LOG_PATH:
		return &c->log_path;
	case OPT_EXIT_DIR:
		return &c->exit_dir;
	case OPT_SOCKET_DIR:
		return &c->socket_dir;
	case OPT_CGROUP:
		return &c->cgroup;
	case OPT_PROCESS:
		return &c->process_file;
	default:
		return NULL;
	}
}

/* The id names the exit file: no slash, and no leading dot (the exits
 * dir's tmp files are hidden names). */
static bool id_ok(const char *id)
{
	return *id != '\0' && *id != '.' && strchr(id, '/') == NULL &&
	       strlen(id) <= 256;
}

static int check_paths(const char *const (*paths)[2], size_t n, char *why,
		       size_t len)
{
	for (size_t i = 0; i < n; i++) {
		if (paths[i][1] == NULL)
			return fail(why, len, "missing", paths[i][0]);
		if (paths[i][1][0] != '/')
			return fail(why, len, "not an absolute path",
				    paths[i][1]);
	}
	return 0;
}

static int check_exec(const ConmonConfig *c, char *why, size_t len)
{
	const char *const paths[][2] = {
		{"--runtime", c->runtime},
		{"--runtime-root", c->runtime_root},
		{"--socket-dir", c->socket_dir},
	};
	if (c->id == NULL || !id_ok(c->id))
		return fail(why, len, "--id missing or not a file name", c->id);
	if (check_paths(paths, sizeof paths / sizeof paths[0], why, len) < 0)
		return -1;
	if (c->attach_fd < 0)
		return fail(why, len, "missing", "--attach-fd");
	if (c->process_file != NULL && c->process_file[0] != '/')
		return fail(why, len, "not an absolute path", c->process_file);
	if ((c->process_file != NULL) == (c->n_exec_argv > 0))
		return fail(why, len, "give either --process or a command",
			    NULL);
	return 0;
}

static int check(const ConmonConfig *c, char *why, size_t len)
{
	const char *const paths[][2] = {
		{"--bundle", c->bundle},
		{"--runtime", c->runtime},
		{"--runtime-root", c->runtime_root},
		{"--log-path", c->log_path},
		{"--exit-dir", c->exit_dir},
		{"--socket-dir", c->socket_dir},
	};
	if (c->id == NULL || !id_ok(c->id))
		return fail(why, len, "--id missing or not a file name", c->id);
	if (check_paths(paths, sizeof paths / sizeof paths[0], why, len) < 0)
		return -1;
	if (c->cgroup != NULL && c->cgroup[0] != '/')
		return fail(why, len, "not an absolute path", c->cgroup);
	if (c->sync_fd < 0)
		return fail(why, len, "missing", "--sync-fd");
	return 0;
}

int conmon_args_parse(int argc, char **argv, ConmonConfig *c, char *why,
		      size_t why_len)
{
	memset(c, 0, sizeof *c);
	c->sync_fd = -1;
	c->attach_fd = -1;
	c->log_max_line = CONMON_DEFAULT_LOG_MAX_LINE;
	c->timeout_s = CONMON_DEFAULT_TIMEOUT_S;
	const char *bad = NULL;
	int opt;
	opterr = 0;
	optind = 1;
	/* "+": options end at the first argument, so that a command's own
	 * options are never taken for ours. */
	while ((opt = getopt_long(argc, argv, "+", options, NULL)) != -1) {
		const char **slot = string_slot(opt, c);
		if (slot != NULL)
			*slot = optarg;
		else if (opt == OPT_TERMINAL)
			c->terminal = true;
		else if (opt == OPT_STDIN)
			c->stdin_open = true;
		else if (opt == OPT_EXEC)
			c->exec = true;
		else if (opt == OPT_START)
			c->start = true;
		else if (opt == OPT_DELETE)
			c->delete_on_exit = true;
		else if (opt == OPT_HELP || opt == OPT_VERSION)
			return printf("%s", opt == OPT_HELP ? usage
							    : BERTH_VERSION
						    "\n") < 0
				       ? -1
				       : 1;
		else if (opt == '?' || opt == ':')
			bad = bad ? bad : argv[optind - 1];
		else if (bad == NULL)
			bad = take_value(opt, optarg, c);
	}
	if (bad != NULL)
		return fail(why, why_len, "bad option", bad);
	if (c->exec && c->start)
		return fail(why, why_len, "--start is not for", "--exec");
	if (c->exec && c->delete_on_exit)
		return fail(why, why_len, "--delete is not for", "--exec");
	if (c->exec) {
		c->exec_argv = argv + optind;
		c->n_exec_argv = (size_t)(argc - optind);
		return check_exec(c, why, why_len);
	}
	if (optind < argc)
		return fail(why, why_len, "unexpected argument", argv[optind]);
	return check(c, why, why_len);
}
