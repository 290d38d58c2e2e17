/* The WebSocket codec: RFC 6455's own examples, reassembly, control frames
 * amid fragments, byte-at-a-time input, limits and every protocol error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <string.h>

#include "server/streaming/ws.h"

/* Feed all of buf (in pieces of at most step bytes) and collect every
 * message as "opcode:payload" strings; returns the close code on an error,
 * 0 when all was consumed. */
static int feed(WsParser *p, const guint8 *buf, gsize len, gsize step,
		GPtrArray *got)
{
	gsize off = 0;
	while (off < len) {
		gsize n = MIN(step, len - off);
		gsize done = 0;
		while (done < n) {
			WsMessage m;
			gboolean have;
			g_autoptr(GError) error = NULL;
			gssize r = ws_parse(p, buf + off + done, n - done, &m,
					    &have, &error);
			if (r < 0) {
				assert_non_null(error);
				assert_true(error->domain == WS_ERROR);
				return error->code;
			}
			assert_null(error);
			done += r;
			if (have) {
				assert_non_null(m.data);
				g_ptr_array_add(
					got,
					g_strdup_printf("%u:%.*s", m.opcode,
							(int)m.len,
							(char *)m.data));
			} else {
				assert_int_equal(done, n);
			}
		}
		off += n;
	}
	return 0;
}

