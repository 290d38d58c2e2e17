/* Running one CNI plugin binary: posix_spawn with a clean fd set and
 * environment, stdin from a memfd, stdout/stderr collected with poll under
 * a deadline, the whole process group killed on timeout, and the plugin's
 * error turned into a GError that carries its own words. */
#include "network/cni-private.h"
#include "util/berth-metrics.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_STDOUT (4u << 20)
#define MAX_STDERR (64u << 10)
/* How much of stderr goes into an error message. */
#define MAX_ERR_TEXT 2048

static const char fallback_path[] =
	"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/* A plugin's output channel while it runs. */
typedef struct {
	int fd;
	GString *buf;
	gsize max;
	gboolean overflow;
} Channel;

static gboolean write_all(int fd, const char *data, gsize len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}

/* stdin as a memfd: the plugin may read it whenever it likes (or never),
 * and we need no writer loop and no SIGPIPE handling. */
static int make_stdin(const char *data, GError **error)
{
	autofd fd = memfd_create("cni-stdin", MFD_CLOEXEC);
	if (fd < 0)
		return (void)berth_throw_errno(error, errno, "memfd_create"),
		       -1;
	gsize len = data ? strlen(data) : 0;
	if (!write_all(fd, data ? data : "", len) || lseek(fd, 0, SEEK_SET) < 0)
		return (void)berth_throw_errno(error, errno,
					       "write plugin stdin"),
		       -1;
	return berth_steal_fd(&fd);
}

/* Read what is there now; closes the channel at EOF or on error. */
static void channel_read(Channel *c)
{
	char chunk[16384];
	while (c->fd >= 0) {
		ssize_t n = read(c->fd, chunk, sizeof chunk);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		if (n <= 0) {
			close(c->fd);
			c->fd = -1;
			return;
		}
		gsize room = c->buf->len < c->max ? c->max - c->buf->len : 0;
		if ((gsize)n > room)
			c->overflow = TRUE;
		g_string_append_len(c->buf, chunk, MIN((gsize)n, room));
	}
}

static char **build_env(const CniExecRequest *req)
{
	const char *path = g_getenv("PATH");
	GPtrArray *env = g_ptr_array_new();
	g_ptr_array_add(env, g_strconcat("CNI_COMMAND=", req->command, NULL));
	g_ptr_array_add(env,
			g_strconcat("CNI_CONTAINERID=",
				    req->container_id ? req->container_id : "",
				    NULL));
	g_ptr_array_add(env, g_strconcat("CNI_NETNS=",
					 req->netns ? req->netns : "", NULL));
	g_ptr_array_add(
		env, g_strconcat("CNI_IFNAME=",
				 req->ifname ? req->ifname : CNI_DEFAULT_IFNAME,
				 NULL));
	if (req->cni_args)
		g_ptr_array_add(env,
				g_strconcat("CNI_ARGS=", req->cni_args, NULL));
	g_ptr_array_add(env,
			g_strconcat("CNI_PATH=",
				    req->cni_path ? req->cni_path : "", NULL));
	g_ptr_array_add(env, g_strconcat("PATH=",
					 path && path[0] ? path : fallback_path,
					 NULL));
	g_ptr_array_add(env, NULL);
	return (char **)g_ptr_array_free(env, FALSE);
}

/* Spawn with stdin/stdout/stderr only, an empty signal mask (berthd
 * blocks signals in main), default dispositions, and a process group of
 * its own so a timeout kills the helpers it started too. */
static gboolean spawn_plugin(const CniExecRequest *req, int in_fd, int out_w,
			     int err_w, pid_t *pid, GError **error)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in_fd, STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, out_w, STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, err_w, STDERR_FILENO);
	posix_spawn_file_actions_addclosefrom_np(&fa, STDERR_FILENO + 1);
	posix_spawnattr_init(&attr);
	sigset_t mask, defaults;
	sigemptyset(&mask);
	sigfillset(&defaults);
	posix_spawnattr_setsigmask(&attr, &mask);
	posix_spawnattr_setsigdefault(&attr, &defaults);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF |
						POSIX_SPAWN_SETPGROUP);

	g_auto(GStrv) env = build_env(req);
	char *argv[] = {(char *)req->path, NULL};
	int r = posix_spawn(pid, req->path, &fa, &attr, argv, env);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r != 0)
		return berth_throw_errno(error, r, "CNI plugin %s: spawn %s",
					 req->type, req->path);
	return TRUE;
}

