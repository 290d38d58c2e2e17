/* Exec mode: start the process with the runtime, report STARTED (or
 * ERROR), relay its stdio over the one attach connection without ever
 * holding more than one frame, and end with EXIT once it is reaped and
 * its output sent; or kill it when the connection hangs up. */
#include "conmon/exec.h"
#include "conmon/attach.h"
#include "conmon/io.h"
#include "conmon/protocol.h"
#include "conmon/runtime.h"
#include "conmon/util.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#define MAX_EVENTS 16

static int send_frame(int fd, int type, const char *data, size_t len)
{
	unsigned char hdr = (unsigned char)type;
	struct iovec iov[2] = {{&hdr, 1}, {(void *)data, len}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
	while (sendmsg(fd, &msg, MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return 0;
}

/* {"key": "text"} or {"key": n}. */
static size_t json_object1(char *out, size_t cap, const char *key,
			   const char *text, long n)
{
	size_t pos = (size_t)snprintf(out, cap, "{\"%s\": ", key);
	if (text != NULL)
		conmon_json_string(out, cap - 2, &pos, text);
	else
		pos += (size_t)snprintf(out + pos, cap - pos, "%ld", n);
	pos += (size_t)snprintf(out + pos, cap - pos, "}");
	return pos;
}

void conmon_exec_report_error(int fd, const char *why)
{
	char text[4096];
	size_t n = json_object1(text, sizeof text, "error", why, 0);
	if (fd >= 0 && send_frame(fd, CONMON_FRAME_ERROR, text, n) < 0)
		conmon_diag("exec: report the error: %s", strerror(errno));
}

size_t conmon_exec_exit_payload(int wait_status, char *out, size_t cap)
{
	int code = 0, sig = 0;
	if (WIFSIGNALED(wait_status)) {
		sig = WTERMSIG(wait_status);
		code = 128 + sig;
	} else {
		code = WEXITSTATUS(wait_status);
	}
	int n = snprintf(out, cap, "{\"exit_code\": %d, \"signal\": %d}", code,
			 sig);
	return n < 0 ? 0 : (size_t)n;
}

void conmon_exec_hang_up(Conmon *c, const char *why)
{
	if (!c->hung_up)
		conmon_diag("exec: %s ended the session: killing pid %d", why,
			    (int)c->container_pid);
	c->hung_up = true;
}

void conmon_exec_rewatch(Conmon *c)
{
	uint32_t ev = (c->clients_paused ? 0 : EPOLLIN) |
		      (c->pending != NULL ? EPOLLOUT : 0);
	conmon_rewatch(c, CONMON_EV_EXEC, c->exec_fd, ev);
}

static void hold(Conmon *c, int type, const char *data, size_t len)
{
	c->pending_type = type;
	c->pending = data;
	c->pending_len = len;
	c->output_paused = true;
	conmon_io_watch_outputs(c);
	conmon_exec_rewatch(c);
}

void conmon_exec_output(Conmon *c, int type, const char *data, size_t len)
{
	if (c->hung_up)
		return;
	int r = send_frame(c->exec_fd, type, data, len);
	if (r == -EAGAIN)
		hold(c, type, data, len);
	else if (r < 0)
		conmon_exec_hang_up(c, "the client's end");
}

static void flush_pending(Conmon *c)
{
	int r = send_frame(c->exec_fd, c->pending_type, c->pending,
			   c->pending_len);
	if (r == -EAGAIN)
		return;
	if (r < 0) {
		conmon_exec_hang_up(c, "the client's end");
		return;
	}
	if (c->pending_type == CONMON_FRAME_EXIT)
		c->exit_sent = true;
	c->pending = NULL;
	c->pending_len = 0;
	c->output_paused = false;
	conmon_io_watch_outputs(c);
	conmon_exec_rewatch(c);
}

void conmon_exec_event(Conmon *c, uint32_t events)
{
	static char frame[1 + CONMON_ATTACH_MAX_PAYLOAD];
	if ((events & EPOLLOUT) && c->pending != NULL)
		flush_pending(c);
	if (!(events & EPOLLIN)) {
		if (events & (EPOLLHUP | EPOLLERR))
			conmon_exec_hang_up(c, "the client's hang-up");
		return;
	}
	if (c->clients_paused || !conmon_io_stdin_has_room(c))
		return;
	ssize_t n = recv(c->exec_fd, frame, sizeof frame, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conmon_exec_hang_up(c, "the client's hang-up");
		return;
	}
	conmon_attach_frame(c, frame, (size_t)n);
}

static void send_exit(Conmon *c)
{
	static char text[64];
	size_t n = conmon_exec_exit_payload(c->wait_status, text, sizeof text);
	int r = send_frame(c->exec_fd, CONMON_FRAME_EXIT, text, n);
	if (r == -EAGAIN)
		hold(c, CONMON_FRAME_EXIT, text, n);
	else if (r < 0)
		conmon_exec_hang_up(c, "the client's end");
	else
		c->exit_sent = true;
}

/* The process and, when it leads one, its process group (a tty's
 * session): nothing it started in the foreground is left behind. */
static void kill_process(Conmon *c)
{
	pid_t pid = c->container_pid;
	if (c->exited || pid <= 0)
		return;
	if (getpgid(pid) == pid)
		kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	int status;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	c->exited = true;
	conmon_reap(c);
}

static void serve(Conmon *c)
{
	conmon_io_watch_outputs(c);
	conmon_watch(c, CONMON_EV_EXEC, c->exec_fd, EPOLLIN);
	conmon_reap(c);
	for (;;) {
		/* Reaped: what it wrote is in the pipes (or the pty) now;
		 * send it all, then the exit status. */
		if (c->exited && !c->hung_up && c->pending == NULL &&
		    conmon_io_drain_now(c) && !c->hung_up)
			send_exit(c);
		if (c->hung_up || c->exit_sent)
			return;
		struct epoll_event evs[MAX_EVENTS];
		int n = epoll_wait(c->epfd, evs, MAX_EVENTS, -1);
		if (n < 0 && errno != EINTR) {
			conmon_diag("epoll_wait: %s", strerror(errno));
			conmon_exec_hang_up(c, "a broken event loop");
			return;
		}
		for (int i = 0; i < n; i++)
			conmon_dispatch(c, &evs[i]);
	}
}

static int fail(char *why, size_t len, const char *what, int err)
{
	snprintf(why, len, "%s: %s", what, strerror(-err));
	return -1;
}

/* The socket dir holds the runtime's files while it runs; the
 * connection becomes non-blocking (berthd's end is its own). */
static int prepare(Conmon *c, char *why, size_t len)
{
	const ConmonConfig *cfg = c->cfg;
	int r = 0;
	if (mkdir(cfg->socket_dir, 0700) < 0 && errno != EEXIST)
		return fail(why, len, cfg->socket_dir, -errno);
	if (chdir(cfg->socket_dir) < 0)
		return fail(why, len, cfg->socket_dir, -errno);
	int fl = fcntl(c->exec_fd, F_GETFL);
	if (fl < 0 || fcntl(c->exec_fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return fail(why, len, "--attach-fd", -errno);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return fail(why, len, "become a subreaper", -errno);
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0 || (r = conmon_setup_signals(c)) < 0 ||
	    (r = conmon_watch(c, CONMON_EV_SIGNAL, c->sigfd, EPOLLIN)) < 0)
		return fail(why, len, "event loop", c->epfd < 0 ? -errno : r);
	return 0;
}

static void cleanup(Conmon *c)
{
	for (int s = 0; s < 2; s++) {
		if (c->out[s] >= 0)
			close(c->out[s]);
	}
	if (c->stdin_fd >= 0 && !c->cfg->terminal)
		close(c->stdin_fd);
	free(c->stdin_q.buf);
	if (c->epfd >= 0)
		close(c->epfd);
	if (c->sigfd >= 0)
		close(c->sigfd);
	close(c->exec_fd);
}

int conmon_exec_run(const ConmonConfig *cfg)
{
	Conmon c = {.cfg = cfg,
		    .epfd = -1,
		    .sigfd = -1,
		    .log = {.fd = -1},
		    .out = {-1, -1},
		    .stdin_fd = -1,
		    .attach_listen = -1,
		    .ctl_listen = -1,
		    .oom_before = -1,
		    .exec_fd = cfg->attach_fd};
	char why[2048];
	conmon_diag_set_id(cfg->id);
	if (prepare(&c, why, sizeof why) < 0 ||
	    conmon_runtime_create(&c, why, sizeof why) < 0) {
		conmon_diag("exec: %s", why);
		conmon_exec_report_error(c.exec_fd, why);
		cleanup(&c);
		return 1;
	}
	char started[64];
	size_t n = json_object1(started, sizeof started, "pid", NULL,
				(long)c.container_pid);
	if (send_frame(c.exec_fd, CONMON_FRAME_STARTED, started, n) < 0)
		conmon_exec_hang_up(&c, "the client's end");
	else
		serve(&c);
	if (c.hung_up)
		kill_process(&c);
	cleanup(&c);
	return c.hung_up ? 1 : 0;
}
