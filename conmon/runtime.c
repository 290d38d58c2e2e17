/* `<runtime> create`, `<runtime> run --detach` (--start) or, in exec
 * mode, `<runtime> exec --detach` under the monitor: the process's stdio, the
 * console socket for a tty, a bounded wait, and the runtime's message when it
 * fails. The container init (or the exec'd process) is reparented to the
 * monitor (a subreaper) when the runtime exits. */
#include "conmon/runtime.h"
#include "conmon/protocol.h"
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
#define CONSOLE_SOCKET "console.sock"
#define FIXED_ARGS 24

extern char **environ;

typedef struct {
	char log[4096];
	char pidfile[4096];
	/* What the runtime connects to: the absolute path when it fits in
	 * sun_path, else the same socket through the monitor's cwd (the
	 * socket dir), /proc/<monitor>/cwd/<name>: short, and no fd of the
	 * monitor's has to be passed on to the runtime. */
	char console[4096];
	char console_name[64];
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
		unlink(io->console_name);
	}
	io->console_listen = -1;
}

static int console_listen(const char *name)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	if (strlen(name) >= sizeof addr.sun_path)
		return -ENAMETOOLONG;
	strcpy(addr.sun_path, name);
	unlink(name);
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
	io->console_listen = console_listen(io->console_name);
	if (io->console_listen < 0)
		return io->console_listen;
	for (int i = 0; i < 3; i++) {
		io->child[i] = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (io->child[i] < 0)
			return -errno;
	}
	return 0;
}

static void add_exec_args(const ConmonConfig *cfg, const CreateIo *io,
			  const char **argv, size_t *n)
{
	argv[(*n)++] = "exec";
	argv[(*n)++] = "--detach";
	argv[(*n)++] = "--pid-file";
	argv[(*n)++] = io->pidfile;
	if (cfg->terminal) {
		/* With --process the file's "terminal" decides. */
		if (cfg->process_file == NULL)
			argv[(*n)++] = "--tty";
		argv[(*n)++] = "--console-socket";
		argv[(*n)++] = io->console;
	}
	if (cfg->process_file != NULL) {
		argv[(*n)++] = "--process";
		argv[(*n)++] = cfg->process_file;
	}
	argv[(*n)++] = cfg->id;
	for (size_t i = 0; i < cfg->n_exec_argv; i++)
		argv[(*n)++] = cfg->exec_argv[i];
}

/* create, or run --detach: the same options, and the runtime writes the
 * pid file once the container is created (run: and started). */
static void add_create_args(const ConmonConfig *cfg, const CreateIo *io,
			    const char **argv, size_t *n)
{
	if (cfg->start) {
		argv[(*n)++] = "run";
		argv[(*n)++] = "--detach";
	} else {
		argv[(*n)++] = "create";
	}
	const char *fixed[] = {"--bundle", cfg->bundle, "--pid-file",
			       io->pidfile};
	for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
		argv[(*n)++] = fixed[i];
	if (cfg->terminal) {
		argv[(*n)++] = "--console-socket";
		argv[(*n)++] = io->console;
	}
	argv[(*n)++] = cfg->id;
}

/* The runtime's command line, NULL-ended; free it (the strings are
 * borrowed). */
static const char **build_argv(const Conmon *c, const CreateIo *io)
{
	const ConmonConfig *cfg = c->cfg;
	const char **argv =
		calloc(cfg->n_runtime_args + cfg->n_exec_argv + FIXED_ARGS,
		       sizeof *argv);
	if (argv == NULL)
		return NULL;
	size_t n = 0;
	argv[n++] = cfg->runtime;
	for (size_t i = 0; i < cfg->n_runtime_args; i++)
		argv[n++] = cfg->runtime_args[i];
	const char *global[] = {"--root", cfg->runtime_root, "--log",
				io->log,  "--log-format",    "json"};
	for (size_t i = 0; i < sizeof global / sizeof global[0]; i++)
		argv[n++] = global[i];
	if (cfg->exec)
		add_exec_args(cfg, io, argv, &n);
	else
		add_create_args(cfg, io, argv, &n);
	argv[n] = NULL;
	return argv;
}

/* Run argv[0] with child[0..2] as its stdio, in a process group of its
 * own, so that a timeout kills what it started (its init, a wrapper's
 * children) with it. */
static pid_t spawn_argv(const char **argv, const int child[3], int *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	sigset_t none, all;
	sigemptyset(&none);
	sigfillset(&all);
	posix_spawn_file_actions_init(&fa);
	for (int i = 0; i < 3; i++)
		posix_spawn_file_actions_adddup2(&fa, child[i], i);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &all);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
						POSIX_SPAWN_SETSIGDEF |
						POSIX_SPAWN_SETPGROUP);
	pid_t pid = -1;
	*err = posix_spawn(&pid, argv[0], &fa, &attr, (char **)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	return *err ? -1 : pid;
}

