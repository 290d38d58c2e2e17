/* WebSocket (RFC 6455) for the streaming server: the handshake's accept key
 * and a strict frame codec. The parser is the server side (client frames
 * must be masked); the masked builder exists for tests and clients. No
 * extensions are ever negotiated, so the RSV bits must be 0. */
#pragma once

#include <glib.h>

/* Errors of ws_parse: the code is the close code to answer with. */
#define WS_ERROR (ws_error_quark())
GQuark ws_error_quark(void);
enum {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL_ERROR = 1002,
	WS_CLOSE_NO_STATUS = 1005, /* never sent: an empty close payload */
	WS_CLOSE_BAD_DATA = 1007,  /* text that is not UTF-8 */
	WS_CLOSE_TOO_BIG = 1009,
	WS_CLOSE_INTERNAL = 1011,
};

/* Sec-WebSocket-Accept for a client's Sec-WebSocket-Key; FALSE if the key
 * is not 16 bytes of base64. out holds 29 bytes incl. NUL. */
gboolean ws_accept_key(const char *client_key, char out[29]);

enum {
	WS_OP_CONT = 0,
	WS_OP_TEXT = 1,
	WS_OP_BINARY = 2,
	WS_OP_CLOSE = 8,
	WS_OP_PING = 9,
	WS_OP_PONG = 10,
};

typedef struct WsParser WsParser;

/* max_message bounds a whole (reassembled) message; expect_masked is TRUE
 * on a server (client frames must be masked) and FALSE on a client
 * (server frames must not be). */
WsParser *ws_parser_new(gsize max_message, gboolean expect_masked);
void ws_parser_free(WsParser *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(WsParser, ws_parser_free)

/* A whole message (fragments joined) or one control frame. data stays
 * owned by the parser and valid until its next call; it is never NULL. */
typedef struct {
	guint8 opcode;
	guint8 *data;
	gsize len;
} WsMessage;

/* Consume bytes from buf[0..len). Returns how many were consumed (>= 0;
 * partial frames are buffered inside the parser, so the caller never keeps
 * bytes back) and sets *have when *msg holds a complete message; it stops
 * right after a complete message, so call again with the rest. -1 on a
 * protocol violation with error->code the close code to send (1002
 * protocol error, 1009 too big, 1007 bad UTF-8); the parser then stays
 * failed. A close message has been checked: empty, or a valid code plus
 * a UTF-8 reason. */
gssize ws_parse(WsParser *p, const guint8 *buf, gsize len, WsMessage *msg,
		gboolean *have, GError **error);

/* Append one frame. Unmasked: what a server sends. */
void ws_put_frame(GByteArray *out, guint8 opcode, gboolean fin,
		  const void *data, gsize len);
/* Masked with the given key: what a client sends (tests). */
void ws_put_frame_masked(GByteArray *out, guint8 opcode, gboolean fin,
			 const void *data, gsize len, guint32 mask);
/* A close frame: code (0 or 1005: an empty payload) and a reason cut to
 * fit 125 bytes on a UTF-8 boundary. */
void ws_put_close(GByteArray *out, guint16 code, const char *reason);

/* Is data valid UTF-8 as RFC 3629 defines it (NUL allowed, no surrogates,
 * no overlong forms, nothing past U+10FFFF)? */
gboolean ws_utf8_valid(const guint8 *data, gsize len);
