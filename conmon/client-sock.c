/* Talking to a running berth-conmon: control commands, the attach
 * socket's frames, its pid file, and the exit file it leaves. */
#include "conmon/client.h"
#include "conmon/protocol.h"
#include "util/error.h"
#include "util/fs.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#define CTL_TIMEOUT_MS 10000

/* Connect to <dir>/<name>; a path too long for sun_path is reached
 * through /proc/self/fd of the opened dir. */
static int connect_seqpacket(const char *dir, const char *name, GError **error)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	g_autofree char *path = g_build_filename(dir, name, NULL);
	autofd dirfd = -1;
	if (strlen(path) < sizeof addr.sun_path) {
		strcpy(addr.sun_path, path);
	} else {
		dirfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0) {
			berth_throw_errno(error, errno, "open %s", dir);
			return -1;
		}
		snprintf(addr.sun_path, sizeof addr.sun_path,
			 "/proc/self/fd/%d/%s", dirfd, name);
	}
	autofd fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		berth_throw_errno(error, errno, "socket");
		return -1;
	}
	if (connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		berth_throw(error, FAILED_PRECONDITION,
			    "no monitor answers on %s: %s", path,
			    g_strerror(errno));
		return -1;
	}
	return berth_steal_fd(&fd);
}

/* Send cmd and wait up to timeout_ms for the reply; TRUE when it is "ok"
 * or starts with "ok ", with what follows in *rest (may be NULL). */
static gboolean ctl_request(const char *socket_dir, const char *cmd,
			    int timeout_ms, char **rest, GError **error)
{
	autofd fd = connect_seqpacket(socket_dir, CONMON_CTL_SOCKET, error);
	if (fd < 0)
		return FALSE;
	if (send(fd, cmd, strlen(cmd), MSG_NOSIGNAL) < 0)
		return berth_throw_errno(error, errno, "send \"%s\"", cmd);
	struct pollfd p = {fd, POLLIN, 0};
	int n;
	while ((n = poll(&p, 1, timeout_ms)) < 0 && errno == EINTR)
		;
	if (n <= 0)
		return berth_throw(error, DEADLINE_EXCEEDED,
				   "\"%s\": no reply from the monitor", cmd);
	char reply[CONMON_CTL_MAX_MESSAGE + 128];
	ssize_t got = recv(fd, reply, sizeof reply - 1, 0);
	if (got <= 0)
		return berth_throw(error, UNAVAILABLE,
				   "\"%s\": the monitor closed the connection",
				   cmd);
	reply[got] = '\0';
	if (strcmp(reply, "ok") == 0 || g_str_has_prefix(reply, "ok ")) {
		if (rest != NULL)
			*rest = g_strdup(reply[2] ? reply + 3 : "");
		return TRUE;
	}
	const char *why =
		g_str_has_prefix(reply, "error: ") ? reply + 7 : reply;
	return berth_throw(error, FAILED_PRECONDITION, "%s", why);
}

static gboolean ctl_command(const char *socket_dir, const char *cmd,
			    GError **error)
{
	return ctl_request(socket_dir, cmd, CTL_TIMEOUT_MS, NULL, error);
}

gboolean conmon_container_pid(const char *socket_dir, guint timeout_ms,
			      int *pid, GError **error)
{
	g_autofree char *rest = NULL;
	if (!ctl_request(socket_dir, "pid", (int)MIN(timeout_ms, G_MAXINT),
			 &rest, error))
		return FALSE;
	char *end = NULL;
	gint64 v = g_ascii_strtoll(rest, &end, 10);
	if (end == rest || *end != '\0' || v <= 0 || v > G_MAXINT)
		return berth_throw(error, INTERNAL,
				   "the monitor in %s gave no pid: \"%s\"",
				   socket_dir, rest);
	*pid = (int)v;
	return TRUE;
}

gboolean conmon_reopen_log(const char *socket_dir, GError **error)
{
	return ctl_command(socket_dir, "reopen", error);
}

gboolean conmon_kill(const char *socket_dir, int signo, GError **error)
{
	g_autofree char *cmd = g_strdup_printf("kill %d", signo);
	return ctl_command(socket_dir, cmd, error);
}

gboolean conmon_resize(const char *socket_dir, guint rows, guint cols,
		       GError **error)
{
	if (rows > G_MAXUINT16 || cols > G_MAXUINT16)
		return berth_throw(error, INVALID_ARGUMENT,
				   "terminal size %ux%u out of range", rows,
				   cols);
	g_autofree char *cmd = g_strdup_printf("resize %u %u", rows, cols);
	return ctl_command(socket_dir, cmd, error);
}