static pid_t spawn_runtime(const Conmon *c, const CreateIo *io, int *err)
{
	conmon_autofree const char **argv = build_argv(c, io);
	if (argv == NULL) {
		*err = ENOMEM;
		return -1;
	}
	return spawn_argv(argv, io->child, err);
}

/* Wait for the runtime with a deadline; at the deadline it is killed
 * with its process group. 0 with its status, or -ETIMEDOUT. */
static int wait_runtime(pid_t pid, unsigned timeout_s, int *status)
{
	conmon_autoclose pidfd = (int)pidfd_open(pid, 0);
	int64_t deadline = conmon_mono_ns() + (int64_t)timeout_s * 1000000000;
	int r = 0;
	while (pidfd >= 0) {
		int64_t left = deadline - conmon_mono_ns();
		if (left <= 0) {
			kill(-pid, SIGKILL);
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

/* File names in the socket dir: fixed for the container, unique per
 * monitor for an exec (several may run at once). */
static int name_files(const Conmon *c, CreateIo *io)
{
	const char *dir = c->cfg->socket_dir;
	char log[64], pidfile[64];
	struct sockaddr_un addr;
	if (c->cfg->exec) {
		int pid = (int)getpid();
		snprintf(log, sizeof log, "exec-%d.log", pid);
		snprintf(pidfile, sizeof pidfile, "exec-%d.pid", pid);
		snprintf(io->console_name, sizeof io->console_name,
			 "exec-%d.sock", pid);
	} else {
		snprintf(log, sizeof log, RUNTIME_LOG);
		snprintf(pidfile, sizeof pidfile, CONMON_CONTAINER_PID_FILE);
		snprintf(io->console_name, sizeof io->console_name,
			 CONSOLE_SOCKET);
	}
	int n1 = snprintf(io->log, sizeof io->log, "%s/%s", dir, log);
	int n2 = snprintf(io->pidfile, sizeof io->pidfile, "%s/%s", dir,
			  pidfile);
	int n3 = snprintf(io->console, sizeof io->console, "%s/%s", dir,
			  io->console_name);
	if (n1 < 0 || n2 < 0 || n3 < 0 || (size_t)n1 >= sizeof io->log ||
	    (size_t)n2 >= sizeof io->pidfile)
		return -ENAMETOOLONG;
	if ((size_t)n3 >= sizeof addr.sun_path)
		snprintf(io->console, sizeof io->console, "/proc/%d/cwd/%s",
			 (int)getpid(), io->console_name);
	return 0;
}

static int prepare_io(Conmon *c, CreateIo *io)
{
	int r = name_files(c, io);
	if (r < 0)
		return r;
	unlink(io->log);
	unlink(io->pidfile);
	return c->cfg->terminal ? setup_console(io) : setup_pipes(c, io);
}

int conmon_runtime_create(Conmon *c, char *why, size_t why_len)
{
	CreateIo io = {.child = {-1, -1, -1}, .console_listen = -1};
	const char *verb = c->cfg->exec	   ? "exec"
			   : c->cfg->start ? "run"
					   : "create";
	int r = prepare_io(c, &io);
	if (r < 0) {
		create_io_close(&io);
		snprintf(why, why_len, "process stdio: %s", strerror(-r));
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
	else if ((r = wait_runtime(pid, c->cfg->timeout_s, &status)) ==
		 -ETIMEDOUT)
		snprintf(why, why_len, "%s %s: timed out after %u s",
			 c->cfg->runtime, verb, c->cfg->timeout_s);
	else if (r < 0)
		snprintf(why, why_len, "%s %s: %s", c->cfg->runtime, verb,
			 strerror(-r));
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		r = create_failed(c, &io, status, why, why_len);
	else
		r = create_succeeded(c, &io, why, why_len);
	if (pid < 0)
		r = -1;
	create_io_close(&io);
	if (c->cfg->exec) {
		unlink(io.log);
		unlink(io.pidfile);
	}
	return r == -ETIMEDOUT ? -ETIMEDOUT : r < 0 ? -1 : 0;
}

int conmon_runtime_delete(Conmon *c)
{
	const ConmonConfig *cfg = c->cfg;
	const char *argv[CONMON_MAX_RUNTIME_ARGS + 8];
	size_t n = 0;
	argv[n++] = cfg->runtime;
	for (size_t i = 0; i < cfg->n_runtime_args; i++)
		argv[n++] = cfg->runtime_args[i];
	const char *rest[] = {"--root", cfg->runtime_root, "delete", "--force",
			      cfg->id};
	for (size_t i = 0; i < sizeof rest / sizeof rest[0]; i++)
		argv[n++] = rest[i];
	argv[n] = NULL;
	conmon_autoclose null = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null < 0)
		return -errno;
	int child[3] = {null, null, null}, err = 0, status = 0;
	pid_t pid = spawn_argv(argv, child, &err);
	if (pid < 0)
		return -err;
	int r = wait_runtime(pid, cfg->timeout_s, &status);
	if (r < 0)
		return r;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -ECHILD;
	return conmon_replace_file(CONMON_DELETED_FILE, "", 0, 0644);
}
