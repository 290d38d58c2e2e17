/* Exec and Attach sessions: Kubernetes' remote command protocol over
 * SPDY/3.1 streams or WebSocket channels, joined to the monitor's frame
 * socket (an exec monitor's, or the container monitor's attach socket).
 *
 * SPDY: the client opens one stream per role, named by its "streamtype"
 * header (error, stdin, stdout, stderr, resize); we reply to each, and
 * start the command once every stream the request asked for is there.
 * WebSocket: every message is a channel byte then data (0 stdin, 1 stdout,
 * 2 stderr, 3 error, 4 resize; v5 adds 255 = "close this channel").
 * The outcome goes on the error stream: from v4 on a Status object
 * (Success, or NonZeroExitCode with the code as a cause), before v4 a
 * plain message on failure only. */
#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conmon/client.h"
#include "conmon/protocol.h"
#include "sandbox/container/ctrstream.h"
#include "server/streaming/session.h"
#include "util/error.h"
#include "util/log.h"

/* kubelet gives clients this long to open their streams. */
#define STREAM_SETUP_TIMEOUT_MS 30000
#define MAX_RESIZE_JSON 4096

enum {
	CH_STDIN = 0,
	CH_STDOUT = 1,
	CH_STDERR = 2,
	CH_ERROR = 3,
	CH_RESIZE = 4,
	CH_CLOSE = 255
};

typedef struct {
	const SessionEnv *env;
	const StreamRequest *req;
	Wire w;
	gboolean spdy;
	int version; /* 1 (channel.k8s.io) .. 5 */
	gboolean tty;
	guint32 s_error, s_stdin, s_stdout, s_stderr, s_resize;
	GString *resize;
	int be; /* the monitor's frames */
	GByteArray *to_be;
	gboolean close_stdin; /* after to_be drains */
	gboolean stdin_done;  /* CLOSE_STDIN went out: stdin is over */
	gboolean be_eof;
	/* The monitor hung up; what it sent before may still be queued on
	 * the socket, read as the client makes room (recv then ends it). */
	gboolean be_hup;
	gboolean have_exit;
	int exit_code;
	GError *failure;
} Rc;

static int version_of(const char *protocol)
{
	if (protocol == NULL || protocol[0] == '\0')
		return 1;
	if (protocol[0] == 'v' && protocol[1] >= '2' && protocol[1] <= '5' &&
	    protocol[2] == '.')
		return protocol[1] - '0';
	return 1;
}

/* --- to the client -------------------------------------------------------- */

static void put_out(Rc *rc, int channel, const void *data, gsize len)
{
	if (rc->spdy) {
		guint32 sid = channel == CH_STDOUT   ? rc->s_stdout
			      : channel == CH_STDERR ? rc->s_stderr
						     : rc->s_error;
		if (sid != 0)
			spdy_put_data(rc->w.sout, sid, 0, data, len);
	} else {
		wire_put_channel(&rc->w, channel, data, len);
	}
}

/* The error stream's content: a Status from v4 on, else text on failure. */
static char *outcome(Rc *rc)
{
	if (rc->version < 4) {
		if (rc->failure)
			return g_strdup(rc->failure->message);
		if (rc->have_exit && rc->exit_code != 0)
			return g_strdup_printf("command terminated with "
					       "non-zero exit code: %d",
					       rc->exit_code);
		return NULL;
	}
	json_t *st = json_pack("{s:{},s:s}", "metadata", "status", "Success");
	if (rc->failure) {
		json_object_set_new(st, "status", json_string("Failure"));
		json_object_set_new(st, "message",
				    json_string(rc->failure->message));
		json_object_set_new(st, "reason", json_string("InternalError"));
		json_object_set_new(st, "code", json_integer(500));
	} else if (rc->have_exit && rc->exit_code != 0) {
		g_autofree char *code = g_strdup_printf("%d", rc->exit_code);
		g_autofree char *msg = g_strdup_printf(
			"command terminated with non-zero exit code: %d",
			rc->exit_code);
		json_object_set_new(st, "status", json_string("Failure"));
		json_object_set_new(st, "message", json_string(msg));
		json_object_set_new(st, "reason",
				    json_string("NonZeroExitCode"));
		json_object_set_new(st, "details",
				    json_pack("{s:[{s:s,s:s}]}", "causes",
					      "reason", "ExitCode", "message",
					      code));
	}
	char *text = json_dumps(st, JSON_COMPACT);
	json_decref(st);
	return text;
}

