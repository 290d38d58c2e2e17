/* The client side of a streaming session: buffers and frame layers. */
#include "server/streaming/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "util/error.h"

/* A WebSocket message may carry at most this much (stdin, resize, or a
 * tunnelled SPDY chunk). */
#define WIRE_MAX_MESSAGE (4 * 1024 * 1024)

void wire_init(Wire *w, StreamConn *conn, gboolean spdy)
{
	memset(w, 0, sizeof *w);
	w->fd = conn->fd;
	w->transport = conn->transport;
	w->tunnel = conn->transport == STREAM_WEBSOCKET && spdy;
	w->base64 = conn->transport == STREAM_WEBSOCKET &&
		    g_str_has_prefix(conn->protocol, "base64.");
	w->in = g_byte_array_sized_new(WIRE_READ_CHUNK);
	w->out = g_byte_array_new();
	w->sout = g_byte_array_new();
	if (conn->extra_len > 0)
		g_byte_array_append(w->in, conn->extra, conn->extra_len);
	if (conn->transport == STREAM_WEBSOCKET)
		w->ws = ws_parser_new(WIRE_MAX_MESSAGE, TRUE);
	if (spdy) {
		w->spdy = spdy_codec_new(0);
		if (w->tunnel)
			w->tin = g_byte_array_new();
	}
	int fl = fcntl(w->fd, F_GETFL);
	if (fl >= 0)
		fcntl(w->fd, F_SETFL, fl | O_NONBLOCK);
	w->last_activity = g_get_monotonic_time();
}

void wire_clear(Wire *w)
{
	g_clear_pointer(&w->in, g_byte_array_unref);
	g_clear_pointer(&w->tin, g_byte_array_unref);
	g_clear_pointer(&w->out, g_byte_array_unref);
	g_clear_pointer(&w->sout, g_byte_array_unref);
	g_clear_pointer(&w->ws, ws_parser_free);
	g_clear_pointer(&w->spdy, spdy_codec_free);
}

/* Drop consumed bytes from the front once they are most of the buffer. */
static void compact(GByteArray *b, gsize *off)
{
	if (*off == 0)
		return;
	if (*off >= b->len) {
		g_byte_array_set_size(b, 0);
		*off = 0;
	} else if (*off > b->len / 2) {
		g_byte_array_remove_range(b, 0, *off);
		*off = 0;
	}
}

gboolean wire_read(Wire *w, GError **error)
{
	if (w->eof)
		return TRUE;
	compact(w->in, &w->in_off);
	gsize old = w->in->len;
	g_byte_array_set_size(w->in, old + WIRE_READ_CHUNK);
	ssize_t n = read(w->fd, w->in->data + old, WIRE_READ_CHUNK);
	g_byte_array_set_size(w->in, n > 0 ? old + n : old);
	if (n > 0) {
		w->last_activity = g_get_monotonic_time();
		return TRUE;
	}
	if (n == 0) {
		w->eof = TRUE;
		return TRUE;
	}
	if (errno == EAGAIN || errno == EINTR)
		return TRUE;
	return berth_throw(error, UNAVAILABLE, "reading from the client: %s",
			   g_strerror(errno));
}

