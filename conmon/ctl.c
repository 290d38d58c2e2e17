/* The control socket: "resize <rows> <cols>", "reopen", "kill <sig>" and
 * "pid", one reply ("ok", "ok <pid>" or "error: <why>") per command. */
#include "conmon/ctl.h"
#include "conmon/io.h"
#include "conmon/protocol.h"
#include "conmon/util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

static bool parse_dim(const char *s, unsigned short *out)
{
	char *end = NULL;
	if (*s < '0' || *s > '9')
		return false;
	unsigned long v = strtoul(s, &end, 10);
	if (*end != '\0' || v > 65535)
		return false;
	*out = (unsigned short)v;
	return true;
}

static bool parse_signal(const char *s, int *out)
{
	char *end = NULL;
	if (*s < '1' || *s > '9')
		return false;
	unsigned long v = strtoul(s, &end, 10);
	if (*end != '\0' || v > (unsigned long)SIGRTMAX)
		return false;
	*out = (int)v;
	return true;
}

int conmon_ctl_parse(const char *msg, size_t len, ConmonCtlCommand *cmd,
		     char *why, size_t why_len)
{
	char text[CONMON_CTL_MAX_MESSAGE];
	while (len > 0 && (msg[len - 1] == '\n' || msg[len - 1] == '\r'))
		len--;
	if (len >= sizeof text || memchr(msg, '\0', len) != NULL) {
		snprintf(why, why_len, "malformed command");
		return -1;
	}
	memcpy(text, msg, len);
	text[len] = '\0';
	char *save = NULL;
	const char *verb = strtok_r(text, " ", &save);
	const char *a = verb ? strtok_r(NULL, " ", &save) : NULL;
	const char *b = a ? strtok_r(NULL, " ", &save) : NULL;
	const char *extra = b ? strtok_r(NULL, " ", &save) : NULL;
	if (verb != NULL && strcmp(verb, "reopen") == 0 && a == NULL) {
		cmd->kind = CONMON_CTL_REOPEN;
		return 0;
	}
	if (verb != NULL && strcmp(verb, "pid") == 0 && a == NULL) {
		cmd->kind = CONMON_CTL_PID;
		return 0;
	}
	if (verb != NULL && strcmp(verb, "kill") == 0 && a != NULL &&
	    b == NULL && parse_signal(a, &cmd->signo)) {
		cmd->kind = CONMON_CTL_KILL;
		return 0;
	}
	if (verb != NULL && strcmp(verb, "resize") == 0 && b != NULL &&
	    extra == NULL && parse_dim(a, &cmd->rows) &&
	    parse_dim(b, &cmd->cols)) {
		cmd->kind = CONMON_CTL_RESIZE;
		return 0;
	}
	snprintf(why, why_len, "unknown command \"%.*s\"", (int)len, msg);
	return -1;
}

int conmon_ctl_listen(Conmon *c)
{
	int fd = conmon_listen_seqpacket(CONMON_CTL_SOCKET);
	if (fd < 0)
		return fd;
	c->ctl_listen = fd;
	return conmon_watch(c, CONMON_EV_CTL_LISTEN, fd, EPOLLIN);
}

void conmon_ctl_accept(Conmon *c)
{
	int fd = accept4(c->ctl_listen, NULL, NULL,
			 SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (conmon_watch(c, CONMON_EV_CTL_CLIENT, fd, EPOLLIN) < 0)
		close(fd);
}

static int resize(Conmon *c, const ConmonCtlCommand *cmd, char *why,
		  size_t why_len)
{
	int r = conmon_io_resize(c, cmd->rows, cmd->cols);
	if (r == -ENOTTY)
		snprintf(why, why_len, "the container has no terminal");
	else if (r < 0)
		snprintf(why, why_len, "resize: %s", strerror(-r));
	return r < 0 ? -1 : 0;
}

/* The container init is this monitor's child (it is the subreaper) until
 * reaped here, so its pid cannot have been reused: signalling it needs
 * no runtime process. One already reaped has nothing left to signal. */
static int signal_container(Conmon *c, int signo, char *why, size_t why_len)
{
	if (c->exited)
		return 0;
	if (c->container_pid <= 0) {
		snprintf(why, why_len, "the container has not been created");
		return -1;
	}
	if (kill(c->container_pid, signo) < 0 && errno != ESRCH) {
		snprintf(why, why_len, "kill %d: %s", signo, strerror(errno));
		return -1;
	}
	return 0;
}

static int execute(Conmon *c, const ConmonCtlCommand *cmd, char *why,
		   size_t why_len)
{
	if (cmd->kind == CONMON_CTL_RESIZE)
		return resize(c, cmd, why, why_len);
	if (cmd->kind == CONMON_CTL_KILL)
		return signal_container(c, cmd->signo, why, why_len);
	if (cmd->kind == CONMON_CTL_PID)
		return 0;
	int r = conmon_log_reopen(&c->log);
	if (r < 0) {
		snprintf(why, why_len, "reopen %s: %s", c->log.path,
			 strerror(-r));
		return -1;
	}
	return 0;
}

void conmon_ctl_client_event(Conmon *c, int fd, uint32_t events)
{
	char msg[CONMON_CTL_MAX_MESSAGE], why[CONMON_CTL_MAX_MESSAGE + 64];
	char reply[sizeof why + 16];
	ssize_t n = (events & EPOLLIN) ? recv(fd, msg, sizeof msg, MSG_DONTWAIT)
				       : 0;
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		conmon_unwatch(c, fd);
		close(fd);
		return;
	}
	ConmonCtlCommand cmd;
	int r = conmon_ctl_parse(msg, (size_t)n, &cmd, why, sizeof why);
	if (r == 0)
		r = execute(c, &cmd, why, sizeof why);
	int len = r != 0 ? snprintf(reply, sizeof reply, "error: %s", why)
		  : cmd.kind == CONMON_CTL_PID
			  ? snprintf(reply, sizeof reply, "ok %d",
				     (int)c->container_pid)
			  : snprintf(reply, sizeof reply, "ok");
	if (send(fd, reply, (size_t)len, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		conmon_diag("ctl reply: %s", strerror(errno));
}

void conmon_ctl_close(Conmon *c)
{
	if (c->ctl_listen >= 0) {
		close(c->ctl_listen);
		unlink(CONMON_CTL_SOCKET);
	}
	c->ctl_listen = -1;
}