static void test_accept_key(void **state)
{
	(void)state;
	char out[29];
	assert_true(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ==", out));
	assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
	assert_false(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ=", out));
	assert_false(ws_accept_key("dGhlIHNhbXBsZSBub25jZQ", out));
	assert_false(ws_accept_key("dGhlIHNhbXBsZSBub25j*Q==", out));
	assert_false(ws_accept_key("dGhlIHNhbXBsZSBub25jZSE=", out)); /* 17 */
	assert_false(ws_accept_key("", out));
	assert_false(ws_accept_key(NULL, out));
}

static const guint8 rfc_hello[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
static const guint8 rfc_hello_masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
					  0x7f, 0x9f, 0x4d, 0x51, 0x58};
static const guint8 rfc_frag[] = {0x01, 0x03, 0x48, 0x65, 0x6c,
				  0x80, 0x02, 0x6c, 0x6f};
static const guint8 rfc_ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
static const guint8 rfc_pong_masked[] = {0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d,
					 0x7f, 0x9f, 0x4d, 0x51, 0x58};

static void test_rfc_examples(void **state)
{
	(void)state;
	for (gsize step = 1; step <= 16; step += 15) {
		g_autoptr(GPtrArray) got =
			g_ptr_array_new_with_free_func(g_free);
		g_autoptr(WsParser) client = ws_parser_new(1 << 20, FALSE);
		assert_int_equal(
			feed(client, rfc_hello, sizeof rfc_hello, step, got),
			0);
		assert_int_equal(
			feed(client, rfc_frag, sizeof rfc_frag, step, got), 0);
		assert_int_equal(
			feed(client, rfc_ping, sizeof rfc_ping, step, got), 0);
		g_autoptr(WsParser) server = ws_parser_new(1 << 20, TRUE);
		assert_int_equal(feed(server, rfc_hello_masked,
				      sizeof rfc_hello_masked, step, got),
				 0);
		assert_int_equal(feed(server, rfc_pong_masked,
				      sizeof rfc_pong_masked, step, got),
				 0);
		assert_int_equal(got->len, 5);
		assert_string_equal(got->pdata[0], "1:Hello");
		assert_string_equal(got->pdata[1], "1:Hello");
		assert_string_equal(got->pdata[2], "9:Hello");
		assert_string_equal(got->pdata[3], "1:Hello");
		assert_string_equal(got->pdata[4], "10:Hello");
	}
}

static void test_writer_matches_rfc(void **state)
{
	(void)state;
	g_autoptr(GByteArray) out = g_byte_array_new();
	ws_put_frame(out, WS_OP_TEXT, TRUE, "Hello", 5);
	assert_memory_equal(out->data, rfc_hello, sizeof rfc_hello);
	g_byte_array_set_size(out, 0);
	ws_put_frame_masked(out, WS_OP_TEXT, TRUE, "Hello", 5, 0x37fa213d);
	assert_int_equal(out->len, sizeof rfc_hello_masked);
	assert_memory_equal(out->data, rfc_hello_masked,
			    sizeof rfc_hello_masked);
	g_byte_array_set_size(out, 0);
	ws_put_frame(out, WS_OP_TEXT, FALSE, "Hel", 3);
	ws_put_frame(out, WS_OP_CONT, TRUE, "lo", 2);
	assert_memory_equal(out->data, rfc_frag, sizeof rfc_frag);

	/* 256 bytes: 16-bit length; 65536: 64-bit length. */
	guint8 *big = g_malloc0(65536);
	g_byte_array_set_size(out, 0);
	ws_put_frame(out, WS_OP_BINARY, TRUE, big, 256);
	const guint8 h16[] = {0x82, 0x7e, 0x01, 0x00};
	assert_int_equal(out->len, 4 + 256);
	assert_memory_equal(out->data, h16, 4);
	g_byte_array_set_size(out, 0);
	ws_put_frame(out, WS_OP_BINARY, TRUE, big, 65536);
	const guint8 h64[] = {0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0};
	assert_int_equal(out->len, 10 + 65536);
	assert_memory_equal(out->data, h64, 10);
	g_byte_array_set_size(out, 0);
	ws_put_frame(out, WS_OP_BINARY, TRUE, big, 65535);
	const guint8 h16max[] = {0x82, 0x7e, 0xff, 0xff};
	assert_memory_equal(out->data, h16max, 4);

	/* Both big frames parse back (masked) byte for byte. */
	for (gsize n = 125; n <= 65536; n = n * 4 + 3) {
		for (gsize i = 0; i < n; i++)
			big[i] = (guint8)(i * 7);
		g_byte_array_set_size(out, 0);
		ws_put_frame_masked(out, WS_OP_BINARY, TRUE, big, n,
				    0xdeadbeef);
		g_autoptr(WsParser) p = ws_parser_new(65536, TRUE);
		WsMessage m;
		gboolean have;
		gssize r = ws_parse(p, out->data, out->len, &m, &have, NULL);
		assert_int_equal(r, out->len);
		assert_true(have);
		assert_int_equal(m.opcode, WS_OP_BINARY);
		assert_int_equal(m.len, n);
		assert_memory_equal(m.data, big, n);
	}
	g_free(big);
}

static void test_close_writer(void **state)
{
	(void)state;
	g_autoptr(GByteArray) out = g_byte_array_new();
	ws_put_close(out, 1000, "bye");
	const guint8 want[] = {0x88, 0x05, 0x03, 0xe8, 'b', 'y', 'e'};
	assert_int_equal(out->len, sizeof want);
	assert_memory_equal(out->data, want, sizeof want);
	g_byte_array_set_size(out, 0);
	ws_put_close(out, 0, "ignored");
	const guint8 empty[] = {0x88, 0x00};
	assert_memory_equal(out->data, empty, 2);
	/* A long reason is cut at 123 bytes, never inside a character:
	 * 61 two-byte characters fit in 122 bytes, the 62nd does not. */
	GString *r = g_string_new("");
	for (int i = 0; i < 70; i++)
		g_string_append(r, "\xc3\xa9");
	g_byte_array_set_size(out, 0);
	ws_put_close(out, 1011, r->str);
	assert_int_equal(out->data[1], 2 + 122);
	assert_true(ws_utf8_valid(out->data + 4, 122));
	g_string_free(r, TRUE);
}

static void test_fragments_with_control_between(void **state)
{
	(void)state;
	g_autoptr(GByteArray) in = g_byte_array_new();
	ws_put_frame_masked(in, WS_OP_BINARY, FALSE, "ab", 2, 1);
	ws_put_frame_masked(in, WS_OP_PING, TRUE, "p", 1, 2);
	ws_put_frame_masked(in, WS_OP_CONT, FALSE, "", 0, 3);
	ws_put_frame_masked(in, WS_OP_PONG, TRUE, "", 0, 4);
	ws_put_frame_masked(in, WS_OP_CONT, FALSE, "cd", 2, 5);
	ws_put_frame_masked(in, WS_OP_CONT, TRUE, "e", 1, 6);
	ws_put_frame_masked(in, WS_OP_TEXT, TRUE, "", 0, 7);
	guint8 close[] = {0x03, 0xe8, 'o', 'k'};
	ws_put_frame_masked(in, WS_OP_CLOSE, TRUE, close, 4, 8);
	ws_put_frame_masked(in, WS_OP_CLOSE, TRUE, "", 0, 9);
	for (gsize step = 1; step <= in->len; step = step * 2 + 1) {
		g_autoptr(GPtrArray) got =
			g_ptr_array_new_with_free_func(g_free);
		g_autoptr(WsParser) p = ws_parser_new(5, TRUE);
		assert_int_equal(feed(p, in->data, in->len, step, got), 0);
		assert_int_equal(got->len, 6);
		assert_string_equal(got->pdata[0], "9:p");
		assert_string_equal(got->pdata[1], "10:");
		assert_string_equal(got->pdata[2], "2:abcde");
		assert_string_equal(got->pdata[3], "1:");
		assert_string_equal(got->pdata[4], "8:\x03\xe8ok");
		assert_string_equal(got->pdata[5], "8:");
	}
}

/* One message of bytes fed to a fresh server parser: the close code. */
static int code_of(const guint8 *buf, gsize len, gsize max)
{
	g_autoptr(GPtrArray) got = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(WsParser) p = ws_parser_new(max, TRUE);
	return feed(p, buf, len, len, got);
}

static int code_of_frames(GByteArray *in, gsize max)
{
	return code_of(in->data, in->len, max);
}

static void test_errors(void **state)
{
	(void)state;
	g_autoptr(GByteArray) in = g_byte_array_new();
#define RESET() g_byte_array_set_size(in, 0)
	/* Unmasked client frame; masked server frame. */
	assert_int_equal(code_of(rfc_hello, sizeof rfc_hello, 100), 1002);
	{
		g_autoptr(GPtrArray) got =
			g_ptr_array_new_with_free_func(g_free);
		g_autoptr(WsParser) c = ws_parser_new(100, FALSE);
		assert_int_equal(feed(c, rfc_hello_masked,
				      sizeof rfc_hello_masked, 100, got),
				 1002);
	}
	/* RSV1, RSV2, RSV3. */
	for (guint8 rsv = 0x10; rsv <= 0x40; rsv <<= 1) {
		RESET();
		ws_put_frame_masked(in, WS_OP_TEXT, TRUE, "x", 1, 1);
		in->data[0] |= rsv;
		assert_int_equal(code_of_frames(in, 100), 1002);
	}
	/* Reserved opcodes. */
	const guint8 reserved[] = {3, 4, 5, 6, 7, 11, 12, 13, 14, 15};
	for (gsize i = 0; i < sizeof reserved; i++) {
		RESET();
		ws_put_frame_masked(in, reserved[i], TRUE, "x", 1, 1);
		assert_int_equal(code_of_frames(in, 100), 1002);
	}
	/* Control frames: fragmented, or longer than 125. */
	RESET();
	ws_put_frame_masked(in, WS_OP_PING, FALSE, "x", 1, 1);
	assert_int_equal(code_of_frames(in, 100), 1002);
	guint8 big[200] = {0};
	RESET();
	ws_put_frame_masked(in, WS_OP_PONG, TRUE, big, 126, 1);
	assert_int_equal(code_of_frames(in, 1000), 1002);
	RESET();
	ws_put_frame_masked(in, WS_OP_PING, TRUE, big, 125, 1);
	assert_int_equal(code_of_frames(in, 1), 0); /* 125 is fine */
	/* Continuation rules. */
	RESET();
	ws_put_frame_masked(in, WS_OP_CONT, TRUE, "x", 1, 1);
	assert_int_equal(code_of_frames(in, 100), 1002);
	RESET();
	ws_put_frame_masked(in, WS_OP_TEXT, FALSE, "x", 1, 1);
	ws_put_frame_masked(in, WS_OP_BINARY, TRUE, "y", 1, 1);
	assert_int_equal(code_of_frames(in, 100), 1002);
	RESET();
	ws_put_frame_masked(in, WS_OP_TEXT, TRUE, "x", 1, 1);
	ws_put_frame_masked(in, WS_OP_CONT, TRUE, "y", 1, 1);
	assert_int_equal(code_of_frames(in, 100), 1002);
	/* 64-bit length with the top bit set. */
	const guint8 huge[] = {0x82, 0xff, 0x80, 0, 0, 0, 0,
			       0,    0,	   0,	 1, 2, 3, 4};
	assert_int_equal(code_of(huge, sizeof huge, 100), 1002);
	/* Too big: one frame, or fragments that add up (the header alone
	 * is enough to refuse). */
	RESET();
	ws_put_frame_masked(in, WS_OP_BINARY, TRUE, big, 101, 1);
	assert_int_equal(code_of(in->data, 6, 100), 1009);
	RESET();
	ws_put_frame_masked(in, WS_OP_BINARY, TRUE, big, 100, 1);
	assert_int_equal(code_of_frames(in, 100), 0);
	RESET();
	ws_put_frame_masked(in, WS_OP_BINARY, FALSE, big, 60, 1);
	ws_put_frame_masked(in, WS_OP_CONT, TRUE, big, 41, 1);
	assert_int_equal(code_of_frames(in, 100), 1009);
	const guint8 len64[] = {0x82, 0xff, 0, 0, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4};
	assert_int_equal(code_of(len64, sizeof len64, 1 << 20), 1009);
	/* Bad UTF-8 text, whole or split across fragments. */
	const char *bad_text[] = {"\xff",	  "\xc0\xaf",
				  "\xed\xa0\x80", "\xf4\x90\x80\x80",
				  "\xe2\x82",	  "a\x80"};
	for (gsize i = 0; i < G_N_ELEMENTS(bad_text); i++) {
		RESET();
		ws_put_frame_masked(in, WS_OP_TEXT, TRUE, bad_text[i],
				    strlen(bad_text[i]), 1);
		assert_int_equal(code_of_frames(in, 100), 1007);
	}
	RESET();
	ws_put_frame_masked(in, WS_OP_TEXT, FALSE, "\xe2\x82", 2, 1);
	ws_put_frame_masked(in, WS_OP_CONT, TRUE, "\xac", 1, 1); /* € */
	assert_int_equal(code_of_frames(in, 100), 0);
	/* Binary is not checked. */
	RESET();
	ws_put_frame_masked(in, WS_OP_BINARY, TRUE, "\xff", 1, 1);
	assert_int_equal(code_of_frames(in, 100), 0);
	/* Close payloads: one byte, bad codes, bad reason. */
	RESET();
	ws_put_frame_masked(in, WS_OP_CLOSE, TRUE, "\x03", 1, 1);
	assert_int_equal(code_of_frames(in, 100), 1002);
	const guint16 bad_codes[] = {0,	   999,	 1004, 1005, 1006,
				     1015, 1016, 2999, 5000};
	for (gsize i = 0; i < G_N_ELEMENTS(bad_codes); i++) {
		guint8 c[2] = {bad_codes[i] >> 8, bad_codes[i] & 0xff};
		RESET();
		ws_put_frame_masked(in, WS_OP_CLOSE, TRUE, c, 2, 1);
		assert_int_equal(code_of_frames(in, 100), 1002);
	}
	const guint16 good_codes[] = {1000, 1001, 1002, 1003, 1007,
				      1011, 1014, 3000, 4999};
	for (gsize i = 0; i < G_N_ELEMENTS(good_codes); i++) {
		guint8 c[2] = {good_codes[i] >> 8, good_codes[i] & 0xff};
		RESET();
		ws_put_frame_masked(in, WS_OP_CLOSE, TRUE, c, 2, 1);
		assert_int_equal(code_of_frames(in, 100), 0);
	}
	RESET();
	ws_put_frame_masked(in, WS_OP_CLOSE, TRUE, "\x03\xe8\xff", 3, 1);
	assert_int_equal(code_of_frames(in, 100), 1007);
#undef RESET
}

static void test_failure_sticks(void **state)
{
	(void)state;
	g_autoptr(WsParser) p = ws_parser_new(100, TRUE);
	WsMessage m;
	gboolean have;
	g_autoptr(GError) error = NULL;
	assert_int_equal(
		ws_parse(p, rfc_hello, sizeof rfc_hello, &m, &have, &error),
		-1);
	assert_int_equal(error->code, 1002);
	g_clear_error(&error);
	assert_int_equal(ws_parse(p, rfc_hello_masked, sizeof rfc_hello_masked,
				  &m, &have, &error),
			 -1);
	assert_int_equal(error->code, 1002);
	assert_false(have);
}

static void test_stops_after_each_message(void **state)
{
	(void)state;
	g_autoptr(GByteArray) in = g_byte_array_new();
	ws_put_frame_masked(in, WS_OP_BINARY, TRUE, "one", 3, 11);
	ws_put_frame_masked(in, WS_OP_BINARY, TRUE, "two", 3, 12);
	g_autoptr(WsParser) p = ws_parser_new(100, TRUE);
	WsMessage m;
	gboolean have;
	gssize r = ws_parse(p, in->data, in->len, &m, &have, NULL);
	assert_int_equal(r, 9);
	assert_true(have);
	assert_memory_equal(m.data, "one", 3);
	r = ws_parse(p, in->data + 9, in->len - 9, &m, &have, NULL);
	assert_int_equal(r, 9);
	assert_true(have);
	assert_memory_equal(m.data, "two", 3);
	r = ws_parse(p, in->data, 0, &m, &have, NULL);
	assert_int_equal(r, 0);
	assert_false(have);
}

static void test_utf8(void **state)
{
	(void)state;
	assert_true(ws_utf8_valid((const guint8 *)"a\0b", 3));
	assert_true(ws_utf8_valid((const guint8 *)"\xf4\x8f\xbf\xbf", 4));
	assert_true(ws_utf8_valid((const guint8 *)"\xef\xbf\xbf", 3));
	assert_false(ws_utf8_valid((const guint8 *)"\xe0\x80\x80", 3));
	assert_false(ws_utf8_valid((const guint8 *)"\xf0\x80\x80\x80", 4));
	assert_false(ws_utf8_valid((const guint8 *)"\xf5\x80\x80\x80", 4));
	assert_false(ws_utf8_valid((const guint8 *)"\xc2", 1));
	assert_false(ws_utf8_valid((const guint8 *)"\xe2\x28\xa1", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accept_key),
		cmocka_unit_test(test_rfc_examples),
		cmocka_unit_test(test_writer_matches_rfc),
		cmocka_unit_test(test_close_writer),
		cmocka_unit_test(test_fragments_with_control_between),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_failure_sticks),
		cmocka_unit_test(test_stops_after_each_message),
		cmocka_unit_test(test_utf8),
	};
	return cmocka_run_group_tests_name("ws", tests, NULL, NULL);
}