static gboolean json_int(json_t *j, const char *key, gint64 *out)
{
	json_t *v = json_object_get(j, key);
	if (!json_is_integer(v))
		return FALSE;
	*out = json_integer_value(v);
	return TRUE;
}

gboolean conmon_read_exit(const char *exit_dir, const char *id, ConmonExit *out,
			  GError **error)
{
	g_autofree char *path = g_build_filename(exit_dir, id, NULL);
	g_autofree char *text = NULL;
	if (!berth_read_file(path, &text, NULL, error))
		return FALSE;
	json_t *j = json_loads(text, 0, NULL);
	gint64 code = 0, sig = 0, at = 0;
	json_t *oom = json_object_get(j, "oom_killed");
	gboolean ok = json_int(j, "exit_code", &code) &&
		      json_int(j, "signal", &sig) &&
		      json_int(j, "finished_at", &at) && json_is_boolean(oom);
	if (ok) {
		out->exit_code = (int)code;
		out->signal = (int)sig;
		out->oom_killed = json_is_true(oom);
		out->finished_at = at;
	}
	json_decref(j);
	if (!ok)
		return berth_throw(error, INTERNAL, "%s: not an exit file",
				   path);
	return TRUE;
}

static gboolean is_monitor(int pid)
{
	g_autofree char *path = g_strdup_printf("/proc/%d/comm", pid);
	g_autofree char *comm = NULL;
	if (!g_file_get_contents(path, &comm, NULL, NULL))
		return FALSE;
	return strcmp(g_strstrip(comm), "berth-conmon") == 0;
}

gboolean conmon_monitor_pid(const char *socket_dir, int *pid, GError **error)
{
	g_autofree char *path =
		g_build_filename(socket_dir, CONMON_PID_FILE, NULL);
	g_autofree char *text = NULL;
	if (!berth_read_file(path, &text, NULL, error))
		return FALSE;
	gint64 v = g_ascii_strtoll(text, NULL, 10);
	if (v <= 0 || v > G_MAXINT || !is_monitor((int)v))
		return berth_throw(error, NOT_FOUND,
				   "the monitor of %s is gone", path);
	*pid = (int)v;
	return TRUE;
}

int conmon_attach_connect(const char *socket_dir, GError **error)
{
	return connect_seqpacket(socket_dir, CONMON_ATTACH_SOCKET, error);
}

static gboolean send_frame(int fd, int type, const void *data, gsize len,
			   GError **error)
{
	unsigned char hdr = (unsigned char)type;
	struct iovec iov[2] = {{&hdr, 1}, {(void *)data, len}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
	while (sendmsg(fd, &msg, MSG_NOSIGNAL) < 0) {
		if (errno != EINTR)
			return berth_throw_errno(error, errno,
						 "send to the attach socket");
	}
	return TRUE;
}

gboolean conmon_attach_send(int fd, int type, const void *data, gsize len,
			    GError **error)
{
	const char *p = data;
	if (len == 0)
		return send_frame(fd, type, NULL, 0, error);
	while (len > 0) {
		gsize n = MIN(len, (gsize)CONMON_ATTACH_MAX_PAYLOAD);
		if (!send_frame(fd, type, p, n, error))
			return FALSE;
		p += n;
		len -= n;
	}
	return TRUE;
}

gboolean conmon_attach_resize(int fd, guint rows, guint cols, GError **error)
{
	if (rows > G_MAXUINT16 || cols > G_MAXUINT16)
		return berth_throw(error, INVALID_ARGUMENT,
				   "terminal size %ux%u out of range", rows,
				   cols);
	guint16 be[2] = {htons((guint16)rows), htons((guint16)cols)};
	return send_frame(fd, CONMON_FRAME_RESIZE, be, sizeof be, error);
}

gssize conmon_attach_recv(int fd, int *type, char *buf, GError **error)
{
	unsigned char hdr = 0;
	struct iovec iov[2] = {{&hdr, 1}, {buf, CONMON_ATTACH_MAX_PAYLOAD}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
	ssize_t n;
	while ((n = recvmsg(fd, &msg, 0)) < 0) {
		if (errno != EINTR) {
			berth_throw_errno(error, errno,
					  "receive from the attach socket");
			return -1;
		}
	}
	if (n == 0) {
		*type = -1;
		return 0;
	}
	*type = hdr;
	return n - 1;
}
