/* server/streaming/spdy.c: every frame type through a client codec and a
 * server codec both ways, byte-exact frame layouts from the spec, frames
 * captured from moby/spdystream, input fed a byte at a time, and every rule
 * the parser enforces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <zlib.h>

#include "server/streaming/spdy.h"
#include "spdy-vectors.h"

/* Parse exactly one whole frame out of out[off..], which must hold it. */
static void parse_one(SpdyCodec *c, const GByteArray *out, gsize *off,
		      SpdyFrame *f)
{
	g_autoptr(GError) error = NULL;
	gssize n = spdy_parse(c, out->data + *off, out->len - *off, f, &error);
	if (n <= 0)
		fail_msg("parse at %zu: %zd: %s", *off, n,
			 error ? error->message : "needs more");
	*off += n;
}

static void assert_header(const SpdyFrame *f, const char *name,
			  const char *value, gsize value_len)
{
	const SpdyHeader *h = spdy_frame_header(f, name);
	if (!h)
		fail_msg("no header %s", name);
	assert_int_equal(h->value_len, value_len);
	assert_memory_equal(h->value, value, value_len);
	assert_int_equal(h->value[value_len], 0);
}

static void assert_bytes(const GByteArray *out, const guint8 *want, gsize n)
{
	assert_int_equal(out->len, n);
	assert_memory_equal(out->data, want, n);
}

/* --- the spec's layouts, byte for byte ----------------------------------- */

static void test_exact_bytes(void **state)
{
	(void)state;
	g_autoptr(GByteArray) out = g_byte_array_new();

	/* Control frames: 1|version 3|type, flags|length 24, payload. */
	static const guint8 ping[] = {0x80, 0x03, 0x00, 0x06, 0x00, 0x00,
				      0x00, 0x04, 0x01, 0x02, 0x03, 0x04};
	spdy_put_ping(out, 0x01020304);
	assert_bytes(out, ping, sizeof ping);

	static const guint8 rst[] = {0x80, 0x03, 0x00, 0x03, 0x00, 0x00,
				     0x00, 0x08, 0x00, 0x00, 0x00, 0x05,
				     0x00, 0x00, 0x00, 0x05};
	g_byte_array_set_size(out, 0);
	spdy_put_rst_stream(out, 5, SPDY_RST_CANCEL);
	assert_bytes(out, rst, sizeof rst);

	static const guint8 wu[] = {0x80, 0x03, 0x00, 0x09, 0x00, 0x00,
				    0x00, 0x08, 0x00, 0x00, 0x00, 0x03,
				    0x00, 0x01, 0x00, 0x00};
	g_byte_array_set_size(out, 0);
	spdy_put_window_update(out, 3, 65536);
	assert_bytes(out, wu, sizeof wu);

	/* Data frames: 0|stream 31, flags|length 24, data. */
	static const guint8 data[] = {0x00, 0x00, 0x00, 0x01, 0x01,
				      0x00, 0x00, 0x02, 'h',  'i'};
	g_byte_array_set_size(out, 0);
	spdy_put_data(out, 1, SPDY_FLAG_FIN, "hi", 2);
	assert_bytes(out, data, sizeof data);

	static const guint8 goaway[] = {0x80, 0x03, 0x00, 0x07, 0x00, 0x00,
					0x00, 0x08, 0x00, 0x00, 0x00, 0x07,
					0x00, 0x00, 0x00, 0x01};
	g_byte_array_set_size(out, 0);
	spdy_put_goaway(out, 7, SPDY_GOAWAY_PROTOCOL_ERROR);
	assert_bytes(out, goaway, sizeof goaway);

	/* SETTINGS: count, then flags 8|id 24, value 32 per entry. */
	static const guint8 settings[] = {
		0x80, 0x03, 0x00, 0x04, 0x01, 0x00, 0x00, 0x0c, 0x00, 0x00,
		0x00, 0x01, 0x01, 0x00, 0x00, 0x07, 0x00, 0x01, 0x00, 0x00};
	SpdySetting s = {SPDY_SETTINGS_INITIAL_WINDOW_SIZE,
			 SPDY_SETTINGS_FLAG_PERSIST_VALUE, 65536};
	g_byte_array_set_size(out, 0);
	spdy_put_settings(out, SPDY_FLAG_CLEAR_SETTINGS, &s, 1);
	assert_bytes(out, settings, sizeof settings);

	/* The reserved top bit of stream ids is never sent. */
	g_byte_array_set_size(out, 0);
	spdy_put_data(out, 0x80000001, 0, NULL, 0);
	assert_int_equal(out->data[0], 0x00);
	assert_int_equal(out->data[3], 0x01);
}

/* SYN_STREAM: stream, associated stream, priority in the top 3 bits, an
 * unused slot byte, then a zlib stream that names the SPDY dictionary and
 * ends on a sync flush. */
