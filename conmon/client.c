/* Starting berth-conmon from berthd: posix_spawn with the sync pipe as
 * fd 3, the monitor's diagnostics appended to <socket-dir>/conmon.log,
 * and a bounded wait for its one-line report. */
#include "conmon/client.h"
#include "conmon/client-private.h"
#include "conmon/protocol.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/notify.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/wait.h>

#define SYNC_FD CONMON_PASSED_FD
/* The monitor bounds the runtime itself; this is for the monitor. */
#define REPORT_GRACE_MS 5000
#define DEFAULT_TIMEOUT_MS (CONMON_DEFAULT_TIMEOUT_S * 1000u)

static void add(GPtrArray *argv, const char *a, const char *b)
{
	g_ptr_array_add(argv, g_strdup(a));
	if (b != NULL)
		g_ptr_array_add(argv, g_strdup(b));
}

static GPtrArray *build_argv(const ConmonOptions *o, guint timeout_ms)
{
	GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
	add(argv, o->conmon_path, NULL);
	add(argv, "--id", o->id);
	add(argv, "--bundle", o->bundle);
	add(argv, "--runtime", o->runtime_path);
	add(argv, "--runtime-root", o->runtime_root);
	add(argv, "--log-path", o->log_path);
	add(argv, "--exit-dir", o->exit_dir);
	add(argv, "--socket-dir", o->socket_dir);
	g_ptr_array_add(argv, g_strdup_printf("--sync-fd=%d", SYNC_FD));
	g_ptr_array_add(argv, g_strdup_printf("--timeout=%u",
					      (timeout_ms + 999) / 1000));
	if (o->terminal)
		add(argv, "--terminal", NULL);
	if (o->stdin_open)
		add(argv, "--stdin", NULL);
	if (o->start)
		add(argv, "--start", NULL);
	if (o->delete_on_exit)
		add(argv, "--delete", NULL);
	if (o->log_max_line)
		g_ptr_array_add(argv, g_strdup_printf("--log-max-line=%zu",
						      o->log_max_line));
	if (o->cgroup != NULL)
		add(argv, "--cgroup", o->cgroup);
	for (const char *const *a = o->runtime_args; a && *a; a++)
		g_ptr_array_add(argv, g_strdup_printf("--runtime-arg=%s", *a));
	g_ptr_array_add(argv, NULL);
	return argv;
}

gboolean conmon_spawn_monitor(GPtrArray *argv, int diag_fd, int pass_fd,
			      pid_t *pid, GError **error)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, diag_fd, 2);
	posix_spawn_file_actions_adddup2(&fa, pass_fd, CONMON_PASSED_FD);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF |
						POSIX_SPAWN_SETSID);
	const char *path = g_ptr_array_index(argv, 0);
	int r = posix_spawn(pid, path, &fa, &attr, (char **)argv->pdata,
			    (char **)berth_child_environ());
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r != 0)
		return berth_throw_errno(error, r, "start %s", path);
	return TRUE;
}

