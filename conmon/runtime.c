/* `<runtime> create` under the monitor: the container's stdio, the
 * console socket for a tty, a bounded wait, and the runtime's message
 * when it fails. The container init is reparented to the monitor (a
 * subreaper) when the runtime exits. */
#include "conmon/runtime.h"
#include "conmon/util.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#define RUNTIME_LOG "runtime.log"
#define CONTAINER_PID_FILE "container.pid"
#define CONSOLE_SOCKET "console.sock"
#define MAX_ARGS (CONMON_MAX_RUNTIME_ARGS + 24)

extern char **environ;

typedef struct {
	char log[4096];
	char pidfile[4096];
	char console[4096];
	/* The runtime's end of stdin, stdout, stderr. */
	int child[3];
	int console_listen;
} CreateIo;

static void create_io_close(CreateIo *io)
{
	for (int i = 0; i < 3; i++) {
		if (io->child[i] >= 0)
			close(io->child[i]);
		io->child[i] = -1;
	}
	if (io->console_listen >= 0) {
		close(io->console_listen);
		unlink(CONSOLE_SOCKET);
	}
	io->console_listen = -1;
}

static int console_listen(void)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	strcpy(addr.sun_path, CONSOLE_SOCKET);
	unlink(CONSOLE_SOCKET);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0 ||
	    listen(fd, 1) < 0) {
		int r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* Pipes for the container's stdio: the monitor keeps the read ends of
 * stdout/stderr and the write end of stdin, non-blocking. */
static int setup_pipes(Conmon *c, CreateIo *io)
{
	int p[2];
	for (int i = 0; i < 2; i++) {
		if (pipe2(p, O_CLOEXEC) < 0)
			return -errno;
		c->out[i] = p[0];
		io->child[i + 1] = p[1];
		fcntl(p[0], F_SETFL, O_NONBLOCK);
	}
	if (!c->cfg->stdin_open) {
		io->child[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
		return io->child[0] < 0 ? -errno : 0;
	}
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	io->child[0] = p[0];
	c->stdin_fd = p[1];
	fcntl(p[1], F_SETFL, O_NONBLOCK);
	return 0;
}

/* A tty: the runtime's own stdio is /dev/null and the pty master
 * arrives on the console socket. */
static int setup_console(CreateIo *io)
{
	io->console_listen = console_listen();
	if (io->console_listen < 0)
		return io->console_listen;
	for (int i = 0; i < 3; i++) {
		io->child[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (io->child[i] < 0)
			return -errno;
	}
	return 0;
}

static size_t build_argv(const Conmon *c, const CreateIo *io, const char **argv)
{
	const ConmonConfig *cfg = c->cfg;
	size_t n = 0;
	argv[n++] = cfg->runtime;
	for (size_t i = 0; i < cfg->n_runtime_args; i++)
		argv[n++] = cfg->runtime_args[i];
	const char *fixed[] = {"--root",     cfg->runtime_root, "--log",
			       io->log,	     "--log-format",	"json",
			       "create",     "--bundle",	cfg->bundle,
			       "--pid-file", io->pidfile};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		argv[n++] = fixed[i];
	if (cfg->terminal) {
		argv[n++] = "--console-socket";
		argv[n++] = io->console;
	}
	argv[n++] = cfg->id;
	argv[n] = NULL;
	return n;
}

static pid_t spawn_runtime(const Conmon *c, const CreateIo *io, int *err)
{
	const char *argv[MAX_ARGS];
	build_argv(c, io, argv);
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	for (int i = 0; i < 3; i++)
		posix_spawn_file_actions_adddup2(&fa, io->child[i], i);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF);
	pid_t pid = -1;
	*err = posix_spawn(&pid, argv[0], &fa, &attr, (char **)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return *err ? -1 : pid;
}

/* Wait for the runtime with a deadline; it is killed at the deadline.
 * 0 with its status, or -ETIMEDOUT. */
static int wait_runtime(pid_t pid, unsigned timeout_s, int *status)
{
	conmon_autoclose pidfd = (int)pidfd_open(pid, 0);
	int64_t deadline = conmon_mono_ns() + (int64_t)timeout_s * 1000000000;
	int r = 0;
	while (pidfd >= 0) {
		int64_t left = deadline - conmon_mono_ns();
		if (left <= 0) {
			kill(pid, SIGKILL);
			r = -ETIMEDOUT;
			break;
		}
		struct pollfd p = {pidfd, POLLIN, 0};
		int n = poll(&p, 1, (int)(left / 1000000) + 1);
		if (n > 0)
			break;
		if (n < 0 && errno != EINTR)
			break;
	}
	while (waitpid(pid, status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
	}
	return r;
}

/* The last cap-1 bytes of a file, NUL-terminated ("" if unreadable). */
static void read_tail(const char *path, char *buf, size_t cap)
{
	buf[0] = '\0';
	conmon_autoclose fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	off_t size = lseek(fd, 0, SEEK_END);
	off_t from = size > (off_t)(cap - 1) ? size - (off_t)(cap - 1) : 0;
	ssize_t n = pread(fd, buf, cap - 1, from);
	buf[n > 0 ? n : 0] = '\0';
}

static void read_pipe_now(int fd, char *buf, size_t cap)
{
	size_t got = 0;
	while (fd >= 0 && got + 1 < cap) {
		ssize_t n = read(fd, buf + got, cap - 1 - got);
		if (n <= 0)
			break;
		got += n;
	}
	buf[got] = '\0';
}

static int create_failed(Conmon *c, const CreateIo *io, int status, char *why,
			 size_t why_len)
{
	char logtext[8192], errtext[4096];
	read_tail(io->log, logtext, sizeof logtext);
	read_pipe_now(c->out[1], errtext, sizeof errtext);
	conmon_runtime_error_message(logtext, errtext, status, why, why_len);
	return -1;
}

/* The pty master the runtime sent on the console socket. */
static int receive_console(int listen_fd)
{
	conmon_autoclose fd = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return -errno;
	char data[1];
	char control[CMSG_SPACE(sizeof(int))];
	struct iovec iov = {data, sizeof data};
	struct msghdr msg = {.msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = control,
			     .msg_controllen = sizeof control};
	if (recvmsg(fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT) < 0)
		return -errno;
	struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
	if (cm == NULL || cm->cmsg_level != SOL_SOCKET ||
	    cm->cmsg_type != SCM_RIGHTS)
		return -EBADMSG;
	int master;
	memcpy(&master, CMSG_DATA(cm), sizeof master);
	fcntl(master, F_SETFL, O_NONBLOCK);
	return master;
}

static int read_container_pid(const char *pidfile, pid_t *pid)
{
	char text[32];
	ssize_t n = conmon_read_small_file(pidfile, text, sizeof text);
	if (n < 0)
		return (int)n;
	long v = strtol(text, NULL, 10);
	if (v <= 0)
		return -EINVAL;
	*pid = (pid_t)v;
	return 0;
}

static int create_succeeded(Conmon *c, const CreateIo *io, char *why,
			    size_t why_len)
{
	int r = read_container_pid(io->pidfile, &c->container_pid);
	if (r < 0) {
		snprintf(why, why_len, "read %s: %s", io->pidfile,
			 strerror(-r));
		return -1;
	}
	if (!c->cfg->terminal)
		return 0;
	int master = receive_console(io->console_listen);
	if (master < 0) {
		snprintf(why, why_len, "no terminal from the runtime on %s: %s",
			 io->console, strerror(-master));
		return -1;
	}
	c->out[0] = master;
	c->stdin_fd = c->cfg->stdin_open ? master : -1;
	return 0;
}

static int prepare_io(Conmon *c, CreateIo *io)
{
	const char *dir = c->cfg->socket_dir;
	int n1 = snprintf(io->log, sizeof io->log, "%s/" RUNTIME_LOG, dir);
	int n2 = snprintf(io->pidfile, sizeof io->pidfile,
			  "%s/" CONTAINER_PID_FILE, dir);
	int n3 = snprintf(io->console, sizeof io->console, "%s/" CONSOLE_SOCKET,
			  dir);
	if (n1 < 0 || n2 < 0 || n3 < 0 || (size_t)n3 >= sizeof io->console)
		return -ENAMETOOLONG;
	unlink(io->log);
	unlink(io->pidfile);
	return c->cfg->terminal ? setup_console(io) : setup_pipes(c, io);
}

int conmon_runtime_create(Conmon *c, char *why, size_t why_len)
{
	CreateIo io = {.child = {-1, -1, -1}, .console_listen = -1};
	int r = prepare_io(c, &io);
	if (r < 0) {
		create_io_close(&io);
		snprintf(why, why_len, "container stdio: %s", strerror(-r));
		return -1;
	}
	int err = 0;
	pid_t pid = spawn_runtime(c, &io, &err);
	for (int i = 0; i < 3; i++) {
		close(io.child[i]);
		io.child[i] = -1;
	}
	int status = 0;
	if (pid < 0)
		snprintf(why, why_len, "start %s: %s", c->cfg->runtime,
			 strerror(err));
	else if ((r = wait_runtime(pid, c->cfg->timeout_s, &status)) < 0)
		snprintf(why, why_len, "%s create: %s", c->cfg->runtime,
			 r == -ETIMEDOUT ? "timed out" : strerror(-r));
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		r = create_failed(c, &io, status, why, why_len);
	else
		r = create_succeeded(c, &io, why, why_len);
	if (pid < 0)
		r = -1;
	create_io_close(&io);
	return r < 0 ? -1 : 0;
}
