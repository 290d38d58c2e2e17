/* posix_spawn + poll based synchronous child runner. */
#include "util/spawn.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/notify.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/wait.h>

void spawn_result_clear(SpawnResult *r)
{
	if (r->out)
		g_string_free(r->out, TRUE);
	if (r->err)
		g_string_free(r->err, TRUE);
	memset(r, 0, sizeof *r);
}

static gboolean make_pipe(int fds[2], GError **error)
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return berth_throw_errno(error, errno, "pipe");
	return TRUE;
}

static pid_t start_child(const SpawnOptions *o, int in_r, int out_w, int err_w,
			 GError **error)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in_r, 0);
	posix_spawn_file_actions_adddup2(&fa, out_w, 1);
	posix_spawn_file_actions_adddup2(&fa, err_w, 2);
	posix_spawnattr_t attr;
	posix_spawnattr_init(&attr);
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	/* berthd blocks signals in every thread: unblock them for the child
	 * and reset handlers to default. */
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF |
						POSIX_SPAWN_SETSID);
	pid_t pid = -1;
	int r = posix_spawn(&pid, o->argv[0], &fa, &attr, (char **)o->argv,
			    o->envp ? (char **)o->envp
				    : (char **)berth_child_environ());
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (r != 0) {
		berth_throw_errno(error, r, "start %s", o->argv[0]);
		return -1;
	}
	return pid;
}

static void drain(int fd, GString *buf, gsize max, gboolean *open)
{
	char chunk[8192];
	ssize_t n = read(fd, chunk, sizeof chunk);
	if (n <= 0) {
		if (n == 0 || (errno != EINTR && errno != EAGAIN))
			*open = FALSE;
		return;
	}
	if (buf->len < max)
		g_string_append_len(buf, chunk, MIN((gsize)n, max - buf->len));
}

/* Feed stdin, collect output, and kill the child at the deadline. The
 * child's pidfd is polled too, so a run with no pipes still times out. */
static void pump(const SpawnOptions *o, pid_t pid, int in_w, int out_r,
		 int err_r, SpawnResult *r)
{
	gsize max = o->max_output ? o->max_output : 1024 * 1024;
	gsize fed = 0;
	gboolean out_open = out_r >= 0, err_open = err_r >= 0;
	gboolean exited = FALSE;
	autofd pidfd = pidfd_open(pid, 0);
	gint64 deadline = o->timeout_ms ? g_get_monotonic_time() +
						  (gint64)o->timeout_ms * 1000
					: G_MAXINT64;
	if (in_w >= 0)
		fcntl(in_w, F_SETFL, O_NONBLOCK);
	while (out_open || err_open || (!exited && pidfd >= 0)) {
		struct pollfd p[4] = {{out_open ? out_r : -1, POLLIN, 0},
				      {err_open ? err_r : -1, POLLIN, 0},
				      {in_w, POLLOUT, 0},
				      {exited ? -1 : pidfd, POLLIN, 0}};
		gint64 left = deadline - g_get_monotonic_time();
		if (left <= 0) {
			/* The child leads its own session: its helpers
			 * (a runtime's init, a script's sleep) go too. */
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			r->timed_out = TRUE;
			break;
		}
		int wait_ms = deadline == G_MAXINT64
				      ? -1
				      : (int)MIN(left / 1000 + 1, G_MAXINT);
		if (poll(p, 4, wait_ms) < 0 && errno != EINTR)
			break;
		if (p[0].revents)
			drain(out_r, r->out, max, &out_open);
		if (p[1].revents)
			drain(err_r, r->err, max, &err_open);
		if (p[3].revents)
			exited = TRUE;
		if (in_w >= 0 && p[2].revents) {
			ssize_t n = write(in_w, o->stdin_data + fed,
					  o->stdin_len - fed);
			if (n > 0)
				fed += n;
			if (n < 0 && errno != EAGAIN && errno != EINTR)
				fed = o->stdin_len;
			if (fed >= o->stdin_len) {
				close(in_w);
				in_w = -1;
			}
		}
	}
	if (in_w >= 0)
		close(in_w);
}