gboolean wire_flush(Wire *w, GError **error)
{
	wire_commit_spdy(w);
	gsize done = 0;
	while (done < w->out->len) {
		ssize_t n = send(w->fd, w->out->data + done, w->out->len - done,
				 MSG_NOSIGNAL);
		if (n > 0) {
			done += n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			break;
		g_byte_array_remove_range(w->out, 0, done);
		return berth_throw(error, UNAVAILABLE,
				   "writing to the client: %s",
				   g_strerror(errno));
	}
	if (done > 0) {
		g_byte_array_remove_range(w->out, 0, done);
		w->last_activity = g_get_monotonic_time();
	}
	return TRUE;
}

gsize wire_pending(const Wire *w)
{
	return w->out->len + w->sout->len;
}

short wire_poll_events(const Wire *w)
{
	short ev = 0;
	/* Parse before reading more: never buffer more than a chunk or two
	 * of unparsed input. */
	if (!w->eof && w->in->len - w->in_off < 2 * WIRE_READ_CHUNK)
		ev |= POLLIN;
	if (wire_pending(w) > 0)
		ev |= POLLOUT;
	return ev;
}

void wire_commit_spdy(Wire *w)
{
	if (w->sout->len == 0)
		return;
	if (w->tunnel) {
		ws_put_frame(w->out, WS_OP_BINARY, TRUE, w->sout->data,
			     w->sout->len);
	} else if (w->out->len == 0) {
		/* The common case of a client that keeps up: no copy. */
		GByteArray *t = w->out;
		w->out = w->sout;
		w->sout = t;
	} else {
		g_byte_array_append(w->out, w->sout->data, w->sout->len);
	}
	g_byte_array_set_size(w->sout, 0);
}

/* One complete message from the raw input; control frames handled. */
static gboolean next_ws_any(Wire *w, WsMessage *m, gboolean *have,
			    GError **error)
{
	*have = FALSE;
	while (!*have && w->in_off < w->in->len) {
		gssize used = ws_parse(w->ws, w->in->data + w->in_off,
				       w->in->len - w->in_off, m, have, error);
		if (used < 0)
			return FALSE;
		w->in_off += used;
		if (used == 0 && !*have)
			break;
		if (!*have)
			continue;
		switch (m->opcode) {
		case WS_OP_PING:
			ws_put_frame(w->out, WS_OP_PONG, TRUE, m->data, m->len);
			*have = FALSE;
			break;
		case WS_OP_PONG:
			*have = FALSE;
			break;
		case WS_OP_CLOSE:
			if (!w->closing)
				ws_put_close(w->out, 1000, "");
			w->closing = TRUE;
			w->eof = TRUE;
			*have = FALSE;
			return TRUE;
		default:
			break;
		}
	}
	return TRUE;
}

gboolean wire_next_ws(Wire *w, WsMessage *m, gboolean *have, GError **error)
{
	return next_ws_any(w, m, have, error);
}

gboolean wire_next_spdy(Wire *w, SpdyFrame *f, gboolean *have, GError **error)
{
	*have = FALSE;
	GByteArray *src = w->in;
	gsize *off = &w->in_off;
	if (w->tunnel) {
		/* Unwrap whole messages until a frame is complete. */
		for (;;) {
			compact(w->tin, &w->tin_off);
			gssize used =
				spdy_parse(w->spdy, w->tin->data + w->tin_off,
					   w->tin->len - w->tin_off, f, error);
			if (used < 0)
				return FALSE;
			if (used > 0) {
				w->tin_off += used;
				*have = TRUE;
				return TRUE;
			}
			WsMessage m;
			gboolean got = FALSE;
			if (!next_ws_any(w, &m, &got, error))
				return FALSE;
			if (!got)
				return TRUE;
			if (m.opcode != WS_OP_BINARY)
				return berth_throw(error, INVALID_ARGUMENT,
						   "the SPDY tunnel carries "
						   "binary messages only");
			g_byte_array_append(w->tin, m.data, m.len);
		}
	}
	compact(src, off);
	gssize used = spdy_parse(w->spdy, src->data + *off, src->len - *off, f,
				 error);
	if (used < 0)
		return FALSE;
	/* DATA frames point into src: advance the offset but keep the
	 * bytes until the next call (compact runs first thing then). */
	*off += used;
	*have = used > 0;
	return TRUE;
}

gboolean wire_dispatch(Wire *w, const WireHandlers *h, gpointer ctx,
		       GError **error)
{
	for (;;) {
		gboolean have = FALSE;
		if (w->spdy) {
			SpdyFrame f;
			if (!wire_next_spdy(w, &f, &have, error))
				return FALSE;
			if (!have)
				return TRUE;
			h->spdy(ctx, &f);
			spdy_frame_clear(&f);
		} else {
			WsMessage m;
			if (!wire_next_ws(w, &m, &have, error))
				return FALSE;
			if (!have)
				return TRUE;
			if (!h->ws(ctx, &m, error))
				return FALSE;
		}
	}
}

void wire_put_channel(Wire *w, guint8 channel, const void *data, gsize len)
{
	if (w->base64) {
		g_autofree char *b = g_base64_encode(data, len);
		gsize blen = strlen(b);
		g_autofree char *msg = g_malloc(blen + 1);
		msg[0] = (char)('0' + channel);
		memcpy(msg + 1, b, blen);
		ws_put_frame(w->out, WS_OP_TEXT, TRUE, msg, blen + 1);
		return;
	}
	/* A server frame's header (RFC 6455 5.2: FIN + binary, unmasked
	 * length), the channel byte and the payload, copied once. */
	guint8 head[11];
	gsize n = len + 1, h = 0;
	head[h++] = 0x80 | WS_OP_BINARY;
	if (n < 126) {
		head[h++] = (guint8)n;
	} else if (n <= 0xffff) {
		head[h++] = 126;
		head[h++] = (guint8)(n >> 8);
		head[h++] = (guint8)n;
	} else {
		head[h++] = 127;
		for (int i = 7; i >= 0; i--)
			head[h++] = (guint8)((guint64)n >> (8 * i));
	}
	head[h++] = channel;
	g_byte_array_append(w->out, head, h);
	if (len > 0)
		g_byte_array_append(w->out, data, len);
}

void wire_put_ws_close(Wire *w, guint16 code, const char *reason)
{
	if (w->closing)
		return;
	ws_put_close(w->out, code, reason);
	w->closing = TRUE;
}

void wire_drain(Wire *w, int timeout_ms)
{
	gint64 end = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
	while (wire_pending(w) > 0) {
		if (!wire_flush(w, NULL))
			return;
		if (wire_pending(w) == 0)
			return;
		gint64 left = (end - g_get_monotonic_time()) / 1000;
		if (left <= 0)
			return;
		struct pollfd p = {.fd = w->fd, .events = POLLOUT};
		if (poll(&p, 1, (int)left) <= 0)
			return;
	}
}
