/* RFC 6455 frames: an incremental, strict parser that reassembles
 * fragmented messages and passes control frames through between fragments,
 * the frame writers, and the handshake's accept key. */
#include "server/streaming/ws.h"

#include <string.h>

G_DEFINE_QUARK(berth - websocket - error, ws_error)

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define WS_MAX_HEADER 14
#define WS_MAX_CONTROL 125

struct WsParser {
	gsize max_message;
	gboolean expect_masked;
	GError *failure; /* once set, every later call repeats it */

	/* The frame being read. */
	guint8 hdr[WS_MAX_HEADER];
	guint hdr_len;
	gboolean in_payload; /* the header is complete */
	guint8 opcode;
	gboolean fin;
	guint8 mask[4];
	gboolean masked;
	guint64 payload_len;
	guint64 payload_got;

	/* The data message being reassembled (msg_opcode 0: none). */
	GByteArray *msg;
	guint8 msg_opcode;
	gboolean msg_delivered; /* cleared on the next call */
	guint8 ctl[WS_MAX_CONTROL];
};

gboolean ws_accept_key(const char *client_key, char out[29])
{
	if (client_key == NULL || strlen(client_key) != 24 ||
	    strcmp(client_key + 22, "==") != 0)
		return FALSE;
	for (int i = 0; i < 22; i++) {
		char c = client_key[i];
		if (!g_ascii_isalnum(c) && c != '+' && c != '/')
			return FALSE;
	}
	g_autoptr(GChecksum) sha = g_checksum_new(G_CHECKSUM_SHA1);
	g_checksum_update(sha, (const guchar *)client_key, 24);
	g_checksum_update(sha, (const guchar *)WS_GUID, strlen(WS_GUID));
	guint8 digest[20];
	gsize dlen = sizeof digest;
	g_checksum_get_digest(sha, digest, &dlen);
	g_autofree char *b64 = g_base64_encode(digest, dlen);
	g_assert(strlen(b64) == 28);
	memcpy(out, b64, 29);
	return TRUE;
}

gboolean ws_utf8_valid(const guint8 *s, gsize len)
{
	gsize i = 0;
	while (i < len) {
		guint8 c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		guint n;
		guint8 lo = 0x80, hi = 0xbf; /* range of the 2nd byte */
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			if (c == 0xe0)
				lo = 0xa0; /* overlong */
			else if (c == 0xed)
				hi = 0x9f; /* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			if (c == 0xf0)
				lo = 0x90; /* overlong */
			else if (c == 0xf4)
				hi = 0x8f; /* past U+10FFFF */
		} else {
			return FALSE;
		}
		if (len - i <= n)
			return FALSE;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return FALSE;
		for (guint k = 2; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return FALSE;
		}
		i += n + 1;
	}
	return TRUE;
}

WsParser *ws_parser_new(gsize max_message, gboolean expect_masked)
{
	WsParser *p = g_new0(WsParser, 1);
	p->max_message = max_message;
	p->expect_masked = expect_masked;
	p->msg = g_byte_array_new();
	return p;
}

void ws_parser_free(WsParser *p)
{
	if (p == NULL)
		return;
	g_byte_array_unref(p->msg);
	g_clear_error(&p->failure);
	g_free(p);
}

static gboolean fail(WsParser *p, GError **error, int code, const char *fmt,
		     ...) G_GNUC_PRINTF(4, 5);

static gboolean fail(WsParser *p, GError **error, int code, const char *fmt,
		     ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	p->failure = g_error_new_literal(WS_ERROR, code, msg);
	g_propagate_error(error, g_error_copy(p->failure));
	return FALSE;
}

static gboolean is_control(guint8 opcode)
{
	return (opcode & 0x8) != 0;
}

/* Bytes the header needs, judged from what is there (at least 2). */
static guint header_need(const WsParser *p)
{
	if (p->hdr_len < 2)
		return 2;
	guint need = 2;
	guint8 len7 = p->hdr[1] & 0x7f;
	if (len7 == 126)
		need += 2;
	else if (len7 == 127)
		need += 8;
	if (p->hdr[1] & 0x80)
		need += 4;
	return need;
}

