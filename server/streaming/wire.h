/* One upgraded client connection as a streaming session sees it: a
 * non-blocking socket with an input and an output buffer, and the frame
 * layer on top (SPDY/3.1 frames, WebSocket messages, or SPDY carried in
 * WebSocket binary messages, the tunnel newer kubectl uses for
 * port-forward). Sessions drive it from their own poll loop. */
#pragma once

#include <glib.h>

#include "server/streaming/httpd.h"
#include "server/streaming/spdy.h"
#include "server/streaming/ws.h"

/* Output above this is "full": sessions stop reading their backends until
 * the client catches up, so a slow client slows the container. */
#define WIRE_HIGH_WATER (256 * 1024)
/* Bytes read from the client before it must be parsed. */
#define WIRE_READ_CHUNK (64 * 1024)

typedef struct {
	int fd;
	StreamTransport transport;
	gboolean tunnel; /* SPDY inside WebSocket binary messages */
	gboolean base64; /* base64.channel.k8s.io: text messages */
	GByteArray *in;	 /* read, not yet parsed, from in_off */
	gsize in_off;
	GByteArray *tin; /* tunnel: SPDY bytes unwrapped from messages */
	gsize tin_off;
	GByteArray *out;  /* bytes on their way to the client */
	GByteArray *sout; /* SPDY frames not yet moved to out */
	WsParser *ws;
	SpdyCodec *spdy;
	gboolean eof;	  /* the client closed its side */
	gboolean closing; /* a WebSocket close was sent */
	gint64 last_activity;
} Wire;

void wire_init(Wire *w, StreamConn *conn, gboolean spdy);
void wire_clear(Wire *w);

/* Read what the socket has (non-blocking). FALSE on a hard error. */
gboolean wire_read(Wire *w, GError **error);
/* Write what the socket takes; FALSE on a hard error (client gone). */
gboolean wire_flush(Wire *w, GError **error);
/* Bytes queued for the client. */
gsize wire_pending(const Wire *w);
/* Poll events the wire wants right now. */
short wire_poll_events(const Wire *w);

/* The next SPDY frame, or FALSE in *have when more bytes are needed.
 * The frame is valid until the next call (spdy_frame_clear it). */
gboolean wire_next_spdy(Wire *w, SpdyFrame *f, gboolean *have, GError **error);
/* Moves the SPDY frames built in w->sout to the output. */
void wire_commit_spdy(Wire *w);

/* The next WebSocket data message (pings are answered and closes echoed
 * here). Valid until the next call. */
gboolean wire_next_ws(Wire *w, WsMessage *m, gboolean *have, GError **error);
/* One message on a channel: binary [channel]data, or for base64 text
 * "<digit>base64(data)". */
void wire_put_channel(Wire *w, guint8 channel, const void *data, gsize len);
void wire_put_ws_close(Wire *w, guint16 code, const char *reason);

/* What a session does with each complete SPDY frame or WebSocket data
 * message of its client. */
typedef struct {
	void (*spdy)(gpointer ctx, const SpdyFrame *f);
	gboolean (*ws)(gpointer ctx, const WsMessage *m, GError **error);
} WireHandlers;
/* Hand everything the client sent so far, frame by frame (SPDY, also
 * tunnelled) or message by message (WebSocket), to h. */
gboolean wire_dispatch(Wire *w, const WireHandlers *h, gpointer ctx,
		       GError **error);

/* Blocks (poll) until everything queued went out or timeout_ms passed. */
void wire_drain(Wire *w, int timeout_ms);
