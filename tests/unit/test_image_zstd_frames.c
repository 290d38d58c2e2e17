/* image/zstd-frames.c: the window of every frame of a zstd stream is
 * checked as the bytes go by, however they are split, and streams that
 * are not zstd pass untouched. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "image/zstd-frames.h"
#include "util/error.h"

#include <archive.h>
#include <archive_entry.h>
#include <string.h>

static la_ssize_t collect(struct archive *a, void *data, const void *buf,
			  size_t len)
{
	(void)a;
	g_byte_array_append(data, buf, (guint)len);
	return (la_ssize_t)len;
}

/* n bytes of text compressed by libarchive's zstd filter at level. */
static GByteArray *zstd_of(gsize n, const char *level)
{
	GByteArray *out = g_byte_array_new();
	struct archive *a = archive_write_new();
	archive_write_set_format_raw(a);
	archive_write_add_filter_zstd(a);
	archive_write_set_filter_option(a, "zstd", "compression-level", level);
	archive_write_set_bytes_in_last_block(a, 1);
	archive_write_open(a, out, NULL, collect, NULL);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "data");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, (la_int64_t)n);
	archive_write_header(a, e);
	g_autofree char *data = g_malloc(n);
	for (gsize i = 0; i < n; i++)
		data[i] = (char)('a' + (i * 7 + i / 13) % 26);
	archive_write_data(a, data, n);
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	return out;
}

/* Feed in pieces of step bytes; the result of the last feed. */
static gboolean feed(const guint8 *d, gsize len, gsize step, GError **error)
{
	ZstdFrames z;
	zstd_frames_init(&z, ZSTD_FRAMES_MAX_WINDOW);
	for (gsize at = 0; at < len; at += step)
		if (!zstd_frames_feed(&z, d + at, MIN(step, len - at), error))
			return FALSE;
	return TRUE;
}

static void test_real_streams_pass(void **state)
{
	(void)state;
	const char *levels[] = {"1", "3", "19"};
	for (gsize i = 0; i < G_N_ELEMENTS(levels); i++) {
		g_autoptr(GByteArray) z = zstd_of(3 << 20, levels[i]);
		const gsize steps[] = {1, 3, 7, 4096, z->len};
		for (gsize k = 0; k < G_N_ELEMENTS(steps); k++) {
			g_autoptr(GError) err = NULL;
			if (!feed(z->data, z->len, steps[k], &err))
				fail_msg("level %s, step %zu: %s", levels[i],
					 steps[k], err->message);
		}
	}
	/* not zstd: left alone */
	static const guint8 gz[] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
	assert_true(feed(gz, sizeof gz, 1, NULL));
	assert_true(feed((const guint8 *)"etc/passwd", 10, 1, NULL));
}

/* A frame header: magic, descriptor, then the rest as given. */
static GByteArray *frame(guint8 fhd, const guint8 *rest, gsize n)
{
	static const guint8 magic[] = {0x28, 0xb5, 0x2f, 0xfd};
	GByteArray *b = g_byte_array_new();
	g_byte_array_append(b, magic, 4);
	g_byte_array_append(b, &fhd, 1);
	g_byte_array_append(b, rest, (guint)n);
	return b;
}

static void assert_refused(GByteArray *b, int code, const char *what)
{
	for (gsize step = 1; step <= b->len; step += b->len - 1) {
		g_autoptr(GError) err = NULL;
		assert_false(feed(b->data, b->len, step, &err));
		assert_int_equal(err->code, code);
		if (strstr(err->message, what) == NULL)
			fail_msg("\"%s\" lacks \"%s\"", err->message, what);
	}
	g_byte_array_unref(b);
}

static void test_big_windows_refused(void **state)
{
	(void)state;
	/* window descriptor: exponent 17 → 128 MiB (zstd --long=27) */
	static const guint8 wd27[] = {17 << 3};
	assert_refused(frame(0x00, wd27, 1), BERTH_ERROR_RESOURCE_EXHAUSTED,
		       "134217728-byte window, over the limit of 8388608");
	/* 8 MiB + 1/8: just over */
	static const guint8 wd23m1[] = {13 << 3 | 1};
	assert_refused(frame(0x00, wd23m1, 1), BERTH_ERROR_RESOURCE_EXHAUSTED,
		       "9437184-byte window");
	/* single segment: the window is the 8-byte content size (1 GiB) */
	static const guint8 fcs[] = {0, 0, 0, 0x40, 0, 0, 0, 0};
	assert_refused(frame(0xe0, fcs, 8), BERTH_ERROR_RESOURCE_EXHAUSTED,
		       "1073741824-byte window");
	/* single segment, 2-byte content size: value + 256 */
	static const guint8 fcs2[] = {0xff, 0xff};
	g_autoptr(GByteArray) ok = frame(0x60, fcs2, 2);
	assert_true(feed(ok->data, ok->len, 1, NULL));
	static const guint8 wd[] = {0};
	assert_refused(frame(0x08, wd, 1), BERTH_ERROR_INVALID_ARGUMENT,
		       "reserved header bit");
}

/* A later frame is checked too: a small first frame, a skippable frame,
 * then a frame asking for 128 MiB. */
static void test_every_frame_checked(void **state)
{
	(void)state;
	g_autoptr(GByteArray) z = zstd_of(3 << 20, "19"); /* many blocks */
	GByteArray *b = g_byte_array_new();
	g_byte_array_append(b, z->data, z->len);
	static const guint8 skippable[] = {0x5a, 0x2a, 0x4d, 0x18, 3, 0,
					   0,	 0,    1,    2,	   3};
	g_byte_array_append(b, skippable, sizeof skippable);
	g_byte_array_append(b, z->data, z->len);
	static const guint8 big[] = {0x28, 0xb5, 0x2f, 0xfd, 0x00, 17 << 3};
	g_byte_array_append(b, big, sizeof big);
	assert_refused(b, BERTH_ERROR_RESOURCE_EXHAUSTED, "134217728-byte");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_streams_pass),
		cmocka_unit_test(test_big_windows_refused),
		cmocka_unit_test(test_every_frame_checked),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