static void kill_plugin(pid_t pid, int *status)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, status, 0) < 0 && errno == EINTR)
		;
}

/* Collect output until the plugin exits (or, without a pidfd, until it
 * closes both pipes). FALSE on timeout, with the plugin killed. */
static gboolean collect(pid_t pid, int pidfd, Channel *out, Channel *err,
			gint64 deadline, int *status)
{
	for (;;) {
		if (pidfd < 0 && out->fd < 0 && err->fd < 0) {
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			return TRUE;
		}
		gint64 left = deadline - g_get_monotonic_time();
		if (left <= 0) {
			kill_plugin(pid, status);
			return FALSE;
		}
		struct pollfd fds[3];
		Channel *chans[3] = {NULL, NULL, NULL};
		nfds_t n = 0;
		if (out->fd >= 0) {
			chans[n] = out;
			fds[n++] = (struct pollfd){.fd = out->fd,
						   .events = POLLIN};
		}
		if (err->fd >= 0) {
			chans[n] = err;
			fds[n++] = (struct pollfd){.fd = err->fd,
						   .events = POLLIN};
		}
		if (pidfd >= 0)
			fds[n++] =
				(struct pollfd){.fd = pidfd, .events = POLLIN};
		int r = poll(fds, n, (int)MIN((left + 999) / 1000, G_MAXINT));
		if (r < 0 && errno != EINTR) {
			log_error("CNI plugin pid %d: poll: %s; killing it",
				  (int)pid, g_strerror(errno));
			kill_plugin(pid, status);
			return TRUE;
		}
		for (nfds_t i = 0; r > 0 && i < n; i++) {
			if (fds[i].revents == 0)
				continue;
			if (chans[i]) {
				channel_read(chans[i]);
				continue;
			}
			/* pidfd readable: exited. What it wrote is all in
			 * the pipes now; a grandchild holding them open
			 * must not keep us waiting. */
			while (waitpid(pid, status, 0) < 0 && errno == EINTR)
				;
			channel_read(out);
			channel_read(err);
			return TRUE;
		}
	}
}

static char *trimmed(const char *s, gsize max)
{
	g_autofree char *t = g_strstrip(g_strdup(s ? s : ""));
	gsize len = strlen(t);
	if (len <= max)
		return g_steal_pointer(&t);
	/* Keep the end: the last lines usually say what went wrong. */
	return g_strdup_printf("...%s", t + len - max);
}

static char *status_text(int st)
{
	if (WIFEXITED(st))
		return g_strdup_printf("exit status %d", WEXITSTATUS(st));
	if (WIFSIGNALED(st))
		return g_strdup_printf("killed by signal %d", WTERMSIG(st));
	return g_strdup_printf("wait status 0x%x", st);
}

/* A CNI error object ({"code", "msg", "details"}) from text, or NULL. */
static char *error_object_text(const char *text)
{
	if (text == NULL || text[0] == '\0')
		return NULL;
	g_autoptr(json_t) j = json_loads(text, JSON_DISABLE_EOF_CHECK, NULL);
	if (!json_is_object(j))
		return NULL;
	const char *msg = json_string_value(json_object_get(j, "msg"));
	const char *details = json_string_value(json_object_get(j, "details"));
	if (msg == NULL || msg[0] == '\0')
		return NULL;
	if (details && details[0])
		return g_strdup_printf("%s: %s", msg, details);
	return g_strdup(msg);
}