/* Read the report line until newline, EOF or the deadline. */
static gboolean read_report(int fd, gint64 deadline, GString *line)
{
	while (strchr(line->str, '\n') == NULL) {
		gint64 left = deadline - g_get_monotonic_time();
		if (left <= 0)
			return FALSE;
		struct pollfd p = {fd, POLLIN, 0};
		int n = poll(&p, 1, (int)(left / 1000) + 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			continue;
		char buf[1024];
		ssize_t got = read(fd, buf, sizeof buf);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		g_string_append_len(line, buf, got);
	}
	return TRUE;
}

char *conmon_diag_tail(const char *socket_dir)
{
	g_autofree char *path =
		g_build_filename(socket_dir, CONMON_DIAG_FILE, NULL);
	g_autofree char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return g_strdup("");
	g_strstrip(text);
	char *last = strrchr(text, '\n');
	return g_strdup(last ? last + 1 : text);
}

static gboolean parse_report(const ConmonOptions *o, const char *line,
			     int *container_pid, GError **error)
{
	json_t *j = json_loads(line, JSON_DISABLE_EOF_CHECK, NULL);
	json_t *pid = json_object_get(j, "pid");
	const char *msg = json_string_value(json_object_get(j, "error"));
	const char *late = json_string_value(json_object_get(j, "timeout"));
	gboolean ok = FALSE;
	if (json_is_integer(pid) && json_integer_value(pid) > 0) {
		*container_pid = (int)json_integer_value(pid);
		ok = TRUE;
	} else if (late != NULL) {
		berth_throw(error, DEADLINE_EXCEEDED, "%s", late);
	} else if (msg != NULL) {
		berth_throw(error, INTERNAL, "%s", msg);
	} else {
		g_autofree char *tail = conmon_diag_tail(o->socket_dir);
		berth_throw(error, INTERNAL,
			    "berth-conmon for %s ended without a report%s%s",
			    o->id, *tail ? ": " : "", tail);
	}
	json_decref(j);
	return ok;
}

/* No report in time: the monitor (known by its pid file) is killed;
 * berthd's rollback deletes what the runtime may have left. */
static void kill_monitor(const char *socket_dir)
{
	int pid = 0;
	if (conmon_monitor_pid(socket_dir, &pid, NULL))
		kill(pid, SIGKILL);
}

int conmon_open_diag(const char *socket_dir, GError **error)
{
	g_autofree char *path =
		g_build_filename(socket_dir, CONMON_DIAG_FILE, NULL);
	int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd < 0)
		berth_throw_errno(error, errno, "open %s", path);
	return fd;
}

gboolean conmon_pass_fd_ready(int *fd, GError **error)
{
	if (*fd != CONMON_PASSED_FD)
		return TRUE;
	int moved = fcntl(*fd, F_DUPFD_CLOEXEC, CONMON_PASSED_FD + 1);
	if (moved < 0)
		return berth_throw_errno(error, errno, "dup");
	close(*fd);
	*fd = moved;
	return TRUE;
}

static gboolean sync_pipe(int fds[2], GError **error)
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return berth_throw_errno(error, errno, "pipe");
	if (!conmon_pass_fd_ready(&fds[1], error)) {
		close(fds[0]);
		close(fds[1]);
		return FALSE;
	}
	return TRUE;
}

gboolean conmon_wait_spawned(pid_t pid, GError **error)
{
	int status = 0;
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return berth_throw_errno(error, errno,
						 "wait for berth-conmon");
	}
	return TRUE;
}

gboolean conmon_start(const ConmonOptions *o, int *container_pid,
		      GError **error)
{
	guint timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	if (!berth_mkdir_p(o->socket_dir, 0700, error))
		return FALSE;
	autofd diag = conmon_open_diag(o->socket_dir, error);
	if (diag < 0)
		return FALSE;
	int fds[2];
	if (!sync_pipe(fds, error))
		return FALSE;
	autofd sync_r = fds[0];
	autofd sync_w = fds[1];
	g_autoptr(GPtrArray) argv = build_argv(o, timeout_ms);
	pid_t pid = -1;
	if (!conmon_spawn_monitor(argv, diag, sync_w, &pid, error))
		return FALSE;
	close(berth_steal_fd(&sync_w));
	/* The spawned process forks the monitor and exits at once. */
	if (!conmon_wait_spawned(pid, error))
		return FALSE;
	gint64 deadline = g_get_monotonic_time() +
			  (gint64)(timeout_ms + REPORT_GRACE_MS) * 1000;
	g_autoptr(GString) line = g_string_new(NULL);
	if (!read_report(sync_r, deadline, line)) {
		kill_monitor(o->socket_dir);
		return berth_throw(error, DEADLINE_EXCEEDED,
				   "berth-conmon for %s: no report after %u ms",
				   o->id, timeout_ms + REPORT_GRACE_MS);
	}
	return parse_report(o, line->str, container_pid, error);
}
