/* The monitor from start to end: get ready in the socket dir, have the
 * runtime create (with --start: and start) the container, report on the sync
 * fd, then serve the event loop until the container init is reaped, and leave
 * an exit file. */
#include "conmon/monitor.h"
#include "conmon/attach.h"
#include "conmon/ctl.h"
#include "conmon/exec.h"
#include "conmon/exit.h"
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
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#define MAX_EVENTS 16

static uint64_t tag(ConmonEventKind kind, int fd)
{
	return ((uint64_t)kind << 32) | (uint32_t)fd;
}

int conmon_watch(Conmon *c, ConmonEventKind kind, int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.u64 = tag(kind, fd)};
	return epoll_ctl(c->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

int conmon_rewatch(Conmon *c, ConmonEventKind kind, int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.u64 = tag(kind, fd)};
	return epoll_ctl(c->epfd, EPOLL_CTL_MOD, fd, &ev) < 0 ? -errno : 0;
}

void conmon_unwatch(Conmon *c, int fd)
{
	epoll_ctl(c->epfd, EPOLL_CTL_DEL, fd, NULL);
}

int conmon_listen_seqpacket(const char *name)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(name) >= sizeof addr.sun_path)
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, name);
	unlink(name);
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK,
			0);
	if (fd < 0)
		return -errno;
	mode_t old = umask(0177);
	int r = bind(fd, (struct sockaddr *)&addr, sizeof addr);
	umask(old);
	if (r < 0 || listen(fd, 16) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

static void report(const ConmonConfig *cfg, const char *key, const char *s,
		   long n)
{
	char line[4096];
	size_t pos = (size_t)snprintf(line, sizeof line, "{\"%s\": ", key);
	if (s != NULL)
		conmon_json_string(line, sizeof line - 2, &pos, s);
	else
		pos += (size_t)snprintf(line + pos, sizeof line - pos, "%ld",
					n);
	pos += (size_t)snprintf(line + pos, sizeof line - pos, "}\n");
	if (conmon_write_all(cfg->sync_fd, line, pos) < 0)
		conmon_diag("report on the sync fd: %s", strerror(errno));
}

static int fail(char *why, size_t len, const char *what, int err)
{
	snprintf(why, len, "%s: %s", what, strerror(-err));
	return -1;
}

static int write_pid_file(void)
{
	char text[32];
	int n = snprintf(text, sizeof text, "%d\n", (int)getpid());
	return conmon_replace_file(CONMON_PID_FILE, text, (size_t)n, 0644);
}

int conmon_setup_signals(Conmon *c)
{
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	c->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	return c->sigfd < 0 ? -errno : 0;
}

/* Everything that must hold before the runtime runs. */
static int prepare(Conmon *c, char *why, size_t len)
{
	const ConmonConfig *cfg = c->cfg;
	int r;
	if (mkdir(cfg->socket_dir, 0700) < 0 && errno != EEXIST)
		return fail(why, len, cfg->socket_dir, -errno);
	if (chdir(cfg->socket_dir) < 0)
		return fail(why, len, cfg->socket_dir, -errno);
	c->in_socket_dir = true;
	if ((r = write_pid_file()) < 0)
		return fail(why, len, CONMON_PID_FILE, r);
	if (access(cfg->exit_dir, W_OK) < 0)
		return fail(why, len, cfg->exit_dir, -errno);
	if ((r = conmon_log_open(&c->log, cfg->log_path, cfg->log_max_line,
				 cfg->terminal)) < 0)
		return fail(why, len, cfg->log_path, r);
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0)
		return fail(why, len, "become a subreaper", -errno);
	c->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (c->epfd < 0 || (r = conmon_setup_signals(c)) < 0 ||
	    (r = conmon_watch(c, CONMON_EV_SIGNAL, c->sigfd, EPOLLIN)) < 0)
		return fail(why, len, "event loop", c->epfd < 0 ? -errno : r);
	if ((r = conmon_attach_listen(c)) < 0)
		return fail(why, len, CONMON_ATTACH_SOCKET, r);
	if ((r = conmon_ctl_listen(c)) < 0)
		return fail(why, len, CONMON_CTL_SOCKET, r);
	return 0;
}

void conmon_reap(Conmon *c)
{
	int status;
	pid_t pid;
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid != c->container_pid || c->exited)
			continue;
		c->exited = true;
		c->wait_status = status;
		c->finished_at = conmon_now_ns();
		conmon_oom_update(c);
	}
}