/* Close every output, report the outcome, and let it reach the client. */
static void finish(Rc *rc)
{
	g_autofree char *err = outcome(rc);
	if (rc->spdy) {
		if (rc->s_stdout)
			spdy_put_data(rc->w.sout, rc->s_stdout, SPDY_FLAG_FIN,
				      NULL, 0);
		if (rc->s_stderr)
			spdy_put_data(rc->w.sout, rc->s_stderr, SPDY_FLAG_FIN,
				      NULL, 0);
		if (rc->s_error) {
			if (err)
				spdy_put_data(rc->w.sout, rc->s_error, 0, err,
					      strlen(err));
			spdy_put_data(rc->w.sout, rc->s_error, SPDY_FLAG_FIN,
				      NULL, 0);
		}
	} else {
		if (err)
			wire_put_channel(&rc->w, CH_ERROR, err, strlen(err));
		wire_put_ws_close(&rc->w, 1000, "");
	}
	wire_drain(&rc->w, 5000);
}

/* --- from the client ------------------------------------------------------ */

static void apply_resize(Rc *rc, guint rows, guint cols)
{
	if (!rc->tty || rows == 0 || cols == 0 || rows > 65535 || cols > 65535)
		return;
	g_autoptr(GError) error = NULL;
	gboolean ok =
		rc->req->kind == STREAM_EXEC
			? conmon_attach_resize(rc->be, rows, cols, &error)
			: ctr_stream_resize(rc->env->containers, rc->req->id,
					    rows, cols, &error);
	if (!ok)
		log_debug("resize of %s: %s", rc->req->id, error->message);
}

/* Resize events are a sequence of {"Width":W,"Height":H} objects. */
static void take_resize(Rc *rc, const guint8 *data, gsize len)
{
	g_string_append_len(rc->resize, (const char *)data, len);
	for (;;) {
		char *end = memchr(rc->resize->str, '}', rc->resize->len);
		if (end == NULL)
			break;
		gsize n = end - rc->resize->str + 1;
		json_error_t je;
		json_t *j = json_loadb(rc->resize->str, n, 0, &je);
		if (j) {
			json_int_t w =
				json_integer_value(json_object_get(j, "Width"));
			json_int_t h = json_integer_value(
				json_object_get(j, "Height"));
			if (rc->be >= 0 && w > 0 && h > 0)
				apply_resize(rc, (guint)h, (guint)w);
			json_decref(j);
		}
		g_string_erase(rc->resize, 0, n);
	}
	if (rc->resize->len > MAX_RESIZE_JSON)
		g_string_truncate(rc->resize, 0);
}

static void take_stdin(Rc *rc, const guint8 *data, gsize len)
{
	if (rc->req->in && !rc->close_stdin && !rc->stdin_done)
		g_byte_array_append(rc->to_be, data, len);
}

static void spdy_open(Rc *rc, const SpdyFrame *f)
{
	const SpdyHeader *h = spdy_frame_header(f, "streamtype");
	const char *type = h ? h->value : "";
	guint32 *slot = g_str_equal(type, "error")    ? &rc->s_error
			: g_str_equal(type, "stdin")  ? &rc->s_stdin
			: g_str_equal(type, "stdout") ? &rc->s_stdout
			: g_str_equal(type, "stderr") ? &rc->s_stderr
			: g_str_equal(type, "resize") ? &rc->s_resize
						      : NULL;
	if (slot == NULL || *slot != 0) {
		spdy_put_rst_stream(rc->w.sout, f->stream_id,
				    SPDY_RST_PROTOCOL_ERROR);
		return;
	}
	*slot = f->stream_id;
	spdy_put_syn_reply(rc->w.spdy, rc->w.sout, f->stream_id, 0, NULL, 0);
	if (f->flags & SPDY_FLAG_FIN && slot == &rc->s_stdin)
		rc->close_stdin = TRUE;
}

static void spdy_frame(Rc *rc, const SpdyFrame *f)
{
	switch (f->type) {
	case SPDY_SYN_STREAM:
		spdy_open(rc, f);
		break;
	case SPDY_DATA:
		if (f->len > 0) {
			spdy_put_window_update(rc->w.sout, f->stream_id,
					       f->len);
			spdy_put_window_update(rc->w.sout, 0, f->len);
		}
		if (f->stream_id == rc->s_stdin && rc->s_stdin) {
			take_stdin(rc, f->data, f->len);
			if (f->flags & SPDY_FLAG_FIN)
				rc->close_stdin = TRUE;
		} else if (f->stream_id == rc->s_resize && rc->s_resize) {
			take_resize(rc, f->data, f->len);
		}
		break;
	case SPDY_RST_STREAM:
		if (f->stream_id == rc->s_stdin && rc->s_stdin)
			rc->close_stdin = TRUE;
		break;
	case SPDY_PING:
		if (f->ping_id & 1)
			spdy_put_ping(rc->w.sout, f->ping_id);
		break;
	case SPDY_GOAWAY:
		rc->w.eof = TRUE;
		break;
	default:
		break;
	}
}