static gboolean begin_frame(WsParser *p, GError **error)
{
	const guint8 *h = p->hdr;
	p->fin = (h[0] & 0x80) != 0;
	p->opcode = h[0] & 0x0f;
	p->masked = (h[1] & 0x80) != 0;
	if (h[0] & 0x70)
		return fail(p, error, WS_CLOSE_PROTOCOL_ERROR,
			    "reserved bits 0x%02x set without an extension",
			    h[0] & 0x70);
	switch (p->opcode) {
	case WS_OP_CONT:
	case WS_OP_TEXT:
	case WS_OP_BINARY:
	case WS_OP_CLOSE:
	case WS_OP_PING:
	case WS_OP_PONG:
		break;
	default:
		return fail(p, error, WS_CLOSE_PROTOCOL_ERROR,
			    "reserved opcode %u", p->opcode);
	}
	if (p->masked != p->expect_masked)
		return fail(p, error, WS_CLOSE_PROTOCOL_ERROR,
			    p->expect_masked ? "client frame is not masked"
					     : "server frame is masked");
	guint8 len7 = h[1] & 0x7f;
	guint off = 2;
	if (len7 == 126) {
		p->payload_len = ((guint64)h[2] << 8) | h[3];
		off = 4;
	} else if (len7 == 127) {
		p->payload_len = 0;
		for (int i = 0; i < 8; i++)
			p->payload_len = (p->payload_len << 8) | h[2 + i];
		off = 10;
		if (p->payload_len >> 63)
			return fail(p, error, WS_CLOSE_PROTOCOL_ERROR,
				    "64-bit length with the top bit set");
	} else {
		p->payload_len = len7;
	}
	if (p->masked)
		memcpy(p->mask, h + off, 4);
	p->payload_got = 0;

	if (is_control(p->opcode)) {
		if (!p->fin)
			return fail(p, error, WS_CLOSE_PROTOCOL_ERROR,
				    "fragmented control frame (opcode %u)",
				    p->opcode);
		if (p->payload_len > WS_MAX_CONTROL)
			return fail(p, error, WS_CLOSE_PROTOCOL_ERROR,
				    "control frame of %" G_GUINT64_FORMAT
				    " bytes (at most 125)",
				    p->payload_len);
		return TRUE;
	}
	if (p->opcode == WS_OP_CONT && p->msg_opcode == 0)
		return fail(p, error, WS_CLOSE_PROTOCOL_ERROR,
			    "continuation frame outside a message");
	if (p->opcode != WS_OP_CONT && p->msg_opcode != 0)
		return fail(p, error, WS_CLOSE_PROTOCOL_ERROR,
			    "new message (opcode %u) before the fragmented "
			    "one ended",
			    p->opcode);
	if (p->payload_len > p->max_message ||
	    p->msg->len + p->payload_len > p->max_message)
		return fail(p, error, WS_CLOSE_TOO_BIG,
			    "message larger than %" G_GSIZE_FORMAT " bytes",
			    p->max_message);
	if (p->opcode != WS_OP_CONT)
		p->msg_opcode = p->opcode;
	return TRUE;
}

