/* Moving the container's bytes: output from the pipes or the pty master
 * to the log writer and the attach clients; stdin frames to the container
 * through a one-frame queue that pauses the clients while it is full. */
#include "conmon/io.h"
#include "conmon/attach.h"
#include "conmon/exec.h"
#include "conmon/protocol.h"
#include "conmon/util.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <termios.h>

/* A partial line is written as P after this long without its newline. */
#define PARTIAL_IDLE_NS 1000000000LL
/* Bound on reads while draining a dead container's output. */
#define DRAIN_MAX_READS 4096

typedef enum { PUMP_DATA, PUMP_AGAIN, PUMP_CLOSED } PumpResult;

static char io_buf[CONMON_ATTACH_MAX_PAYLOAD];

static int stream_of(const Conmon *c, int fd)
{
	return fd == c->out[1] ? CONMON_STREAM_STDERR : CONMON_STREAM_STDOUT;
}

static void log_result(int r)
{
	static int last_error;
	if (r < 0 && r != last_error)
		conmon_diag("write log: %s", strerror(-r));
	last_error = r;
}

static void track_partial(Conmon *c, int stream)
{
	if (conmon_log_pending(&c->log, stream) == 0)
		c->partial_deadline[stream] = 0;
	else if (c->partial_deadline[stream] == 0)
		c->partial_deadline[stream] =
			conmon_mono_ns() + PARTIAL_IDLE_NS;
}

static void deliver(Conmon *c, int stream, const char *data, size_t len)
{
	int type = stream == CONMON_STREAM_STDERR ? CONMON_FRAME_STDERR
						  : CONMON_FRAME_STDOUT;
	if (c->cfg->exec) {
		conmon_exec_output(c, type, data, len);
		return;
	}
	log_result(
		conmon_log_feed(&c->log, stream, data, len, conmon_now_ns()));
	track_partial(c, stream);
	conmon_attach_broadcast(c, type, data, len);
}

static void flush_partial(Conmon *c, int stream)
{
	if (c->cfg->exec)
		return;
	log_result(conmon_log_flush(&c->log, stream, conmon_now_ns()));
	c->partial_deadline[stream] = 0;
}

static void drop_stdin(Conmon *c)
{
	free(c->stdin_q.buf);
	memset(&c->stdin_q, 0, sizeof c->stdin_q);
	if (c->clients_paused)
		conmon_attach_pause(c, false);
}

static void close_output(Conmon *c, int fd)
{
	int stream = stream_of(c, fd);
	if (c->out_watched[stream])
		conmon_unwatch(c, fd);
	c->out_watched[stream] = false;
	if (fd == c->stdin_fd) {
		/* The pty master was stdin as well. */
		c->stdin_fd = -1;
		drop_stdin(c);
	}
	close(fd);
	c->out[stream] = -1;
	flush_partial(c, stream);
}

static PumpResult pump(Conmon *c, int fd)
{
	/* Exec mode: a frame waits for the client; the process's writes
	 * block meanwhile. */
	if (c->output_paused)
		return PUMP_AGAIN;
	ssize_t n = read(fd, io_buf, sizeof io_buf);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return PUMP_AGAIN;
	/* EOF, or EIO from a pty master whose terminal is closed. */
	if (n <= 0) {
		close_output(c, fd);
		return PUMP_CLOSED;
	}
	deliver(c, stream_of(c, fd), io_buf, (size_t)n);
	return PUMP_DATA;
}

bool conmon_io_pump(Conmon *c, int fd)
{
	return pump(c, fd) != PUMP_CLOSED;
}

bool conmon_io_drain_now(Conmon *c)
{
	for (int s = 0; s < 2; s++) {
		PumpResult r = PUMP_DATA;
		while (c->out[s] >= 0 && r == PUMP_DATA && !c->output_paused)
			r = pump(c, c->out[s]);
	}
	return !c->output_paused;
}

void conmon_io_watch_outputs(Conmon *c)
{
	for (int s = 0; s < 2; s++) {
		int fd = c->out[s];
		if (fd < 0)
			continue;
		if (c->output_paused) {
			/* Out of the set: a hung-up pipe would wake the
			 * loop without end. */
			if (c->out_watched[s])
				conmon_unwatch(c, fd);
			c->out_watched[s] = false;
			continue;
		}
		uint32_t ev = EPOLLIN;
		if (fd == c->stdin_fd && c->stdin_q.len > 0)
			ev |= EPOLLOUT; /* the pty master is stdin too */
		if (c->out_watched[s])
			conmon_rewatch(c, CONMON_EV_OUTPUT, fd, ev);
		else
			conmon_watch(c, CONMON_EV_OUTPUT, fd, ev);
		c->out_watched[s] = true;
	}
}

int conmon_io_resize(Conmon *c, unsigned rows, unsigned cols)
{
	if (!c->cfg->terminal || c->out[0] < 0)
		return -ENOTTY;
	struct winsize ws = {.ws_row = (unsigned short)rows,
			     .ws_col = (unsigned short)cols};
	return ioctl(c->out[0], TIOCSWINSZ, &ws) < 0 ? -errno : 0;
}

