/* berth-conmon's command line. Every path must be absolute (the monitor
 * runs in its socket dir):
 *
 *   berth-conmon --id ID --bundle DIR --runtime PATH --runtime-root DIR
 *       --log-path FILE --exit-dir DIR --socket-dir DIR --sync-fd N
 *       [--terminal] [--stdin] [--log-max-line BYTES] [--cgroup DIR]
 *       [--timeout SECONDS] [--start] [--delete] [--runtime-arg ARG]...
 *
 * --delete has the monitor run `<runtime> delete --force` once the exit
 * file is written, and mark the socket dir with CONMON_DELETED_FILE when it
 * succeeds: berthd's RemoveContainer then makes no runtime call.
 * --start has the runtime create and start the container in one call
 * (`run --detach`) instead of only creating it (`create`).
 * --cgroup is the container's memory cgroup directory, for OOM kills; by
 * default it is found from /proc/<pid>/cgroup once the container exists.
 * --timeout bounds the runtime's create (or run). --runtime-arg adds a global
 * option of the runtime, before its command (e.g. --systemd-cgroup).
 *
 * Exec mode, one process run in a running container (conmon/exec.h):
 *
 *   berth-conmon --exec --id CTR --runtime PATH --runtime-root DIR
 *       --socket-dir DIR --attach-fd N [--terminal] [--stdin]
 *       [--timeout SECONDS] [--runtime-arg ARG]...
 *       (--process FILE | -- ARG...)
 *
 * --attach-fd is the monitor's end of a SOCK_SEQPACKET socketpair;
 * --process a process.json for `runtime exec --process` (its "terminal"
 * must match --terminal); --socket-dir holds the runtime's pid file, log
 * and console socket while it runs (names unique per monitor).
 *
 * The container monitor lives exactly as long as its container: SIGTERM, SIGINT
 * and SIGHUP are ignored (kill the container instead); after SIGKILL the
 * container runs on without a monitor and no exit file is written. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#define CONMON_MAX_RUNTIME_ARGS 16

typedef struct {
	const char *id;
	const char *bundle;
	const char *runtime;
	const char *runtime_root;
	const char *log_path;
	const char *exit_dir;
	const char *socket_dir;
	const char *cgroup;
	bool terminal;
	bool stdin_open;
	bool start;
	bool delete_on_exit;
	size_t log_max_line;
	unsigned timeout_s;
	int sync_fd;
	const char *runtime_args[CONMON_MAX_RUNTIME_ARGS];
	size_t n_runtime_args;
	/* Exec mode. */
	bool exec;
	int attach_fd;
	const char *process_file;
	char **exec_argv; /* NULL-ended, inside the argv given */
	size_t n_exec_argv;
} ConmonConfig;

/* Fill cfg from argv. On failure returns -1 with a message in why; the
 * sync fd, if it was given, is in cfg->sync_fd even then. Returns 1 for
 * --help or --version (printed on stdout). */
int conmon_args_parse(int argc, char **argv, ConmonConfig *cfg, char *why,
		      size_t why_len);