static gboolean close_code_valid(guint code)
{
	return (code >= 1000 && code <= 1003) ||
	       (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/* The frame's payload is complete: deliver a control frame or, on FIN, the
 * reassembled message. */
static gboolean end_frame(WsParser *p, WsMessage *msg, gboolean *have,
			  GError **error)
{
	static guint8 empty[1];
	p->hdr_len = 0;
	p->in_payload = FALSE;
	if (is_control(p->opcode)) {
		gsize n = p->payload_len;
		if (p->opcode == WS_OP_CLOSE && n == 1)
			return fail(p, error, WS_CLOSE_PROTOCOL_ERROR,
				    "close frame with a 1-byte payload");
		if (p->opcode == WS_OP_CLOSE && n >= 2) {
			guint code = ((guint)p->ctl[0] << 8) | p->ctl[1];
			if (!close_code_valid(code))
				return fail(p, error, WS_CLOSE_PROTOCOL_ERROR,
					    "invalid close code %u", code);
			if (!ws_utf8_valid(p->ctl + 2, n - 2))
				return fail(p, error, WS_CLOSE_BAD_DATA,
					    "close reason is not UTF-8");
		}
		msg->opcode = p->opcode;
		msg->data = p->ctl;
		msg->len = n;
		*have = TRUE;
		return TRUE;
	}
	if (!p->fin)
		return TRUE;
	if (p->msg_opcode == WS_OP_TEXT &&
	    !ws_utf8_valid(p->msg->data, p->msg->len))
		return fail(p, error, WS_CLOSE_BAD_DATA,
			    "text message is not UTF-8");
	msg->opcode = p->msg_opcode;
	msg->data = p->msg->len ? p->msg->data : empty;
	msg->len = p->msg->len;
	p->msg_opcode = 0;
	p->msg_delivered = TRUE;
	*have = TRUE;
	return TRUE;
}

static void take_payload(WsParser *p, const guint8 *buf, gsize n)
{
	guint8 *dst;
	if (is_control(p->opcode)) {
		dst = p->ctl + p->payload_got;
	} else {
		gsize at = p->msg->len;
		g_byte_array_set_size(p->msg, at + n);
		dst = p->msg->data + at;
	}
	if (p->masked) {
		for (gsize i = 0; i < n; i++)
			dst[i] = buf[i] ^ p->mask[(p->payload_got + i) & 3];
	} else {
		memcpy(dst, buf, n);
	}
	p->payload_got += n;
}

gssize ws_parse(WsParser *p, const guint8 *buf, gsize len, WsMessage *msg,
		gboolean *have, GError **error)
{
	*have = FALSE;
	if (p->failure != NULL) {
		g_propagate_error(error, g_error_copy(p->failure));
		return -1;
	}
	if (p->msg_delivered) {
		g_byte_array_set_size(p->msg, 0);
		p->msg_delivered = FALSE;
	}
	gsize used = 0;
	while (used < len && !*have) {
		if (!p->in_payload) {
			guint need = header_need(p);
			gsize n = MIN(need - p->hdr_len, len - used);
			memcpy(p->hdr + p->hdr_len, buf + used, n);
			p->hdr_len += n;
			used += n;
			if (p->hdr_len < header_need(p))
				continue;
			if (!begin_frame(p, error))
				return -1;
			p->in_payload = TRUE;
		} else {
			gsize n = MIN(p->payload_len - p->payload_got,
				      (guint64)(len - used));
			take_payload(p, buf + used, n);
			used += n;
		}
		if (p->payload_got == p->payload_len &&
		    !end_frame(p, msg, have, error))
			return -1;
	}
	return (gssize)used;
}

static void put_frame(GByteArray *out, guint8 opcode, gboolean fin,
		      const guint8 *data, gsize len, const guint8 *mask)
{
	guint8 h[WS_MAX_HEADER];
	guint n = 0;
	h[n++] = (fin ? 0x80 : 0) | (opcode & 0x0f);
	guint8 mbit = mask ? 0x80 : 0;
	if (len < 126) {
		h[n++] = mbit | (guint8)len;
	} else if (len <= 0xffff) {
		h[n++] = mbit | 126;
		h[n++] = (guint8)(len >> 8);
		h[n++] = (guint8)len;
	} else {
		h[n++] = mbit | 127;
		for (int i = 7; i >= 0; i--)
			h[n++] = (guint8)((guint64)len >> (8 * i));
	}
	if (mask) {
		memcpy(h + n, mask, 4);
		n += 4;
	}
	g_byte_array_append(out, h, n);
	gsize at = out->len;
	if (len == 0)
		return;
	g_byte_array_append(out, data, len);
	if (mask) {
		for (gsize i = 0; i < len; i++)
			out->data[at + i] ^= mask[i & 3];
	}
}

void ws_put_frame(GByteArray *out, guint8 opcode, gboolean fin,
		  const void *data, gsize len)
{
	put_frame(out, opcode, fin, data, len, NULL);
}

void ws_put_frame_masked(GByteArray *out, guint8 opcode, gboolean fin,
			 const void *data, gsize len, guint32 mask)
{
	guint8 m[4] = {mask >> 24, mask >> 16, mask >> 8, mask};
	put_frame(out, opcode, fin, data, len, m);
}

void ws_put_close(GByteArray *out, guint16 code, const char *reason)
{
	if (code == 0 || code == WS_CLOSE_NO_STATUS) {
		ws_put_frame(out, WS_OP_CLOSE, TRUE, NULL, 0);
		return;
	}
	guint8 payload[WS_MAX_CONTROL];
	payload[0] = code >> 8;
	payload[1] = code & 0xff;
	gsize rlen = reason ? strlen(reason) : 0;
	if (rlen > WS_MAX_CONTROL - 2) {
		rlen = WS_MAX_CONTROL - 2;
		while (rlen > 0 && ((guint8)reason[rlen] & 0xc0) == 0x80)
			rlen--;
	}
	if (rlen > 0)
		memcpy(payload + 2, reason, rlen);
	ws_put_frame(out, WS_OP_CLOSE, TRUE, payload, rlen + 2);
}