void conmon_io_drain(Conmon *c)
{
	for (int s = 0; s < 2; s++) {
		for (int i = 0; i < DRAIN_MAX_READS && c->out[s] >= 0; i++) {
			if (pump(c, c->out[s]) != PUMP_DATA)
				break;
		}
		flush_partial(c, s);
	}
}

int conmon_io_flush_idle(Conmon *c)
{
	int64_t now = conmon_mono_ns();
	int timeout = -1;
	for (int s = 0; s < 2; s++) {
		int64_t due = c->partial_deadline[s];
		if (due == 0)
			continue;
		if (due <= now) {
			flush_partial(c, s);
			continue;
		}
		int ms = (int)((due - now + 999999) / 1000000);
		if (timeout < 0 || ms < timeout)
			timeout = ms;
	}
	return timeout;
}

/* Ask for (or stop asking for) the stdin fd's writability, once
 * c->stdin_q says whether bytes wait. On a tty it is the pty master,
 * watched for output as well. */
static void want_stdin_writable(Conmon *c, bool on)
{
	if (c->cfg->terminal) {
		conmon_io_watch_outputs(c);
	} else if (on) {
		conmon_watch(c, CONMON_EV_STDIN, c->stdin_fd, EPOLLOUT);
	} else {
		conmon_unwatch(c, c->stdin_fd);
	}
}

/* The terminal's EOF character makes a reader in canonical mode see end
 * of file only at the start of a line: after a partial line the first
 * one just hands the line over, so then it is sent twice. */
static void send_tty_eof(Conmon *c)
{
	struct termios t;
	char eof[2] = {4, 4};
	bool canonical = true;
	if (tcgetattr(c->stdin_fd, &t) == 0) {
		eof[0] = eof[1] = (char)t.c_cc[VEOF];
		canonical = (t.c_lflag & ICANON) != 0;
	}
	bool partial = c->stdin_last != 0 && c->stdin_last != '\n' &&
		       c->stdin_last != eof[0];
	size_t n = canonical && partial ? 2 : 1;
	if (write(c->stdin_fd, eof, n) < 0)
		conmon_diag("send EOF to the terminal: %s", strerror(errno));
}

/* No more stdin: on a tty the master is also the output, so it stays
 * open (with send_eof, the terminal's EOF character tells the program);
 * a pipe is closed. */
static void stdin_shutdown(Conmon *c, bool send_eof)
{
	bool queued = c->stdin_q.len > 0;
	if (c->cfg->terminal && send_eof)
		send_tty_eof(c);
	if (!c->cfg->terminal) {
		if (queued)
			conmon_unwatch(c, c->stdin_fd);
		close(c->stdin_fd);
	}
	c->stdin_fd = -1;
	drop_stdin(c);
	if (queued && c->cfg->terminal)
		conmon_io_watch_outputs(c);
}

/* Write what can be written now; false when the stdin fd is broken
 * (the container closed its end), which closes it. */
static bool write_some(Conmon *c, const char *data, size_t len, size_t *done)
{
	*done = 0;
	while (*done < len) {
		ssize_t n = write(c->stdin_fd, data + *done, len - *done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return true;
		if (n < 0) {
			conmon_diag("write stdin: %s", strerror(errno));
			stdin_shutdown(c, false);
			return false;
		}
		*done += (size_t)n;
		c->stdin_last = data[*done - 1];
	}
	return true;
}

void conmon_io_stdin_write(Conmon *c, const char *data, size_t len)
{
	ConmonStdinQueue *q = &c->stdin_q;
	size_t done = 0;
	if (c->stdin_fd < 0 || len == 0 || q->close_after)
		return;
	/* Callers hold frames back while the queue is in use. */
	if (q->len > 0) {
		conmon_diag("stdin queue busy: %zu bytes lost", len);
		return;
	}
	if (!write_some(c, data, len, &done))
		return;
	if (done == len)
		return;
	if (q->buf == NULL)
		q->buf = malloc(CONMON_ATTACH_MAX_PAYLOAD);
	if (q->buf == NULL || len - done > CONMON_ATTACH_MAX_PAYLOAD) {
		conmon_diag("stdin queue: no memory, %zu bytes lost",
			    len - done);
		return;
	}
	memcpy(q->buf, data + done, len - done);
	q->len = len - done;
	q->off = 0;
	want_stdin_writable(c, true);
	conmon_attach_pause(c, true);
}

void conmon_io_stdin_ready(Conmon *c)
{
	ConmonStdinQueue *q = &c->stdin_q;
	size_t done = 0;
	if (c->stdin_fd < 0 || q->len == 0)
		return;
	if (!write_some(c, q->buf + q->off, q->len - q->off, &done))
		return;
	q->off += done;
	if (q->off < q->len)
		return;
	q->len = q->off = 0;
	want_stdin_writable(c, false);
	conmon_attach_pause(c, false);
	if (q->close_after)
		stdin_shutdown(c, true);
}

void conmon_io_stdin_close(Conmon *c)
{
	if (c->stdin_fd < 0)
		return;
	if (c->stdin_q.len > 0)
		c->stdin_q.close_after = true;
	else
		stdin_shutdown(c, true);
}

bool conmon_io_stdin_has_room(const Conmon *c)
{
	return c->stdin_q.len == 0;
}
