/* Fuzz target: server/streaming/ws.c, the WebSocket (RFC 6455) frame
 * parser fed in chunks, its UTF-8 check (compared with GLib's), and the
 * handshake's accept key. The first input byte picks the side (masked
 * client frames or not) and the chunk size. */
#include "server/streaming/ws.h"
#include "tests/fuzz/fuzz.h"

#include <string.h>

#define MAX_MESSAGE (64 * 1024)

static void check_message(const WsMessage *m)
{
	fuzz_check(m->data != NULL && m->len <= MAX_MESSAGE);
	if (m->opcode == WS_OP_TEXT)
		fuzz_check(ws_utf8_valid(m->data, m->len));
	/* A message the parser took is one a client could send again. */
	g_autoptr(GByteArray) out = g_byte_array_new();
	ws_put_frame_masked(out, m->opcode, TRUE, m->data, m->len, 0x1234abcd);
	g_autoptr(WsParser) p = ws_parser_new(MAX_MESSAGE, TRUE);
	WsMessage again;
	gboolean have = FALSE;
	g_autoptr(GError) error = NULL;
	gssize n = ws_parse(p, out->data, out->len, &again, &have, &error);
	if (m->opcode < 8 || m->len <= 125) {
		fuzz_check(n == (gssize)out->len && have);
		fuzz_check(again.len == m->len &&
			   memcmp(again.data, m->data, m->len) == 0);
	}
}

static void check_utf8(const uint8_t *data, size_t size)
{
	if (memchr(data, 0, size) != NULL)
		return;
	gboolean ours = ws_utf8_valid(data, size);
	gboolean glib = g_utf8_validate((const char *)data, size, NULL);
	fuzz_check(ours == glib);
}

/* Feed one chunk until it is used up; FALSE once the parser failed. */
static gboolean feed(WsParser *p, const uint8_t *buf, gsize n)
{
	gsize used = 0;
	while (used < n) {
		WsMessage m;
		gboolean have = FALSE;
		g_autoptr(GError) error = NULL;
		gssize r = ws_parse(p, buf + used, n - used, &m, &have, &error);
		if (r < 0) {
			fuzz_check(error != NULL && error->code >= 1000);
			return FALSE;
		}
		fuzz_check((gsize)r <= n - used);
		used += r;
		if (have)
			check_message(&m);
		else
			fuzz_check(used == n);
	}
	return TRUE;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	gboolean masked = data[0] & 1;
	gsize chunk = (data[0] >> 1) + 1;
	g_autoptr(WsParser) p = ws_parser_new(MAX_MESSAGE, masked);
	for (gsize off = 1; off < size; off += chunk) {
		if (!feed(p, data + off, MIN(chunk, size - off)))
			break;
	}
	check_utf8(data + 1, size - 1);
	g_autofree char *key = fuzz_cstr(data + 1, size - 1);
	char accept[29];
	if (ws_accept_key(key, accept))
		fuzz_check(strlen(accept) == 28);
	return 0;
}