static void test_syn_stream_layout(void **state)
{
	(void)state;
	g_autoptr(SpdyCodec) c = spdy_codec_new(0);
	g_autoptr(GByteArray) out = g_byte_array_new();
	SpdyHeader h = {"streamtype", "stdout", 0};
	spdy_put_syn_stream(c, out, 3, 1, 5, SPDY_FLAG_UNIDIRECTIONAL, &h, 1);
	static const guint8 head[] = {0x80, 0x03, 0x00, 0x01, 0x02};
	assert_memory_equal(out->data, head, sizeof head);
	guint32 length = out->data[5] << 16 | out->data[6] << 8 | out->data[7];
	assert_int_equal(length, out->len - 8);
	static const guint8 ids[] = {0x00, 0x00, 0x00, 0x03,   0x00,
				     0x00, 0x00, 0x01, 5 << 5, 0x00};
	assert_memory_equal(out->data + 8, ids, sizeof ids);
	const guint8 *z = out->data + 18;
	assert_int_equal(z[0] & 0x0f, 8); /* deflate */
	assert_int_equal((z[0] << 8 | z[1]) % 31, 0);
	assert_true(z[1] & 0x20); /* FDICT */
	static const guint8 dictid[] = {0xe3, 0xc6, 0xa7, 0xc2};
	assert_memory_equal(z + 2, dictid, 4);
	static const guint8 flush[] = {0x00, 0x00, 0xff, 0xff};
	assert_memory_equal(out->data + out->len - 4, flush, 4);
}

/* --- round trips ---------------------------------------------------------- */

/* Every frame type from one side, read by the other. */
static void exchange(SpdyCodec *tx, SpdyCodec *rx)
{
	g_autoptr(GByteArray) out = g_byte_array_new();
	SpdyHeader req[] = {
		{"streamtype", "stdin", 0},
		{"Port", "8080", 0},
		{"x-multi", "a\0bb\0ccc", 8},
		{"x-empty", NULL, 0},
	};
	SpdyHeader reply[] = {{"streamtype", "stdout", 0}};
	SpdyHeader trailer[] = {{"status", "200", 0}};
	SpdySetting set[] = {
		{SPDY_SETTINGS_INITIAL_WINDOW_SIZE, 0, 1 << 20},
		{SPDY_SETTINGS_MAX_CONCURRENT_STREAMS,
		 SPDY_SETTINGS_FLAG_PERSISTED, 100},
	};
	spdy_put_syn_stream(tx, out, 1, 0, 7, SPDY_FLAG_FIN, req, 4);
	spdy_put_syn_reply(tx, out, 2, SPDY_FLAG_FIN, reply, 1);
	spdy_put_headers(tx, out, 1, SPDY_FLAG_FIN, trailer, 1);
	spdy_put_data(out, 1, SPDY_FLAG_FIN, "payload", 7);
	spdy_put_rst_stream(out, 9, SPDY_RST_FLOW_CONTROL_ERROR);
	spdy_put_settings(out, 0, set, 2);
	spdy_put_ping(out, 42);
	spdy_put_goaway(out, 11, SPDY_GOAWAY_INTERNAL_ERROR);
	spdy_put_window_update(out, 0, SPDY_MAX_WINDOW);
	spdy_put_data(out, 0x7fffffff, 0, NULL, 0);

	gsize off = 0;
	SpdyFrame f;
	parse_one(rx, out, &off, &f);
	assert_int_equal(f.type, SPDY_SYN_STREAM);
	assert_int_equal(f.control_type, SPDY_SYN_STREAM);
	assert_int_equal(f.stream_id, 1);
	assert_int_equal(f.assoc_id, 0);
	assert_int_equal(f.priority, 7);
	assert_int_equal(f.flags, SPDY_FLAG_FIN);
	assert_int_equal(f.n_headers, 4);
	assert_string_equal(f.headers[1].name, "port"); /* sent lowercased */
	assert_header(&f, "streamtype", "stdin", 5);
	assert_header(&f, "PORT", "8080", 4);
	assert_header(&f, "x-multi", "a\0bb\0ccc", 8);
	assert_header(&f, "x-empty", "", 0);
	assert_null(spdy_frame_header(&f, "absent"));
	spdy_frame_clear(&f);

	parse_one(rx, out, &off, &f);
	assert_int_equal(f.type, SPDY_SYN_REPLY);
	assert_int_equal(f.stream_id, 2);
	assert_int_equal(f.flags, SPDY_FLAG_FIN);
	assert_int_equal(f.n_headers, 1);
	assert_header(&f, "streamtype", "stdout", 6);
	spdy_frame_clear(&f);

	parse_one(rx, out, &off, &f);
	assert_int_equal(f.type, SPDY_HEADERS);
	assert_int_equal(f.stream_id, 1);
	assert_header(&f, "status", "200", 3);
	spdy_frame_clear(&f);

	parse_one(rx, out, &off, &f);
	assert_int_equal(f.type, SPDY_DATA);
	assert_int_equal(f.control_type, 0);
	assert_int_equal(f.stream_id, 1);
	assert_int_equal(f.flags, SPDY_FLAG_FIN);
	assert_int_equal(f.len, 7);
	assert_memory_equal(f.data, "payload", 7);
	/* DATA points into the input. */
	assert_true(f.data > out->data && f.data < out->data + out->len);
	spdy_frame_clear(&f);

	parse_one(rx, out, &off, &f);
	assert_int_equal(f.type, SPDY_RST_STREAM);
	assert_int_equal(f.stream_id, 9);
	assert_int_equal(f.status, SPDY_RST_FLOW_CONTROL_ERROR);

	parse_one(rx, out, &off, &f);
	assert_int_equal(f.type, SPDY_SETTINGS);
	assert_int_equal(f.n_settings, 2);
	assert_int_equal(f.settings[0].id, SPDY_SETTINGS_INITIAL_WINDOW_SIZE);
	assert_int_equal(f.settings[0].flags, 0);
	assert_int_equal(f.settings[0].value, 1 << 20);
	assert_int_equal(f.settings[1].id,
			 SPDY_SETTINGS_MAX_CONCURRENT_STREAMS);
	assert_int_equal(f.settings[1].flags, SPDY_SETTINGS_FLAG_PERSISTED);
	assert_int_equal(f.settings[1].value, 100);
	spdy_frame_clear(&f);

	parse_one(rx, out, &off, &f);
	assert_int_equal(f.type, SPDY_PING);
	assert_int_equal(f.ping_id, 42);

	parse_one(rx, out, &off, &f);
	assert_int_equal(f.type, SPDY_GOAWAY);
	assert_int_equal(f.last_good_id, 11);
	assert_int_equal(f.status, SPDY_GOAWAY_INTERNAL_ERROR);

	parse_one(rx, out, &off, &f);
	assert_int_equal(f.type, SPDY_WINDOW_UPDATE);
	assert_int_equal(f.stream_id, 0);
	assert_int_equal(f.delta, SPDY_MAX_WINDOW);

	parse_one(rx, out, &off, &f);
	assert_int_equal(f.type, SPDY_DATA);
	assert_int_equal(f.stream_id, 0x7fffffff);
	assert_int_equal(f.len, 0);
	assert_int_equal(off, out->len);
}