char *cni_exec_error_message(const char *type, const char *command,
			     int wait_status, const char *out, const char *err)
{
	g_autofree char *obj = error_object_text(out);
	if (obj == NULL)
		obj = error_object_text(err);
	if (obj)
		return g_strdup_printf("CNI plugin %s %s failed: %s", type,
				       command, obj);
	g_autofree char *st = status_text(wait_status);
	g_autofree char *text = trimmed(err, MAX_ERR_TEXT);
	if (text[0] == '\0') {
		g_free(text);
		text = trimmed(out, MAX_ERR_TEXT);
	}
	if (text[0] == '\0')
		return g_strdup_printf("CNI plugin %s %s failed (%s) with no "
				       "output",
				       type, command, st);
	return g_strdup_printf("CNI plugin %s %s failed (%s): %s", type,
			       command, st, text);
}

static void close_pipe(int p[2])
{
	for (int i = 0; i < 2; i++) {
		if (p[i] >= 0)
			close(p[i]);
		p[i] = -1;
	}
}

gboolean cni_exec_plugin(const CniExecRequest *req, char **out, GError **error)
{
	autofd in_fd = make_stdin(req->stdin_data, error);
	if (in_fd < 0)
		return FALSE;
	int out_p[2] = {-1, -1}, err_p[2] = {-1, -1};
	if (pipe2(out_p, O_CLOEXEC) < 0 || pipe2(err_p, O_CLOEXEC) < 0) {
		int errsv = errno;
		close_pipe(out_p);
		close_pipe(err_p);
		return berth_throw_errno(error, errsv, "pipe");
	}
	pid_t pid = -1;
	gboolean spawned =
		spawn_plugin(req, in_fd, out_p[1], err_p[1], &pid, error);
	close(out_p[1]);
	close(err_p[1]);
	out_p[1] = err_p[1] = -1;
	if (!spawned) {
		close_pipe(out_p);
		close_pipe(err_p);
		return FALSE;
	}
	/* Only our read ends: the plugin's must stay blocking. */
	fcntl(out_p[0], F_SETFL, O_NONBLOCK);
	fcntl(err_p[0], F_SETFL, O_NONBLOCK);
	autofd pidfd = pidfd_open(pid, 0);

	g_autoptr(GString) obuf = g_string_new(NULL);
	g_autoptr(GString) ebuf = g_string_new(NULL);
	Channel co = {.fd = out_p[0], .buf = obuf, .max = MAX_STDOUT};
	Channel ce = {.fd = err_p[0], .buf = ebuf, .max = MAX_STDERR};
	gint64 start = g_get_monotonic_time();
	gint64 deadline = start + (gint64)req->timeout_sec * G_USEC_PER_SEC;
	int status = 0;
	gboolean finished = collect(pid, pidfd, &co, &ce, deadline, &status);
	berth_metrics_cni_call(req->type, req->command,
			       g_get_monotonic_time() - start);
	if (co.fd >= 0)
		close(co.fd);
	if (ce.fd >= 0)
		close(ce.fd);
	log_debug("CNI plugin %s %s for %s: %.1f ms", req->type, req->command,
		  req->container_id, (g_get_monotonic_time() - start) / 1000.0);

	if (!finished) {
		g_autofree char *text = trimmed(ebuf->str, MAX_ERR_TEXT);
		return berth_throw(error, DEADLINE_EXCEEDED,
				   "CNI plugin %s %s timed out after %u s and "
				   "was killed%s%s",
				   req->type, req->command, req->timeout_sec,
				   text[0] ? "; stderr: " : "", text);
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		g_autofree char *msg = cni_exec_error_message(
			req->type, req->command, status, obuf->str, ebuf->str);
		return berth_throw(error, INTERNAL, "%s", msg);
	}
	if (co.overflow)
		return berth_throw(error, INTERNAL,
				   "CNI plugin %s %s: output larger than %u "
				   "bytes",
				   req->type, req->command, MAX_STDOUT);
	if (ebuf->len > 0)
		log_debug("CNI plugin %s %s stderr: %s", req->type,
			  req->command, ebuf->str);
	*out = g_string_free(g_steal_pointer(&obuf), FALSE);
	return TRUE;
}