gboolean spawn_sync(const SpawnOptions *o, SpawnResult *r, GError **error)
{
	memset(r, 0, sizeof *r);
	r->out = g_string_new(NULL);
	r->err = g_string_new(NULL);
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};
	if (o->stdin_data != NULL) {
		if (!make_pipe(in, error))
			return FALSE;
	} else {
		in[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	}
	if (o->output_path != NULL) {
		out[1] = open(o->output_path,
			      O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
		if (out[1] < 0) {
			close(in[0]);
			return berth_throw_errno(error, errno, "open %s",
						 o->output_path);
		}
		err[1] = dup(out[1]);
	} else if (!make_pipe(out, error) || !make_pipe(err, error)) {
		for (int i = 0; i < 2; i++) {
			if (in[i] >= 0)
				close(in[i]);
			if (out[i] >= 0)
				close(out[i]);
		}
		return FALSE;
	}
	pid_t pid = start_child(o, in[0], out[1], err[1], error);
	close(in[0]);
	close(out[1]);
	close(err[1]);
	if (pid < 0) {
		if (in[1] >= 0)
			close(in[1]);
		close(out[0]);
		close(err[0]);
		return FALSE;
	}
	pump(o, pid, in[1], out[0], err[0], r);
	if (out[0] >= 0)
		close(out[0]);
	if (err[0] >= 0)
		close(err[0]);
	while (waitpid(pid, &r->status, 0) < 0) {
		if (errno != EINTR)
			return berth_throw_errno(error, errno, "wait for %s",
						 o->argv[0]);
	}
	if (o->output_path != NULL) {
		g_autofree char *text = NULL;
		gsize len = 0;
		if (g_file_get_contents(o->output_path, &text, &len, NULL))
			g_string_append_len(r->err, text,
					    MIN(len, o->max_output
							     ? o->max_output
							     : 1024 * 1024));
	}
	return TRUE;
}

char *spawn_describe_failure(const SpawnOptions *o, const SpawnResult *r)
{
	g_autofree char *tail =
		g_strstrip(g_strdup(r->err->len ? r->err->str : r->out->str));
	if (r->timed_out)
		return o->timeout_ms % 1000
			       ? g_strdup_printf("%s timed out after %u ms",
						 o->argv[0], o->timeout_ms)
			       : g_strdup_printf("%s timed out after %u s",
						 o->argv[0],
						 o->timeout_ms / 1000);
	if (WIFSIGNALED(r->status))
		return g_strdup_printf("%s killed by signal %d%s%s", o->argv[0],
				       WTERMSIG(r->status), *tail ? ": " : "",
				       tail);
	return g_strdup_printf("%s exited with %d%s%s", o->argv[0],
			       WEXITSTATUS(r->status), *tail ? ": " : "", tail);
}

gboolean spawn_sync_ok(const SpawnOptions *o, GError **error)
{
	SpawnResult r;
	if (!spawn_sync(o, &r, error))
		return FALSE;
	gboolean ok = !r.timed_out && WIFEXITED(r.status) &&
		      WEXITSTATUS(r.status) == 0;
	if (!ok) {
		g_autofree char *why = spawn_describe_failure(o, &r);
		berth_throw_code(error,
				 r.timed_out ? BERTH_ERROR_DEADLINE_EXCEEDED
					     : BERTH_ERROR_INTERNAL,
				 "%s", why);
	}
	spawn_result_clear(&r);
	return ok;
}

gboolean spawn_wait_gone(int pid, guint timeout_ms)
{
	autofd pidfd = pidfd_open(pid, 0);
	if (pidfd < 0)
		return errno == ESRCH;
	gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	for (;;) {
		struct pollfd p = {pidfd, POLLIN, 0};
		gint64 left = deadline - g_get_monotonic_time();
		int n = poll(&p, 1,
			     left > 0 ? (int)MIN(left / 1000 + 1, G_MAXINT)
				      : 0);
		if (n > 0)
			return TRUE;
		if (n == 0 || errno != EINTR)
			return FALSE;
	}
}