static void test_roundtrip_both_ways(void **state)
{
	(void)state;
	g_autoptr(SpdyCodec) client = spdy_codec_new(0);
	g_autoptr(SpdyCodec) server = spdy_codec_new(0);
	/* Twice each way: the second exchange rides the same zlib streams. */
	exchange(client, server);
	exchange(server, client);
	exchange(client, server);
	exchange(server, client);
}

/* Many header frames on one connection share one compression context:
 * repeating headers cost a few bytes once the peer has seen them. */
static void test_compression_shared_context(void **state)
{
	(void)state;
	g_autoptr(SpdyCodec) client = spdy_codec_new(0);
	g_autoptr(SpdyCodec) server = spdy_codec_new(0);
	gsize first = 0, last = 0;
	for (guint i = 0; i < 300; i++) {
		g_autoptr(GByteArray) out = g_byte_array_new();
		g_autofree char *id = g_strdup_printf("%u", i);
		SpdyHeader h[] = {
			{"streamtype", i % 2 ? "stdout" : "stderr", 0},
			{"requestid", id, 0},
			{"x-long",
			 "a header value long enough to compress well", 0},
		};
		guint32 stream = 2 * i + 1;
		if (i % 3 == 0)
			spdy_put_syn_stream(client, out, stream, 0, 0, 0, h, 3);
		else if (i % 3 == 1)
			spdy_put_syn_reply(client, out, stream, 0, h, 3);
		else
			spdy_put_headers(client, out, stream, 0, h, 3);
		if (i == 0)
			first = out->len;
		last = out->len;
		gsize off = 0;
		SpdyFrame f;
		parse_one(server, out, &off, &f);
		assert_int_equal(off, out->len);
		assert_int_equal(f.stream_id, stream);
		assert_header(&f, "requestid", id, strlen(id));
		assert_header(&f, "streamtype", i % 2 ? "stdout" : "stderr", 6);
		spdy_frame_clear(&f);
	}
	assert_true(last < first / 2);
}

/* Incompressible values larger than deflate's first output guess. */
static void test_large_random_header(void **state)
{
	(void)state;
	g_autoptr(SpdyCodec) client = spdy_codec_new(0);
	g_autoptr(SpdyCodec) server = spdy_codec_new(0);
	gsize n = 600 * 1024;
	g_autofree char *value = g_malloc(n + 1);
	g_autoptr(GRand) rand = g_rand_new_with_seed(7);
	for (gsize i = 0; i < n; i++)
		value[i] = (char)g_rand_int_range(rand, 1, 256);
	value[n] = 0;
	SpdyHeader h[] = {{"x-random", value, n}, {"port", "22", 0}};
	g_autoptr(GByteArray) out = g_byte_array_new();
	for (guint i = 0; i < 3; i++)
		spdy_put_headers(client, out, 1, 0, h, 2);
	assert_true(out->len > 3 * n);
	gsize off = 0;
	for (guint i = 0; i < 3; i++) {
		SpdyFrame f;
		parse_one(server, out, &off, &f);
		assert_header(&f, "x-random", value, n);
		assert_header(&f, "port", "22", 2);
		spdy_frame_clear(&f);
	}
	assert_int_equal(off, out->len);
}

/* A frame needs the earlier header blocks of its connection: a fresh
 * codec cannot read the second one. */