static gboolean ws_message(Rc *rc, const WsMessage *m, GError **error)
{
	const guint8 *data = m->data;
	gsize len = m->len;
	g_autofree guint8 *decoded = NULL;
	if (len == 0)
		return TRUE;
	guint8 ch = data[0];
	if (rc->w.base64) {
		if (m->opcode != WS_OP_TEXT || ch < '0' || ch > '9')
			return berth_throw(error, INVALID_ARGUMENT,
					   "base64 channel messages are text "
					   "with a digit first");
		ch -= '0';
		g_autofree char *text =
			g_strndup((const char *)data + 1, len - 1);
		decoded = g_base64_decode(text, &len);
		data = decoded;
	} else {
		data++;
		len--;
	}
	switch (ch) {
	case CH_STDIN:
		take_stdin(rc, data, len);
		break;
	case CH_RESIZE:
		take_resize(rc, data, len);
		break;
	case CH_CLOSE:
		if (rc->version >= 5 && len >= 1 && data[0] == CH_STDIN)
			rc->close_stdin = TRUE;
		break;
	default:
		break;
	}
	return TRUE;
}

static void on_spdy(gpointer ctx, const SpdyFrame *f)
{
	spdy_frame(ctx, f);
}

static gboolean on_ws(gpointer ctx, const WsMessage *m, GError **error)
{
	return ws_message(ctx, m, error);
}

static const WireHandlers handlers = {on_spdy, on_ws};

/* Parse and handle everything the client sent. */
static gboolean from_client(Rc *rc, GError **error)
{
	return wire_dispatch(&rc->w, &handlers, rc, error);
}

/* --- the monitor ---------------------------------------------------------- */

static gboolean to_backend(Rc *rc)
{
	while (rc->to_be->len > 0) {
		gsize n = MIN(rc->to_be->len, CONMON_ATTACH_MAX_PAYLOAD);
		guint8 frame[CONMON_ATTACH_MAX_PAYLOAD + 1];
		frame[0] = CONMON_FRAME_STDIN;
		memcpy(frame + 1, rc->to_be->data, n);
		ssize_t r =
			send(rc->be, frame, n + 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0)
			return errno == EAGAIN || errno == EINTR;
		g_byte_array_remove_range(rc->to_be, 0, n);
	}
	if (rc->close_stdin && rc->req->in && !rc->stdin_done) {
		guint8 t = CONMON_FRAME_CLOSE_STDIN;
		ssize_t r = send(rc->be, &t, 1, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r < 0)
			return errno == EAGAIN || errno == EINTR;
		rc->close_stdin = FALSE;
		rc->stdin_done = TRUE;
	}
	return TRUE;
}

/* Read frames while the client keeps up. */
static void from_backend(Rc *rc)
{
	guint8 buf[CONMON_ATTACH_MAX_PAYLOAD + 1];
	while (!rc->be_eof && wire_pending(&rc->w) < WIRE_HIGH_WATER) {
		ssize_t n = recv(rc->be, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			rc->be_eof = TRUE;
			return;
		}
		rc->w.last_activity = g_get_monotonic_time();
		switch (buf[0]) {
		case CONMON_FRAME_STDOUT:
			if (rc->req->out)
				put_out(rc, CH_STDOUT, buf + 1, n - 1);
			break;
		case CONMON_FRAME_STDERR:
			if (rc->req->err)
				put_out(rc, rc->tty ? CH_STDOUT : CH_STDERR,
					buf + 1, n - 1);
			break;
		case CONMON_FRAME_EXIT: {
			int sig = 0;
			rc->have_exit = conmon_parse_exit_frame(
				(const char *)buf + 1, n - 1, &rc->exit_code,
				&sig);
			break;
		}
		default:
			break;
		}
	}
}

/* --- the session ---------------------------------------------------------- */

static gboolean streams_ready(const Rc *rc)
{
	if (!rc->spdy)
		return TRUE;
	return rc->s_error && (!rc->req->in || rc->s_stdin) &&
	       (!rc->req->out || rc->s_stdout) &&
	       (!rc->req->err || rc->tty || rc->s_stderr) &&
	       (!rc->tty || rc->version < 3 || rc->s_resize);
}

static gboolean start_backend(Rc *rc, GError **error)
{
	if (rc->req->kind == STREAM_EXEC)
		rc->be = ctr_stream_exec(rc->env->containers, rc->req->id,
					 rc->req->cmd, rc->tty, rc->req->in,
					 error);
	else
		rc->be = ctr_stream_attach(rc->env->containers, rc->req->id,
					   error);
	return rc->be >= 0;
}

