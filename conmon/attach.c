/* The attach socket: output frames to every client, stdin and resize
 * frames from them. A client is never allowed to stall the container:
 * one whose socket buffer is full is disconnected. */
#include "conmon/attach.h"
#include "conmon/exec.h"
#include "conmon/io.h"
#include "conmon/protocol.h"
#include "conmon/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_CLIENTS 64

int conmon_attach_listen(Conmon *c)
{
	int fd = conmon_listen_seqpacket(CONMON_ATTACH_SOCKET);
	if (fd < 0)
		return fd;
	c->attach_listen = fd;
	return conmon_watch(c, CONMON_EV_ATTACH_LISTEN, fd, EPOLLIN);
}

static void client_remove(Conmon *c, size_t i)
{
	if (!c->clients_paused)
		conmon_unwatch(c, c->clients[i]);
	close(c->clients[i]);
	c->clients[i] = c->clients[--c->n_clients];
}

static void client_drop_fd(Conmon *c, int fd)
{
	for (size_t i = 0; i < c->n_clients; i++) {
		if (c->clients[i] == fd) {
			client_remove(c, i);
			return;
		}
	}
}

static bool clients_grow(Conmon *c)
{
	if (c->n_clients < c->cap_clients)
		return true;
	size_t cap = c->cap_clients ? c->cap_clients * 2 : 4;
	int *p = realloc(c->clients, cap * sizeof *p);
	if (p == NULL)
		return false;
	c->clients = p;
	c->cap_clients = cap;
	return true;
}

void conmon_attach_accept(Conmon *c)
{
	int fd = accept4(c->attach_listen, NULL, NULL,
			 SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (c->n_clients >= MAX_CLIENTS || !clients_grow(c)) {
		conmon_diag("attach: too many clients, one refused");
		close(fd);
		return;
	}
	int size = CONMON_ATTACH_CLIENT_SNDBUF;
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof size) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
	c->clients[c->n_clients++] = fd;
	if (!c->clients_paused)
		conmon_watch(c, CONMON_EV_ATTACH_CLIENT, fd, EPOLLIN);
}

int conmon_attach_parse_resize(const char *payload, size_t len, unsigned *rows,
			       unsigned *cols)
{
	uint16_t be[2];
	if (len != CONMON_RESIZE_PAYLOAD)
		return -1;
	memcpy(be, payload, sizeof be);
	*rows = ntohs(be[0]);
	*cols = ntohs(be[1]);
	return 0;
}

static void resize_frame(Conmon *c, const char *payload, size_t len)
{
	unsigned rows, cols;
	if (conmon_attach_parse_resize(payload, len, &rows, &cols) < 0) {
		conmon_diag("attach: malformed resize frame (%zu bytes)", len);
		return;
	}
	int r = conmon_io_resize(c, rows, cols);
	if (r < 0 && r != -ENOTTY)
		conmon_diag("resize to %ux%u: %s", rows, cols, strerror(-r));
}

void conmon_attach_frame(Conmon *c, const char *frame, size_t len)
{
	if (len == 0)
		return;
	if (frame[0] == CONMON_FRAME_STDIN && c->cfg->stdin_open)
		conmon_io_stdin_write(c, frame + 1, len - 1);
	else if (frame[0] == CONMON_FRAME_CLOSE_STDIN)
		conmon_io_stdin_close(c);
	else if (frame[0] == CONMON_FRAME_RESIZE)
		resize_frame(c, frame + 1, len - 1);
}

void conmon_attach_client_event(Conmon *c, int fd, uint32_t events)
{
	static char frame[1 + CONMON_ATTACH_MAX_PAYLOAD];
	if (!(events & EPOLLIN)) {
		client_drop_fd(c, fd);
		return;
	}
	/* A frame from another client filled the stdin queue during this
	 * round of events: this one waits for the resume. */
	if (!conmon_io_stdin_has_room(c))
		return;
	ssize_t n = recv(fd, frame, sizeof frame, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		client_drop_fd(c, fd);
		return;
	}
	conmon_attach_frame(c, frame, (size_t)n);
}

void conmon_attach_broadcast(Conmon *c, int type, const char *data, size_t len)
{
	unsigned char hdr = (unsigned char)type;
	struct iovec iov[2] = {{&hdr, 1}, {(void *)data, len}};
	struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
	for (size_t i = c->n_clients; i-- > 0;) {
		ssize_t n = sendmsg(c->clients[i], &msg,
				    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n >= 0)
			continue;
		if (errno == EAGAIN)
			conmon_diag("attach: a client too slow to take the "
				    "output was disconnected");
		client_remove(c, i);
	}
}

void conmon_attach_pause(Conmon *c, bool paused)
{
	if (paused == c->clients_paused)
		return;
	/* Out of the epoll set rather than watched for nothing: a client
	 * that hung up would otherwise wake the loop without end. */
	for (size_t i = 0; i < c->n_clients; i++) {
		if (paused)
			conmon_unwatch(c, c->clients[i]);
		else
			conmon_watch(c, CONMON_EV_ATTACH_CLIENT, c->clients[i],
				     EPOLLIN);
	}
	c->clients_paused = paused;
	if (c->exec_fd >= 0)
		conmon_exec_rewatch(c);
}

void conmon_attach_close(Conmon *c)
{
	while (c->n_clients > 0)
		client_remove(c, c->n_clients - 1);
	free(c->clients);
	c->clients = NULL;
	c->cap_clients = 0;
	if (c->attach_listen >= 0) {
		close(c->attach_listen);
		unlink(CONMON_ATTACH_SOCKET);
	}
	c->attach_listen = -1;
}