static void test_compression_order_matters(void **state)
{
	(void)state;
	g_autoptr(SpdyCodec) client = spdy_codec_new(0);
	g_autoptr(SpdyCodec) fresh = spdy_codec_new(0);
	g_autoptr(GByteArray) one = g_byte_array_new();
	g_autoptr(GByteArray) two = g_byte_array_new();
	SpdyHeader h = {"streamtype", "error", 0};
	spdy_put_syn_stream(client, one, 1, 0, 0, 0, &h, 1);
	spdy_put_syn_stream(client, two, 3, 0, 0, 0, &h, 1);
	SpdyFrame f;
	g_autoptr(GError) error = NULL;
	assert_int_equal(spdy_parse(fresh, two->data, two->len, &f, &error),
			 -1);
	assert_int_equal(error->code, SPDY_RST_PROTOCOL_ERROR);
}

/* --- moby/spdystream's own bytes ----------------------------------------- */

static void test_spdystream_frames(void **state)
{
	(void)state;
	g_autoptr(SpdyCodec) server = spdy_codec_new(0);
	g_autoptr(GByteArray) in = g_byte_array_new();
	g_byte_array_append(in, spdystream_frames, sizeof spdystream_frames);
	gsize off = 0;
	SpdyFrame f;
	const char *types[] = {"error", "data"};
	for (guint i = 0; i < 2; i++) {
		parse_one(server, in, &off, &f);
		assert_int_equal(off, spdystream_frame_sizes[0] +
					      i * spdystream_frame_sizes[1]);
		assert_int_equal(f.type, SPDY_SYN_STREAM);
		assert_int_equal(f.stream_id, 2 * i + 1);
		assert_int_equal(f.n_headers, 3);
		assert_header(&f, "streamtype", types[i], strlen(types[i]));
		assert_header(&f, "port", "8080", 4);
		assert_header(&f, "requestid", "0", 1);
		spdy_frame_clear(&f);
	}
	parse_one(server, in, &off, &f);
	assert_int_equal(f.type, SPDY_DATA);
	assert_int_equal(f.stream_id, 3);
	assert_int_equal(f.len, 18);
	assert_memory_equal(f.data, "GET / HTTP/1.0\r\n\r\n", 18);
	parse_one(server, in, &off, &f);
	assert_int_equal(f.type, SPDY_PING);
	assert_int_equal(f.ping_id, 1);
	parse_one(server, in, &off, &f);
	assert_int_equal(f.type, SPDY_SETTINGS);
	assert_int_equal(f.n_settings, 1);
	assert_int_equal(f.settings[0].id, SPDY_SETTINGS_INITIAL_WINDOW_SIZE);
	assert_int_equal(f.settings[0].value, 1 << 20);
	spdy_frame_clear(&f);
	parse_one(server, in, &off, &f);
	assert_int_equal(f.type, SPDY_WINDOW_UPDATE);
	assert_int_equal(f.stream_id, 3);
	assert_int_equal(f.delta, 4096);
	assert_int_equal(off, in->len);
}

/* --- partial input ------------------------------------------------------- */

static void test_byte_by_byte(void **state)
{
	(void)state;
	g_autoptr(SpdyCodec) server = spdy_codec_new(0);
	g_autoptr(GByteArray) pending = g_byte_array_new();
	guint frames = 0;
	for (gsize i = 0; i < sizeof spdystream_frames; i++) {
		g_byte_array_append(pending, spdystream_frames + i, 1);
		SpdyFrame f;
		g_autoptr(GError) error = NULL;
		gssize n = spdy_parse(server, pending->data, pending->len, &f,
				      &error);
		if (n < 0)
			fail_msg("byte %zu: %s", i, error->message);
		if (n == 0) {
			assert_int_equal(f.type, SPDY_DATA);
			assert_null(f.headers);
			continue;
		}
		assert_int_equal(n, spdystream_frame_sizes[frames]);
		assert_int_equal(n, pending->len);
		frames++;
		spdy_frame_clear(&f);
		g_byte_array_remove_range(pending, 0, n);
	}
	assert_int_equal(frames, G_N_ELEMENTS(spdystream_frame_sizes));

	/* Our own frames, several in one buffer, cut at every byte. */
	g_autoptr(SpdyCodec) client = spdy_codec_new(0);
	g_autoptr(SpdyCodec) rx = spdy_codec_new(0);
	g_autoptr(GByteArray) out = g_byte_array_new();
	SpdyHeader h = {"streamtype", "stdin", 0};
	spdy_put_syn_stream(client, out, 1, 0, 0, 0, &h, 1);
	spdy_put_data(out, 1, 0, "abc", 3);
	spdy_put_syn_reply(client, out, 2, 0, &h, 1);
	spdy_put_ping(out, 3);
	gsize off = 0;
	frames = 0;
	for (gsize have = 0; have <= out->len; have++) {
		SpdyFrame f;
		gssize n;
		while ((n = spdy_parse(rx, out->data + off, have - off, &f,
				       NULL)) > 0) {
			off += n;
			frames++;
			spdy_frame_clear(&f);
		}
		assert_int_equal(n, 0);
	}
	assert_int_equal(frames, 4);
	assert_int_equal(off, out->len);
}

