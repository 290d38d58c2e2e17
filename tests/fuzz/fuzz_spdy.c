/* Fuzz target: server/streaming/spdy.c, the SPDY/3.1 frame parser and its
 * header blocks. The first input byte picks the mode: raw bytes off the
 * wire, or records the harness turns into frames whose header blocks are
 * zlib "stored" blocks, so that the fuzzer reaches the name/value decoder
 * with bytes of its own choosing. Every header frame parsed is rebuilt
 * with spdy_put_headers and must parse back to the same headers. */
#include "server/streaming/spdy.h"
#include "tests/fuzz/fuzz.h"

#include <string.h>

/* The zlib stream header (CMF, FLG, DICTID) our deflate starts with: a
 * peer's stream must name the same dictionary. */
static guint8 zlib_head[6];

static void learn_zlib_head(void)
{
	g_autoptr(SpdyCodec) c = spdy_codec_new(0);
	g_autoptr(GByteArray) out = g_byte_array_new();
	SpdyHeader h = {"a", "b", 0};
	spdy_put_headers(c, out, 1, 0, &h, 1);
	/* frame header (8), stream id (4), then the block */
	memcpy(zlib_head, out->data + 12, sizeof zlib_head);
}

static void put32(GByteArray *b, guint32 v)
{
	guint8 x[4] = {v >> 24, v >> 16, v >> 8, v};
	g_byte_array_append(b, x, 4);
}

/* One record: type, flags, 2-byte length, that many bytes. Header frames
 * get the bytes as a stored deflate block (after the zlib header on the
 * connection's first one); others get them as their payload. */
static gsize add_record(GByteArray *wire, const uint8_t *p, gsize n,
			gboolean *first_block)
{
	if (n < 4)
		return n;
	guint8 type = p[0] % 10, flags = p[1];
	gsize len = MIN((gsize)(p[2] << 8 | p[3]), n - 4);
	const uint8_t *body = p + 4;
	g_autoptr(GByteArray) payload = g_byte_array_new();
	gboolean block = type == SPDY_SYN_STREAM || type == SPDY_SYN_REPLY ||
			 type == SPDY_HEADERS;
	if (block) {
		put32(payload, 1); /* stream 1 */
		if (type == SPDY_SYN_STREAM) {
			put32(payload, 0);
			guint8 pri[2] = {0, 0};
			g_byte_array_append(payload, pri, 2);
		}
		if (*first_block)
			g_byte_array_append(payload, zlib_head,
					    sizeof zlib_head);
		*first_block = FALSE;
		guint8 stored[5] = {0, len & 0xff, len >> 8, ~len & 0xff,
				    (~len >> 8) & 0xff};
		g_byte_array_append(payload, stored, 5);
	}
	g_byte_array_append(payload, body, len);
	if (type == SPDY_DATA)
		put32(wire, 1);
	else
		put32(wire, 0x80000000u | SPDY_VERSION << 16 | type);
	put32(wire, (guint32)flags << 24 | payload->len);
	g_byte_array_append(wire, payload->data, payload->len);
	return 4 + len;
}

static void check_rebuild(const SpdyFrame *f)
{
	g_autoptr(SpdyCodec) enc = spdy_codec_new(0);
	g_autoptr(SpdyCodec) dec = spdy_codec_new(0);
	g_autoptr(GByteArray) out = g_byte_array_new();
	spdy_put_headers(enc, out, f->stream_id, 0, f->headers, f->n_headers);
	SpdyFrame g;
	g_autoptr(GError) error = NULL;
	gssize n = spdy_parse(dec, out->data, out->len, &g, &error);
	if (n <= 0)
		fuzz_fail("rebuilt frame does not parse: %s",
			  error ? error->message : "short");
	fuzz_check((gsize)n == out->len && g.n_headers == f->n_headers);
	for (gsize i = 0; i < g.n_headers; i++) {
		fuzz_check(strcmp(g.headers[i].name, f->headers[i].name) == 0);
		fuzz_check(g.headers[i].value_len == f->headers[i].value_len);
		fuzz_check(memcmp(g.headers[i].value, f->headers[i].value,
				  g.headers[i].value_len) == 0);
	}
	spdy_frame_clear(&g);
}

static void check_frame(const SpdyFrame *f)
{
	fuzz_check(spdy_type_name(f->type) != NULL);
	if (f->n_headers > 0) {
		fuzz_check(spdy_frame_header(f, f->headers[0].name) ==
			   &f->headers[0]);
		check_rebuild(f);
	}
	gint64 window = SPDY_DEFAULT_WINDOW;
	g_autoptr(GError) error = NULL;
	if (f->type == SPDY_WINDOW_UPDATE)
		(void)spdy_window_grow(&window, f->delta, &error);
	if (f->type == SPDY_DATA)
		(void)spdy_window_consume(&window, f->len, &error);
}

static void parse_all(const guint8 *buf, gsize len)
{
	if (len == 0)
		return;
	g_autoptr(SpdyCodec) c = spdy_codec_new(1024 * 1024);
	spdy_codec_set_max_header_block(c, 64 * 1024);
	gsize off = 0;
	for (;;) {
		SpdyFrame f;
		g_autoptr(GError) error = NULL;
		gssize n = spdy_parse(c, buf + off, len - off, &f, &error);
		if (n < 0) {
			fuzz_check(error != NULL);
			spdy_frame_clear(&f);
			g_clear_error(&error);
			/* a broken codec stays broken */
			fuzz_check(spdy_parse(c, buf, len, &f, &error) < 0);
			spdy_frame_clear(&f);
			return;
		}
		if (n == 0)
			return;
		fuzz_check((gsize)n <= len - off);
		check_frame(&f);
		spdy_frame_clear(&f);
		off += n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	if (zlib_head[0] == 0)
		learn_zlib_head();
	if ((data[0] & 1) == 0) {
		parse_all(data + 1, size - 1);
		return 0;
	}
	g_autoptr(GByteArray) wire = g_byte_array_new();
	gboolean first_block = TRUE;
	for (gsize off = 1; off < size;)
		off += add_record(wire, data + off, size - off, &first_block);
	parse_all(wire->data, wire->len);
	return 0;
}
