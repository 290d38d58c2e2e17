/* Exec sessions from berthd: a socketpair, berth-conmon --exec spawned
 * with one end as fd 3, and its first frame (STARTED or ERROR) read with
 * a deadline. */
#include "conmon/client-private.h"
#include "conmon/client.h"
#include "conmon/protocol.h"
#include "util/error.h"
#include "util/fs.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

/* The monitor bounds the runtime itself; this is for the monitor. */
#define REPORT_GRACE_MS 5000
#define DEFAULT_TIMEOUT_MS (CONMON_DEFAULT_TIMEOUT_S * 1000u)
#define REPORT_MAX 8192

static void add(GPtrArray *argv, const char *a, const char *b)
{
	g_ptr_array_add(argv, g_strdup(a));
	if (b != NULL)
		g_ptr_array_add(argv, g_strdup(b));
}

static GPtrArray *build_argv(const ConmonExecOptions *o, guint timeout_ms)
{
	GPtrArray *argv = g_ptr_array_new_with_free_func(g_free);
	add(argv, o->conmon_path, NULL);
	add(argv, "--exec", NULL);
	add(argv, "--id", o->id);
	add(argv, "--runtime", o->runtime_path);
	add(argv, "--runtime-root", o->runtime_root);
	add(argv, "--socket-dir", o->socket_dir);
	g_ptr_array_add(argv,
			g_strdup_printf("--attach-fd=%d", CONMON_PASSED_FD));
	g_ptr_array_add(argv, g_strdup_printf("--timeout=%u",
					      (timeout_ms + 999) / 1000));
	if (o->terminal)
		add(argv, "--terminal", NULL);
	if (o->stdin_open)
		add(argv, "--stdin", NULL);
	for (const char *const *a = o->runtime_args; a && *a; a++)
		g_ptr_array_add(argv, g_strdup_printf("--runtime-arg=%s", *a));
	if (o->process_file != NULL)
		add(argv, "--process", o->process_file);
	add(argv, "--", NULL);
	for (const char *const *a = o->argv; a && *a; a++)
		add(argv, *a, NULL);
	g_ptr_array_add(argv, NULL);
	return argv;
}

int conmon_exec_error_code(const char *message)
{
	static const char *const not_running[] = {
		"not running",	  /* crun: the container `x` is not running */
		"stopped",	  /* runc: cannot exec in a stopped container */
		"does not exist", /* runc: container does not exist */
		"/status`: No such file", /* crun: no state for the id */
	};
	for (gsize i = 0; i < G_N_ELEMENTS(not_running); i++) {
		if (strstr(message, not_running[i]) != NULL)
			return BERTH_ERROR_FAILED_PRECONDITION;
	}
	return BERTH_ERROR_INTERNAL;
}

static gboolean json_int(json_t *j, const char *key, int *out)
{
	json_t *v = json_object_get(j, key);
	if (!json_is_integer(v) || json_integer_value(v) < G_MININT ||
	    json_integer_value(v) > G_MAXINT)
		return FALSE;
	*out = (int)json_integer_value(v);
	return TRUE;
}

gboolean conmon_parse_exit_frame(const char *buf, gsize len, int *exit_code,
				 int *signal)
{
	json_t *j = json_loadb(buf, len, 0, NULL);
	int code = 0, sig = 0;
	gboolean ok = json_is_object(j) && json_int(j, "exit_code", &code) &&
		      json_int(j, "signal", &sig) && code >= 0 && sig >= 0;
	json_decref(j);
	if (ok) {
		*exit_code = code;
		*signal = sig;
	}
	return ok;
}

/* The first frame, within the deadline: its payload length with the type
 * in *type (-1 at end of stream), or -1 when the time ran out. */
static gssize first_frame(int fd, gint64 deadline, int *type, char *buf,
			  gsize cap)
{
	for (;;) {
		gint64 left = deadline - g_get_monotonic_time();
		if (left <= 0)
			return -1;
		struct pollfd p = {fd, POLLIN, 0};
		int n = poll(&p, 1, (int)(left / 1000) + 1);
		if (n <= 0)
			continue;
		unsigned char hdr = 0;
		struct iovec iov[2] = {{&hdr, 1}, {buf, cap - 1}};
		struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
		ssize_t got = recvmsg(fd, &msg, MSG_DONTWAIT);
		if (got < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (got <= 0) {
			*type = -1;
			return 0;
		}
		*type = hdr;
		buf[got - 1] = '\0';
		return got - 1;
	}
}

static gboolean read_report(const ConmonExecOptions *o, int fd,
			    guint timeout_ms, int *exec_pid, GError **error)
{
	g_autofree char *buf = g_malloc(REPORT_MAX);
	gint64 deadline = g_get_monotonic_time() +
			  (gint64)(timeout_ms + REPORT_GRACE_MS) * 1000;
	int type = -1;
	gssize n = first_frame(fd, deadline, &type, buf, REPORT_MAX);
	if (n < 0)
		return berth_throw(error, DEADLINE_EXCEEDED,
				   "exec in %s: no report from berth-conmon "
				   "after %u ms",
				   o->id, timeout_ms + REPORT_GRACE_MS);
	json_t *j = type >= 0 ? json_loadb(buf, n, 0, NULL) : NULL;
	int pid = 0;
	const char *msg = json_string_value(json_object_get(j, "error"));
	gboolean ok = FALSE;
	if (type == CONMON_FRAME_STARTED && json_int(j, "pid", &pid) &&
	    pid > 0) {
		*exec_pid = pid;
		ok = TRUE;
	} else if (type == CONMON_FRAME_ERROR && msg != NULL) {
		berth_throw_code(error, conmon_exec_error_code(msg), "%s", msg);
	} else {
		g_autofree char *tail = conmon_diag_tail(o->socket_dir);
		berth_throw(error, INTERNAL,
			    "exec in %s: berth-conmon ended without a "
			    "report%s%s",
			    o->id, *tail ? ": " : "", tail);
	}
	json_decref(j);
	return ok;
}

gboolean conmon_exec_start(const ConmonExecOptions *o, int *attach_fd,
			   int *exec_pid, GError **error)
{
	guint timeout_ms = o->timeout_ms ? o->timeout_ms : DEFAULT_TIMEOUT_MS;
	if ((o->argv == NULL || o->argv[0] == NULL) ==
	    (o->process_file == NULL))
		return berth_throw(error, INVALID_ARGUMENT,
				   "exec in %s: give a command or a process "
				   "file",
				   o->id);
	if (!berth_mkdir_p(o->socket_dir, 0700, error))
		return FALSE;
	autofd diag = conmon_open_diag(o->socket_dir, error);
	if (diag < 0)
		return FALSE;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return berth_throw_errno(error, errno, "socketpair");
	autofd ours = sv[0];
	autofd theirs = sv[1];
	if (!conmon_pass_fd_ready(&theirs, error))
		return FALSE;
	g_autoptr(GPtrArray) argv = build_argv(o, timeout_ms);
	pid_t pid = -1;
	if (!conmon_spawn_monitor(argv, diag, theirs, &pid, error))
		return FALSE;
	close(berth_steal_fd(&theirs));
	if (!conmon_wait_spawned(pid, error))
		return FALSE;
	/* On failure ours is closed: a monitor still waiting for the
	 * runtime kills the process as soon as it has it. */
	if (!read_report(o, ours, timeout_ms, exec_pid, error))
		return FALSE;
	*attach_fd = berth_steal_fd(&ours);
	return TRUE;
}