/* --- strictness ----------------------------------------------------------- */

/* Parse in on a fresh codec and expect error code; returns the message. */
static char *expect_error(const guint8 *in, gsize len, gsize max_frame,
			  int code, SpdyType type, guint32 stream)
{
	g_autoptr(SpdyCodec) c = spdy_codec_new(max_frame);
	g_autoptr(GError) error = NULL;
	SpdyFrame f;
	gssize n = spdy_parse(c, in, len, &f, &error);
	if (n != -1)
		fail_msg("parsed (%zd) what should fail", n);
	assert_true(error->domain == SPDY_ERROR);
	if (error->code != code)
		fail_msg("code %d, want %d: %s", error->code, code,
			 error->message);
	assert_int_equal(f.type, type);
	assert_int_equal(f.stream_id, stream);
	assert_null(f.headers);
	assert_null(f.settings);
	/* The codec refuses everything after. */
	g_autoptr(GError) again = NULL;
	static const guint8 ping[] = {0x80, 3, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1};
	assert_int_equal(spdy_parse(c, ping, sizeof ping, &f, &again), -1);
	return g_strdup(error->message);
}

static void assert_contains(const char *msg, const char *part)
{
	if (!strstr(msg, part))
		fail_msg("\"%s\" does not say \"%s\"", msg, part);
}

static void test_framing_errors(void **state)
{
	(void)state;
	char *m;
	/* SPDY/2 PING. */
	static const guint8 v2[] = {0x80, 2, 0, 6, 0, 0, 0, 4, 0, 0, 0, 1};
	m = expect_error(v2, sizeof v2, 0, SPDY_RST_UNSUPPORTED_VERSION,
			 SPDY_PING, 0);
	assert_contains(m, "version 2");
	g_free(m);

	/* Too large for the codec: known from the frame header alone. */
	static const guint8 big[] = {0, 0, 0, 1, 0, 0, 0x10, 0x00};
	m = expect_error(big, sizeof big, 1024, SPDY_RST_FRAME_TOO_LARGE,
			 SPDY_DATA, 1);
	assert_contains(m, "4096 bytes exceeds the limit of 1024");
	g_free(m);

	static const guint8 ping_len[] = {0x80, 3, 0, 6, 0, 0, 0,
					  5,	0, 0, 0, 1, 0};
	m = expect_error(ping_len, sizeof ping_len, 0, SPDY_RST_PROTOCOL_ERROR,
			 SPDY_PING, 0);
	assert_contains(m, "PING: length 5, must be 4");
	g_free(m);

	static const guint8 rst_len[] = {0x80, 3, 0, 3, 0, 0, 0, 4, 0, 0, 0, 1};
	m = expect_error(rst_len, sizeof rst_len, 0, SPDY_RST_PROTOCOL_ERROR,
			 SPDY_RST_STREAM, 0);
	assert_contains(m, "RST_STREAM: length 4, must be 8");
	g_free(m);

	/* SPDY/2's GOAWAY had no status. */
	static const guint8 ga_len[] = {0x80, 3, 0, 7, 0, 0, 0, 4, 0, 0, 0, 1};
	m = expect_error(ga_len, sizeof ga_len, 0, SPDY_RST_PROTOCOL_ERROR,
			 SPDY_GOAWAY, 0);
	assert_contains(m, "GOAWAY: length 4");
	g_free(m);

	static const guint8 wu_len[] = {0x80, 3, 0, 9, 0, 0, 0, 12, 0, 0,
					0,    1, 0, 0, 0, 1, 0, 0,  0, 0};
	m = expect_error(wu_len, sizeof wu_len, 0, SPDY_RST_PROTOCOL_ERROR,
			 SPDY_WINDOW_UPDATE, 0);
	assert_contains(m, "WINDOW_UPDATE: length 12");
	g_free(m);

	static const guint8 syn_len[] = {0x80, 3, 0, 1, 0, 0, 0,
					 6,    0, 0, 0, 1, 0, 0};
	m = expect_error(syn_len, sizeof syn_len, 0, SPDY_RST_PROTOCOL_ERROR,
			 SPDY_SYN_STREAM, 0);
	assert_contains(m, "SYN_STREAM: length 6, must be at least 10");
	g_free(m);

	static const guint8 reply_len[] = {0x80, 3, 0, 2, 0, 0, 0, 2, 0, 0};
	m = expect_error(reply_len, sizeof reply_len, 0,
			 SPDY_RST_PROTOCOL_ERROR, SPDY_SYN_REPLY, 0);
	assert_contains(m, "at least 4");
	g_free(m);

	/* Two entries announced, one present. */
	static const guint8 settings[] = {0x80, 3, 0, 4, 0, 0, 0, 12, 0, 0,
					  0,	2, 0, 0, 0, 7, 0, 0,  0, 1};
	m = expect_error(settings, sizeof settings, 0, SPDY_RST_PROTOCOL_ERROR,
			 SPDY_SETTINGS, 0);
	assert_contains(m, "2 entries do not fill");
	g_free(m);
}