static void on_signal(Conmon *c)
{
	struct signalfd_siginfo si;
	while (read(c->sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGCHLD)
			conmon_reap(c);
		else if (c->cfg->exec)
			conmon_exec_hang_up(c, "a signal");
		else
			conmon_diag("signal %u ignored: the monitor ends with "
				    "its container",
				    si.ssi_signo);
	}
}

void conmon_dispatch(Conmon *c, const struct epoll_event *ev)
{
	ConmonEventKind kind = (ConmonEventKind)(ev->data.u64 >> 32);
	int fd = (int)(uint32_t)ev->data.u64;
	switch (kind) {
	case CONMON_EV_SIGNAL:
		on_signal(c);
		break;
	case CONMON_EV_OUTPUT:
		if ((ev->events & EPOLLOUT) && fd == c->stdin_fd)
			conmon_io_stdin_ready(c);
		if (ev->events & (EPOLLIN | EPOLLHUP | EPOLLERR))
			conmon_io_pump(c, fd);
		break;
	case CONMON_EV_STDIN:
		conmon_io_stdin_ready(c);
		break;
	case CONMON_EV_ATTACH_LISTEN:
		conmon_attach_accept(c);
		break;
	case CONMON_EV_ATTACH_CLIENT:
		conmon_attach_client_event(c, fd, ev->events);
		break;
	case CONMON_EV_CTL_LISTEN:
		conmon_ctl_accept(c);
		break;
	case CONMON_EV_CTL_CLIENT:
		conmon_ctl_client_event(c, fd, ev->events);
		break;
	case CONMON_EV_EXEC:
		conmon_exec_event(c, ev->events);
		break;
	case CONMON_EV_OOM:
		conmon_oom_event(c);
		break;
	}
}

static void serve(Conmon *c)
{
	conmon_io_watch_outputs(c);
	conmon_reap(c);
	while (!c->exited) {
		struct epoll_event evs[MAX_EVENTS];
		int timeout = conmon_io_flush_idle(c);
		int n = epoll_wait(c->epfd, evs, MAX_EVENTS, timeout);
		if (n < 0 && errno != EINTR) {
			conmon_diag("epoll_wait: %s", strerror(errno));
			break;
		}
		for (int i = 0; i < n; i++)
			conmon_dispatch(c, &evs[i]);
	}
}

static void cleanup(Conmon *c)
{
	conmon_attach_close(c);
	conmon_ctl_close(c);
	for (int s = 0; s < 2; s++) {
		if (c->out[s] >= 0)
			close(c->out[s]);
	}
	if (c->stdin_fd >= 0 && !c->cfg->terminal)
		close(c->stdin_fd);
	free(c->stdin_q.buf);
	conmon_log_close(&c->log);
	if (c->epfd >= 0)
		close(c->epfd);
	if (c->sigfd >= 0)
		close(c->sigfd);
	if (c->oom_fd >= 0)
		close(c->oom_fd);
	if (c->in_socket_dir)
		unlink(CONMON_PID_FILE);
}

static int finish(Conmon *c)
{
	conmon_io_drain(c);
	int r = conmon_exit_write(c);
	if (r < 0)
		conmon_diag("write the exit file in %s: %s", c->cfg->exit_dir,
			    strerror(-r));
	/* While the pid file still names this monitor: berthd waits for it
	 * rather than run a delete of its own beside this one. */
	int d = r < 0 || !c->cfg->delete_on_exit ? 0 : conmon_runtime_delete(c);
	if (d < 0)
		conmon_diag("%s delete: %s", c->cfg->runtime,
			    d == -ECHILD ? "failed" : strerror(-d));
	cleanup(c);
	return r < 0 ? 1 : 0;
}

int conmon_run(const ConmonConfig *cfg)
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
		    .oom_seen = -1,
		    .oom_fd = -1,
		    .exec_fd = -1};
	char why[2048];
	conmon_diag_set_id(cfg->id);
	int r = prepare(&c, why, sizeof why);
	if (r >= 0)
		r = conmon_runtime_create(&c, why, sizeof why);
	if (r < 0) {
		conmon_diag("%s", why);
		report(cfg, r == -ETIMEDOUT ? "timeout" : "error", why, 0);
		cleanup(&c);
		return 1;
	}
	conmon_oom_setup(&c);
	report(cfg, "pid", NULL, (long)c.container_pid);
	close(cfg->sync_fd);
	serve(&c);
	return finish(&c);
}

int conmon_daemonize(void)
{
	pid_t pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	return 0;
}

void conmon_report_error(int sync_fd, const char *why)
{
	ConmonConfig cfg = {.sync_fd = sync_fd};
	if (sync_fd >= 0)
		report(&cfg, "error", why, 0);
}