/* Until every stream the request needs is open. */
static gboolean setup(Rc *rc, GError **error)
{
	gint64 deadline =
		g_get_monotonic_time() + (gint64)STREAM_SETUP_TIMEOUT_MS * 1000;
	for (;;) {
		if (!from_client(rc, error) || !wire_flush(&rc->w, error))
			return FALSE;
		if (streams_ready(rc))
			return TRUE;
		if (rc->w.eof)
			return berth_throw(error, CANCELLED,
					   "the client left before opening "
					   "its streams");
		if (g_get_monotonic_time() >= deadline)
			return berth_throw(error, DEADLINE_EXCEEDED,
					   "the client did not open its "
					   "streams in time");
		struct pollfd p[2] = {
			{.fd = rc->w.fd, .events = wire_poll_events(&rc->w)},
			{.fd = rc->env->stop_fd, .events = POLLIN},
		};
		if (!session_wait(rc->env, &rc->w, p, 2, 1, deadline, error))
			return FALSE;
	}
}

/* Shuttle bytes until the monitor closes (done) or the client leaves. */
static gboolean pump(Rc *rc, GError **error)
{
	for (;;) {
		if (!from_client(rc, error))
			return FALSE;
		if (!to_backend(rc)) {
			/* The monitor is gone: its output tells the rest. */
			g_byte_array_set_size(rc->to_be, 0);
		}
		from_backend(rc);
		if (!wire_flush(&rc->w, error))
			return FALSE;
		if (rc->be_eof)
			return TRUE;
		if (rc->w.eof)
			return berth_throw(error, CANCELLED, "the client left");
		gboolean room = wire_pending(&rc->w) < WIRE_HIGH_WATER;
		/* A hung-up monitor is not polled while the client has no
		 * room: its hang-up would wake this loop without end. */
		struct pollfd p[3] = {
			{.fd = rc->w.fd, .events = wire_poll_events(&rc->w)},
			{.fd = rc->be_hup && !room ? -1 : rc->be, .events = 0},
			{.fd = rc->env->stop_fd, .events = POLLIN},
		};
		/* Stop taking stdin while the monitor lags behind. */
		if (rc->to_be->len > WIRE_HIGH_WATER)
			p[0].events &= ~POLLIN;
		if (room)
			p[1].events |= POLLIN;
		if (rc->to_be->len > 0 ||
		    (rc->close_stdin && !rc->stdin_done && rc->req->in))
			p[1].events |= POLLOUT;
		if (!session_wait(rc->env, &rc->w, p, 3, 2, 0, error))
			return FALSE;
		/* A hang-up is the end only when nothing is left to read:
		 * with POLLIN not asked for (no room), the last frames and
		 * the exit status may still be queued behind it. */
		if (p[1].revents & (POLLHUP | POLLERR) &&
		    !(p[1].revents & POLLIN)) {
			if (p[1].events & POLLIN)
				rc->be_eof = TRUE;
			else
				rc->be_hup = TRUE;
		}
	}
}

void remotecmd_serve(const SessionEnv *env, StreamConn *conn,
		     const StreamRequest *r)
{
	Rc rc = {
		.env = env,
		.req = r,
		.spdy = conn->transport == STREAM_SPDY,
		.version = version_of(conn->protocol),
		.tty = r->tty,
		.be = -1,
	};
	wire_init(&rc.w, conn, rc.spdy);
	rc.resize = g_string_new(NULL);
	rc.to_be = g_byte_array_new();
	g_autoptr(GError) error = NULL;
	const char *what = r->kind == STREAM_EXEC ? "exec" : "attach";
	if (!setup(&rc, &error)) {
		log_info("%s in %s: %s", what, r->id, error->message);
		goto out;
	}
	if (!start_backend(&rc, &rc.failure)) {
		log_info("%s in %s: %s", what, r->id, rc.failure->message);
		finish(&rc);
		goto out;
	}
	if (pump(&rc, &error)) {
		if (r->kind == STREAM_EXEC && !rc.have_exit)
			rc.failure =
				g_error_new(BERTH_ERROR, BERTH_ERROR_INTERNAL,
					    "the exec monitor ended "
					    "without an exit status");
		finish(&rc);
	} else {
		log_info("%s in %s ended: %s", what, r->id, error->message);
		if (error->code == BERTH_ERROR_DEADLINE_EXCEEDED ||
		    error->code == BERTH_ERROR_UNAVAILABLE) {
			rc.failure = g_error_copy(error);
			finish(&rc);
		}
	}
out:
	if (rc.be >= 0)
		close(rc.be);
	g_clear_error(&rc.failure);
	g_string_free(rc.resize, TRUE);
	g_byte_array_unref(rc.to_be);
	wire_clear(&rc.w);
}