static void test_field_errors(void **state)
{
	(void)state;
	char *m;
	static const guint8 data0[] = {0, 0, 0, 0, 0, 0, 0, 1, 'x'};
	m = expect_error(data0, sizeof data0, 0, SPDY_RST_PROTOCOL_ERROR,
			 SPDY_DATA, 0);
	assert_contains(m, "DATA on stream 0");
	g_free(m);

	static const guint8 rst0[] = {0x80, 3, 0, 3, 0, 0, 0, 8,
				      0,    0, 0, 0, 0, 0, 0, 5};
	m = expect_error(rst0, sizeof rst0, 0, SPDY_RST_PROTOCOL_ERROR,
			 SPDY_RST_STREAM, 0);
	assert_contains(m, "stream 0");
	g_free(m);

	static const guint8 rst_status[] = {0x80, 3, 0, 3, 0, 0, 0, 8,
					    0,	  0, 0, 3, 0, 0, 0, 0};
	m = expect_error(rst_status, sizeof rst_status, 0,
			 SPDY_RST_PROTOCOL_ERROR, SPDY_RST_STREAM, 3);
	assert_contains(m, "status 0");
	g_free(m);

	static const guint8 wu0[] = {0x80, 3, 0, 9, 0, 0, 0, 8,
				     0,	   0, 0, 3, 0, 0, 0, 0};
	m = expect_error(wu0, sizeof wu0, 0, SPDY_RST_PROTOCOL_ERROR,
			 SPDY_WINDOW_UPDATE, 3);
	assert_contains(m, "delta 0");
	g_free(m);

	static const guint8 ping_flags[] = {0x80, 3, 0, 6, 1, 0,
					    0,	  4, 0, 0, 0, 1};
	m = expect_error(ping_flags, sizeof ping_flags, 0,
			 SPDY_RST_PROTOCOL_ERROR, SPDY_PING, 0);
	assert_contains(m, "undefined flags 0x01");
	g_free(m);

	static const guint8 data_flags[] = {0, 0, 0, 1, 2, 0, 0, 0};
	m = expect_error(data_flags, sizeof data_flags, 0,
			 SPDY_RST_PROTOCOL_ERROR, SPDY_DATA, 1);
	assert_contains(m, "undefined flags 0x02");
	g_free(m);

	/* SYN_STREAM on stream 0, with a header block that is never read. */
	static const guint8 syn0[] = {0x80, 3, 0, 1, 0, 0, 0, 10, 0, 0,
				      0,    0, 0, 0, 0, 0, 0, 0,  0, 0};
	m = expect_error(syn0, sizeof syn0, 0, SPDY_RST_PROTOCOL_ERROR,
			 SPDY_SYN_STREAM, 0);
	assert_contains(m, "SYN_STREAM on stream 0");
	g_free(m);

	static const guint8 no_block[] = {0x80, 3, 0, 2, 0, 0,
					  0,	4, 0, 0, 0, 9};
	m = expect_error(no_block, sizeof no_block, 0, SPDY_RST_PROTOCOL_ERROR,
			 SPDY_SYN_REPLY, 9);
	assert_contains(m, "no header block");
	g_free(m);
}

/* --- header blocks a peer could send -------------------------------------- */

static void add32(GByteArray *b, guint32 v)
{
	guint8 x[4] = {v >> 24, v >> 16, v >> 8, v};
	g_byte_array_append(b, x, 4);
}

static void add_str(GByteArray *b, const char *s, gsize n)
{
	add32(b, n);
	g_byte_array_append(b, (const guint8 *)s, n);
}

/* A SYN_REPLY for stream 5 carrying plain compressed by a peer's fresh
 * zlib stream (with dict as its preset dictionary, if any). */
static GByteArray *peer_reply(const GByteArray *plain, const char *dict)
{
	GByteArray *out = g_byte_array_new();
	static const guint8 head[] = {0x80, 3, 0, 2, 0, 0, 0, 0, 0, 0, 0, 5};
	g_byte_array_append(out, head, sizeof head);
	z_stream z = {0};
	assert_int_equal(deflateInit(&z, Z_BEST_COMPRESSION), Z_OK);
	if (dict)
		deflateSetDictionary(&z, (const Bytef *)dict, strlen(dict));
	gsize cap = plain->len + 1024;
	g_byte_array_set_size(out, sizeof head + cap);
	z.next_in = plain->data;
	z.avail_in = plain->len;
	z.next_out = out->data + sizeof head;
	z.avail_out = cap;
	assert_int_equal(deflate(&z, Z_SYNC_FLUSH), Z_OK);
	assert_int_equal(z.avail_in, 0);
	g_byte_array_set_size(out, sizeof head + cap - z.avail_out);
	deflateEnd(&z);
	gsize len = out->len - 8;
	out->data[5] = len >> 16;
	out->data[6] = len >> 8;
	out->data[7] = len;
	return out;
}

static char *block_error(const GByteArray *plain, int code)
{
	g_autoptr(GByteArray) frame = peer_reply(plain, NULL);
	return expect_error(frame->data, frame->len, 0, code, SPDY_SYN_REPLY,
			    5);
}

static void test_header_block_errors(void **state)
{
	(void)state;
	char *m;
	GByteArray *b;

	/* A well-formed block from such a peer parses. */
	b = g_byte_array_new();
	add32(b, 1);
	add_str(b, "port", 4);
	add_str(b, "80", 2);
	g_autoptr(GByteArray) good = peer_reply(b, NULL);
	g_autoptr(SpdyCodec) c = spdy_codec_new(0);
	SpdyFrame f;
	gsize off = 0;
	parse_one(c, good, &off, &f);
	assert_header(&f, "port", "80", 2);
	spdy_frame_clear(&f);
	g_byte_array_unref(b);

	b = g_byte_array_new();
	add32(b, 1);
	add_str(b, "", 0);
	add_str(b, "v", 1);
	m = block_error(b, SPDY_RST_PROTOCOL_ERROR);
	assert_contains(m, "SYN_REPLY stream 5: zero-length header name");
	g_free(m);
	g_byte_array_unref(b);

	b = g_byte_array_new();
	add32(b, 1);
	add_str(b, "StreamType", 10);
	add_str(b, "data", 4);
	m = block_error(b, SPDY_RST_PROTOCOL_ERROR);
	assert_contains(m, "\"StreamType\" is not lowercase");
	g_free(m);
	g_byte_array_unref(b);

	b = g_byte_array_new();
	add32(b, 2);
	add_str(b, "port", 4);
	add_str(b, "80", 2);
	add_str(b, "port", 4);
	add_str(b, "81", 2);
	m = block_error(b, SPDY_RST_PROTOCOL_ERROR);
	assert_contains(m, "\"port\" appears twice");
	g_free(m);
	g_byte_array_unref(b);

	b = g_byte_array_new();
	add32(b, 1);
	add_str(b, "a\0b", 3);
	add_str(b, "v", 1);
	m = block_error(b, SPDY_RST_PROTOCOL_ERROR);
	assert_contains(m, "NUL");
	g_free(m);
	g_byte_array_unref(b);

	const char *bad_values[] = {"\0a", "a\0", "a\0\0b"};
	const gsize bad_lens[] = {2, 2, 4};
	for (guint i = 0; i < G_N_ELEMENTS(bad_values); i++) {
		b = g_byte_array_new();
		add32(b, 1);
		add_str(b, "x", 1);
		add_str(b, bad_values[i], bad_lens[i]);
		m = block_error(b, SPDY_RST_PROTOCOL_ERROR);
		assert_contains(m, "header \"x\"");
		g_free(m);
		g_byte_array_unref(b);
	}

	/* More headers claimed than the block could hold. */
	b = g_byte_array_new();
	add32(b, 1000000);
	add_str(b, "x", 1);
	add_str(b, "y", 1);
	m = block_error(b, SPDY_RST_PROTOCOL_ERROR);
	assert_contains(m, "claims 1000000 headers");
	g_free(m);
	g_byte_array_unref(b);

	/* A value longer than what is left. */
	b = g_byte_array_new();
	add32(b, 1);
	add_str(b, "x", 1);
	add32(b, 100);
	g_byte_array_append(b, (const guint8 *)"short", 5);
	m = block_error(b, SPDY_RST_PROTOCOL_ERROR);
	assert_contains(m, "value of 100 bytes overruns");
	g_free(m);
	g_byte_array_unref(b);

	b = g_byte_array_new();
	add32(b, 1);
	add_str(b, "x", 1);
	add_str(b, "y", 1);
	g_byte_array_append(b, (const guint8 *)"junk", 4);
	m = block_error(b, SPDY_RST_PROTOCOL_ERROR);
	assert_contains(m, "4 bytes after the last header");
	g_free(m);
	g_byte_array_unref(b);

	b = g_byte_array_new();
	add32(b, 0);
	g_byte_array_set_size(b, 2);
	m = block_error(b, SPDY_RST_PROTOCOL_ERROR);
	assert_contains(m, "has no count");
	g_free(m);
	g_byte_array_unref(b);
}

static void test_compression_errors(void **state)
{
	(void)state;
	char *m;
	g_autoptr(GByteArray) b = g_byte_array_new();
	add32(b, 1);
	add_str(b, "x", 1);
	add_str(b, "y", 1);

	/* Compressed against some other dictionary. */
	g_autoptr(GByteArray) other = peer_reply(b, "not the spdy dictionary");
	m = expect_error(other->data, other->len, 0, SPDY_RST_PROTOCOL_ERROR,
			 SPDY_SYN_REPLY, 5);
	assert_contains(m, "dictionary");
	g_free(m);

	/* Not zlib at all. */
	static const guint8 garbage[] = {0x80, 3,    0,	   2,	 0,    0,
					 0,    10,   0,	   0,	 0,    5,
					 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01};
	m = expect_error(garbage, sizeof garbage, 0, SPDY_RST_PROTOCOL_ERROR,
			 SPDY_SYN_REPLY, 5);
	assert_contains(m, "corrupt header block");
	g_free(m);

	/* A block cut before its flush point. */
	g_autoptr(GByteArray) cut = peer_reply(b, NULL);
	g_byte_array_set_size(cut, cut->len - 6);
	gsize len = cut->len - 8;
	cut->data[7] = len;
	m = expect_error(cut->data, cut->len, 0, SPDY_RST_PROTOCOL_ERROR,
			 SPDY_SYN_REPLY, 5);
	g_free(m);
}

/* 4 MiB of header value that compresses to a few KiB. */
static void test_header_bomb(void **state)
{
	(void)state;
	gsize n = 4 * 1024 * 1024;
	g_autoptr(GByteArray) b = g_byte_array_new();
	add32(b, 1);
	add_str(b, "x", 1);
	add32(b, n);
	gsize start = b->len;
	g_byte_array_set_size(b, start + n);
	memset(b->data + start, 'a', n);
	g_autoptr(GByteArray) frame = peer_reply(b, NULL);
	assert_true(frame->len < 16 * 1024);
	char *m = expect_error(frame->data, frame->len, 0,
			       SPDY_RST_FRAME_TOO_LARGE, SPDY_SYN_REPLY, 5);
	assert_contains(m, "inflates to more than 1048576 bytes");
	g_free(m);

	/* A lower bound of the caller's choosing; one byte under passes. */
	g_autoptr(GByteArray) small = g_byte_array_new();
	add32(small, 1);
	add_str(small, "x", 1);
	add_str(small, "0123456789", 10);
	g_autoptr(GByteArray) ok = peer_reply(small, NULL);
	g_autoptr(SpdyCodec) c = spdy_codec_new(0);
	spdy_codec_set_max_header_block(c, small->len);
	SpdyFrame f;
	gsize off = 0;
	parse_one(c, ok, &off, &f);
	spdy_frame_clear(&f);
	g_autoptr(SpdyCodec) tight = spdy_codec_new(0);
	spdy_codec_set_max_header_block(tight, small->len - 1);
	g_autoptr(GError) error = NULL;
	assert_int_equal(spdy_parse(tight, ok->data, ok->len, &f, &error), -1);
	assert_int_equal(error->code, SPDY_RST_FRAME_TOO_LARGE);
}

/* Control types this codec does not know are consumed and skipped. */
static void test_unknown_control_skipped(void **state)
{
	(void)state;
	g_autoptr(SpdyCodec) c = spdy_codec_new(0);
	g_autoptr(GByteArray) in = g_byte_array_new();
	static const guint8 noop[] = {0x80, 3, 0, 5, 0, 0, 0, 0};
	static const guint8 cred[] = {0x80, 3, 0, 10, 0, 0, 0, 3, 1, 2, 3};
	static const guint8 future[] = {0x80, 3, 0x12, 0x34, 0xff, 0, 0, 1, 9};
	g_byte_array_append(in, noop, sizeof noop);
	g_byte_array_append(in, cred, sizeof cred);
	g_byte_array_append(in, future, sizeof future);
	spdy_put_ping(in, 7);
	gsize off = 0;
	SpdyFrame f;
	const guint16 types[] = {5, 10, 0x1234};
	for (guint i = 0; i < 3; i++) {
		parse_one(c, in, &off, &f);
		assert_int_equal(f.type, SPDY_SKIPPED);
		assert_int_equal(f.control_type, types[i]);
	}
	assert_string_equal(spdy_type_name(f.type), "unknown control");
	parse_one(c, in, &off, &f);
	assert_int_equal(f.type, SPDY_PING);
	assert_int_equal(f.ping_id, 7);
	assert_int_equal(off, in->len);
}

static void test_flow_control(void **state)
{
	(void)state;
	gint64 w = SPDY_DEFAULT_WINDOW;
	g_autoptr(GError) error = NULL;
	assert_true(spdy_window_consume(&w, 65536, NULL));
	assert_int_equal(w, 0);
	assert_false(spdy_window_consume(&w, 1, &error));
	assert_int_equal(error->code, SPDY_RST_FLOW_CONTROL_ERROR);
	g_clear_error(&error);
	assert_true(spdy_window_grow(&w, SPDY_MAX_WINDOW, NULL));
	assert_int_equal(w, SPDY_MAX_WINDOW);
	assert_false(spdy_window_grow(&w, 1, &error));
	assert_int_equal(error->code, SPDY_RST_FLOW_CONTROL_ERROR);
	/* A window shrunk by SETTINGS may be negative and grow back. */
	w = -100;
	assert_false(spdy_window_consume(&w, 1, NULL));
	assert_true(spdy_window_grow(&w, 101, NULL));
	assert_int_equal(w, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_exact_bytes),
		cmocka_unit_test(test_syn_stream_layout),
		cmocka_unit_test(test_roundtrip_both_ways),
		cmocka_unit_test(test_compression_shared_context),
		cmocka_unit_test(test_large_random_header),
		cmocka_unit_test(test_compression_order_matters),
		cmocka_unit_test(test_spdystream_frames),
		cmocka_unit_test(test_byte_by_byte),
		cmocka_unit_test(test_framing_errors),
		cmocka_unit_test(test_field_errors),
		cmocka_unit_test(test_header_block_errors),
		cmocka_unit_test(test_compression_errors),
		cmocka_unit_test(test_header_bomb),
		cmocka_unit_test(test_unknown_control_skipped),
		cmocka_unit_test(test_flow_control),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
