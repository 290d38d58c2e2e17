/* SPDY/3.1 framing (draft-mbelshe-httpbis-spdy-00 with the 3.1 changes):
 * frame headers, the name/value header block, and its zlib compression with
 * the spec's dictionary, one deflate and one inflate stream per connection.
 * No I/O: spdy_parse reads from a buffer, spdy_put_* append to one. */
#include "server/streaming/spdy.h"

#include <stdarg.h>
#include <string.h>
#include <zlib.h>

G_DEFINE_QUARK(spdy - error - quark, spdy_error)

/* The SPDY/3 header-compression dictionary (spec section 2.6.10.1). */
static const guint8 spdy_dictionary[] = {
	0x00, 0x00, 0x00, 0x07, 0x6f, 0x70, 0x74, 0x69, 0x6f, 0x6e, 0x73, 0x00,
	0x00, 0x00, 0x04, 0x68, 0x65, 0x61, 0x64, 0x00, 0x00, 0x00, 0x04, 0x70,
	0x6f, 0x73, 0x74, 0x00, 0x00, 0x00, 0x03, 0x70, 0x75, 0x74, 0x00, 0x00,
	0x00, 0x06, 0x64, 0x65, 0x6c, 0x65, 0x74, 0x65, 0x00, 0x00, 0x00, 0x05,
	0x74, 0x72, 0x61, 0x63, 0x65, 0x00, 0x00, 0x00, 0x06, 0x61, 0x63, 0x63,
	0x65, 0x70, 0x74, 0x00, 0x00, 0x00, 0x0e, 0x61, 0x63, 0x63, 0x65, 0x70,
	0x74, 0x2d, 0x63, 0x68, 0x61, 0x72, 0x73, 0x65, 0x74, 0x00, 0x00, 0x00,
	0x0f, 0x61, 0x63, 0x63, 0x65, 0x70, 0x74, 0x2d, 0x65, 0x6e, 0x63, 0x6f,
	0x64, 0x69, 0x6e, 0x67, 0x00, 0x00, 0x00, 0x0f, 0x61, 0x63, 0x63, 0x65,
	0x70, 0x74, 0x2d, 0x6c, 0x61, 0x6e, 0x67, 0x75, 0x61, 0x67, 0x65, 0x00,
	0x00, 0x00, 0x0d, 0x61, 0x63, 0x63, 0x65, 0x70, 0x74, 0x2d, 0x72, 0x61,
	0x6e, 0x67, 0x65, 0x73, 0x00, 0x00, 0x00, 0x03, 0x61, 0x67, 0x65, 0x00,
	0x00, 0x00, 0x05, 0x61, 0x6c, 0x6c, 0x6f, 0x77, 0x00, 0x00, 0x00, 0x0d,
	0x61, 0x75, 0x74, 0x68, 0x6f, 0x72, 0x69, 0x7a, 0x61, 0x74, 0x69, 0x6f,
	0x6e, 0x00, 0x00, 0x00, 0x0d, 0x63, 0x61, 0x63, 0x68, 0x65, 0x2d, 0x63,
	0x6f, 0x6e, 0x74, 0x72, 0x6f, 0x6c, 0x00, 0x00, 0x00, 0x0a, 0x63, 0x6f,
	0x6e, 0x6e, 0x65, 0x63, 0x74, 0x69, 0x6f, 0x6e, 0x00, 0x00, 0x00, 0x0c,
	0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x2d, 0x62, 0x61, 0x73, 0x65,
	0x00, 0x00, 0x00, 0x10, 0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x2d,
	0x65, 0x6e, 0x63, 0x6f, 0x64, 0x69, 0x6e, 0x67, 0x00, 0x00, 0x00, 0x10,
	0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x2d, 0x6c, 0x61, 0x6e, 0x67,
	0x75, 0x61, 0x67, 0x65, 0x00, 0x00, 0x00, 0x0e, 0x63, 0x6f, 0x6e, 0x74,
	0x65, 0x6e, 0x74, 0x2d, 0x6c, 0x65, 0x6e, 0x67, 0x74, 0x68, 0x00, 0x00,
	0x00, 0x10, 0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x2d, 0x6c, 0x6f,
	0x63, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x00, 0x00, 0x00, 0x0b, 0x63, 0x6f,
	0x6e, 0x74, 0x65, 0x6e, 0x74, 0x2d, 0x6d, 0x64, 0x35, 0x00, 0x00, 0x00,
	0x0d, 0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e, 0x74, 0x2d, 0x72, 0x61, 0x6e,
	0x67, 0x65, 0x00, 0x00, 0x00, 0x0c, 0x63, 0x6f, 0x6e, 0x74, 0x65, 0x6e,
	0x74, 0x2d, 0x74, 0x79, 0x70, 0x65, 0x00, 0x00, 0x00, 0x04, 0x64, 0x61,
	0x74, 0x65, 0x00, 0x00, 0x00, 0x04, 0x65, 0x74, 0x61, 0x67, 0x00, 0x00,
	0x00, 0x06, 0x65, 0x78, 0x70, 0x65, 0x63, 0x74, 0x00, 0x00, 0x00, 0x07,
	0x65, 0x78, 0x70, 0x69, 0x72, 0x65, 0x73, 0x00, 0x00, 0x00, 0x04, 0x66,
	0x72, 0x6f, 0x6d, 0x00, 0x00, 0x00, 0x04, 0x68, 0x6f, 0x73, 0x74, 0x00,
	0x00, 0x00, 0x08, 0x69, 0x66, 0x2d, 0x6d, 0x61, 0x74, 0x63, 0x68, 0x00,
	0x00, 0x00, 0x11, 0x69, 0x66, 0x2d, 0x6d, 0x6f, 0x64, 0x69, 0x66, 0x69,
	0x65, 0x64, 0x2d, 0x73, 0x69, 0x6e, 0x63, 0x65, 0x00, 0x00, 0x00, 0x0d,
	0x69, 0x66, 0x2d, 0x6e, 0x6f, 0x6e, 0x65, 0x2d, 0x6d, 0x61, 0x74, 0x63,
	0x68, 0x00, 0x00, 0x00, 0x08, 0x69, 0x66, 0x2d, 0x72, 0x61, 0x6e, 0x67,
	0x65, 0x00, 0x00, 0x00, 0x13, 0x69, 0x66, 0x2d, 0x75, 0x6e, 0x6d, 0x6f,
	0x64, 0x69, 0x66, 0x69, 0x65, 0x64, 0x2d, 0x73, 0x69, 0x6e, 0x63, 0x65,
	0x00, 0x00, 0x00, 0x0d, 0x6c, 0x61, 0x73, 0x74, 0x2d, 0x6d, 0x6f, 0x64,
	0x69, 0x66, 0x69, 0x65, 0x64, 0x00, 0x00, 0x00, 0x08, 0x6c, 0x6f, 0x63,
	0x61, 0x74, 0x69, 0x6f, 0x6e, 0x00, 0x00, 0x00, 0x0c, 0x6d, 0x61, 0x78,
	0x2d, 0x66, 0x6f, 0x72, 0x77, 0x61, 0x72, 0x64, 0x73, 0x00, 0x00, 0x00,
	0x06, 0x70, 0x72, 0x61, 0x67, 0x6d, 0x61, 0x00, 0x00, 0x00, 0x12, 0x70,
	0x72, 0x6f, 0x78, 0x79, 0x2d, 0x61, 0x75, 0x74, 0x68, 0x65, 0x6e, 0x74,
	0x69, 0x63, 0x61, 0x74, 0x65, 0x00, 0x00, 0x00, 0x13, 0x70, 0x72, 0x6f,
	0x78, 0x79, 0x2d, 0x61, 0x75, 0x74, 0x68, 0x6f, 0x72, 0x69, 0x7a, 0x61,
	0x74, 0x69, 0x6f, 0x6e, 0x00, 0x00, 0x00, 0x05, 0x72, 0x61, 0x6e, 0x67,
	0x65, 0x00, 0x00, 0x00, 0x07, 0x72, 0x65, 0x66, 0x65, 0x72, 0x65, 0x72,
	0x00, 0x00, 0x00, 0x0b, 0x72, 0x65, 0x74, 0x72, 0x79, 0x2d, 0x61, 0x66,
	0x74, 0x65, 0x72, 0x00, 0x00, 0x00, 0x06, 0x73, 0x65, 0x72, 0x76, 0x65,
	0x72, 0x00, 0x00, 0x00, 0x02, 0x74, 0x65, 0x00, 0x00, 0x00, 0x07, 0x74,
	0x72, 0x61, 0x69, 0x6c, 0x65, 0x72, 0x00, 0x00, 0x00, 0x11, 0x74, 0x72,
	0x61, 0x6e, 0x73, 0x66, 0x65, 0x72, 0x2d, 0x65, 0x6e, 0x63, 0x6f, 0x64,
	0x69, 0x6e, 0x67, 0x00, 0x00, 0x00, 0x07, 0x75, 0x70, 0x67, 0x72, 0x61,
	0x64, 0x65, 0x00, 0x00, 0x00, 0x0a, 0x75, 0x73, 0x65, 0x72, 0x2d, 0x61,
	0x67, 0x65, 0x6e, 0x74, 0x00, 0x00, 0x00, 0x04, 0x76, 0x61, 0x72, 0x79,
	0x00, 0x00, 0x00, 0x03, 0x76, 0x69, 0x61, 0x00, 0x00, 0x00, 0x07, 0x77,
	0x61, 0x72, 0x6e, 0x69, 0x6e, 0x67, 0x00, 0x00, 0x00, 0x10, 0x77, 0x77,
	0x77, 0x2d, 0x61, 0x75, 0x74, 0x68, 0x65, 0x6e, 0x74, 0x69, 0x63, 0x61,
	0x74, 0x65, 0x00, 0x00, 0x00, 0x06, 0x6d, 0x65, 0x74, 0x68, 0x6f, 0x64,
	0x00, 0x00, 0x00, 0x03, 0x67, 0x65, 0x74, 0x00, 0x00, 0x00, 0x06, 0x73,
	0x74, 0x61, 0x74, 0x75, 0x73, 0x00, 0x00, 0x00, 0x06, 0x32, 0x30, 0x30,
	0x20, 0x4f, 0x4b, 0x00, 0x00, 0x00, 0x07, 0x76, 0x65, 0x72, 0x73, 0x69,
	0x6f, 0x6e, 0x00, 0x00, 0x00, 0x08, 0x48, 0x54, 0x54, 0x50, 0x2f, 0x31,
	0x2e, 0x31, 0x00, 0x00, 0x00, 0x03, 0x75, 0x72, 0x6c, 0x00, 0x00, 0x00,
	0x06, 0x70, 0x75, 0x62, 0x6c, 0x69, 0x63, 0x00, 0x00, 0x00, 0x0a, 0x73,
	0x65, 0x74, 0x2d, 0x63, 0x6f, 0x6f, 0x6b, 0x69, 0x65, 0x00, 0x00, 0x00,
	0x0a, 0x6b, 0x65, 0x65, 0x70, 0x2d, 0x61, 0x6c, 0x69, 0x76, 0x65, 0x00,
	0x00, 0x00, 0x06, 0x6f, 0x72, 0x69, 0x67, 0x69, 0x6e, 0x31, 0x30, 0x30,
	0x31, 0x30, 0x31, 0x32, 0x30, 0x31, 0x32, 0x30, 0x32, 0x32, 0x30, 0x35,
	0x32, 0x30, 0x36, 0x33, 0x30, 0x30, 0x33, 0x30, 0x32, 0x33, 0x30, 0x33,
	0x33, 0x30, 0x34, 0x33, 0x30, 0x35, 0x33, 0x30, 0x36, 0x33, 0x30, 0x37,
	0x34, 0x30, 0x32, 0x34, 0x30, 0x35, 0x34, 0x30, 0x36, 0x34, 0x30, 0x37,
	0x34, 0x30, 0x38, 0x34, 0x30, 0x39, 0x34, 0x31, 0x30, 0x34, 0x31, 0x31,
	0x34, 0x31, 0x32, 0x34, 0x31, 0x33, 0x34, 0x31, 0x34, 0x34, 0x31, 0x35,
	0x34, 0x31, 0x36, 0x34, 0x31, 0x37, 0x35, 0x30, 0x32, 0x35, 0x30, 0x34,
	0x35, 0x30, 0x35, 0x32, 0x30, 0x33, 0x20, 0x4e, 0x6f, 0x6e, 0x2d, 0x41,
	0x75, 0x74, 0x68, 0x6f, 0x72, 0x69, 0x74, 0x61, 0x74, 0x69, 0x76, 0x65,
	0x20, 0x49, 0x6e, 0x66, 0x6f, 0x72, 0x6d, 0x61, 0x74, 0x69, 0x6f, 0x6e,
	0x32, 0x30, 0x34, 0x20, 0x4e, 0x6f, 0x20, 0x43, 0x6f, 0x6e, 0x74, 0x65,
	0x6e, 0x74, 0x33, 0x30, 0x31, 0x20, 0x4d, 0x6f, 0x76, 0x65, 0x64, 0x20,
	0x50, 0x65, 0x72, 0x6d, 0x61, 0x6e, 0x65, 0x6e, 0x74, 0x6c, 0x79, 0x34,
	0x30, 0x30, 0x20, 0x42, 0x61, 0x64, 0x20, 0x52, 0x65, 0x71, 0x75, 0x65,
	0x73, 0x74, 0x34, 0x30, 0x31, 0x20, 0x55, 0x6e, 0x61, 0x75, 0x74, 0x68,
	0x6f, 0x72, 0x69, 0x7a, 0x65, 0x64, 0x34, 0x30, 0x33, 0x20, 0x46, 0x6f,
	0x72, 0x62, 0x69, 0x64, 0x64, 0x65, 0x6e, 0x34, 0x30, 0x34, 0x20, 0x4e,
	0x6f, 0x74, 0x20, 0x46, 0x6f, 0x75, 0x6e, 0x64, 0x35, 0x30, 0x30, 0x20,
	0x49, 0x6e, 0x74, 0x65, 0x72, 0x6e, 0x61, 0x6c, 0x20, 0x53, 0x65, 0x72,
	0x76, 0x65, 0x72, 0x20, 0x45, 0x72, 0x72, 0x6f, 0x72, 0x35, 0x30, 0x31,
	0x20, 0x4e, 0x6f, 0x74, 0x20, 0x49, 0x6d, 0x70, 0x6c, 0x65, 0x6d, 0x65,
	0x6e, 0x74, 0x65, 0x64, 0x35, 0x30, 0x33, 0x20, 0x53, 0x65, 0x72, 0x76,
	0x69, 0x63, 0x65, 0x20, 0x55, 0x6e, 0x61, 0x76, 0x61, 0x69, 0x6c, 0x61,
	0x62, 0x6c, 0x65, 0x4a, 0x61, 0x6e, 0x20, 0x46, 0x65, 0x62, 0x20, 0x4d,
	0x61, 0x72, 0x20, 0x41, 0x70, 0x72, 0x20, 0x4d, 0x61, 0x79, 0x20, 0x4a,
	0x75, 0x6e, 0x20, 0x4a, 0x75, 0x6c, 0x20, 0x41, 0x75, 0x67, 0x20, 0x53,
	0x65, 0x70, 0x74, 0x20, 0x4f, 0x63, 0x74, 0x20, 0x4e, 0x6f, 0x76, 0x20,
	0x44, 0x65, 0x63, 0x20, 0x30, 0x30, 0x3a, 0x30, 0x30, 0x3a, 0x30, 0x30,
	0x20, 0x4d, 0x6f, 0x6e, 0x2c, 0x20, 0x54, 0x75, 0x65, 0x2c, 0x20, 0x57,
	0x65, 0x64, 0x2c, 0x20, 0x54, 0x68, 0x75, 0x2c, 0x20, 0x46, 0x72, 0x69,
	0x2c, 0x20, 0x53, 0x61, 0x74, 0x2c, 0x20, 0x53, 0x75, 0x6e, 0x2c, 0x20,
	0x47, 0x4d, 0x54, 0x63, 0x68, 0x75, 0x6e, 0x6b, 0x65, 0x64, 0x2c, 0x74,
	0x65, 0x78, 0x74, 0x2f, 0x68, 0x74, 0x6d, 0x6c, 0x2c, 0x69, 0x6d, 0x61,
	0x67, 0x65, 0x2f, 0x70, 0x6e, 0x67, 0x2c, 0x69, 0x6d, 0x61, 0x67, 0x65,
	0x2f, 0x6a, 0x70, 0x67, 0x2c, 0x69, 0x6d, 0x61, 0x67, 0x65, 0x2f, 0x67,
	0x69, 0x66, 0x2c, 0x61, 0x70, 0x70, 0x6c, 0x69, 0x63, 0x61, 0x74, 0x69,
	0x6f, 0x6e, 0x2f, 0x78, 0x6d, 0x6c, 0x2c, 0x61, 0x70, 0x70, 0x6c, 0x69,
	0x63, 0x61, 0x74, 0x69, 0x6f, 0x6e, 0x2f, 0x78, 0x68, 0x74, 0x6d, 0x6c,
	0x2b, 0x78, 0x6d, 0x6c, 0x2c, 0x74, 0x65, 0x78, 0x74, 0x2f, 0x70, 0x6c,
	0x61, 0x69, 0x6e, 0x2c, 0x74, 0x65, 0x78, 0x74, 0x2f, 0x6a, 0x61, 0x76,
	0x61, 0x73, 0x63, 0x72, 0x69, 0x70, 0x74, 0x2c, 0x70, 0x75, 0x62, 0x6c,
	0x69, 0x63, 0x70, 0x72, 0x69, 0x76, 0x61, 0x74, 0x65, 0x6d, 0x61, 0x78,
	0x2d, 0x61, 0x67, 0x65, 0x3d, 0x67, 0x7a, 0x69, 0x70, 0x2c, 0x64, 0x65,
	0x66, 0x6c, 0x61, 0x74, 0x65, 0x2c, 0x73, 0x64, 0x63, 0x68, 0x63, 0x68,
	0x61, 0x72, 0x73, 0x65, 0x74, 0x3d, 0x75, 0x74, 0x66, 0x2d, 0x38, 0x63,
	0x68, 0x61, 0x72, 0x73, 0x65, 0x74, 0x3d, 0x69, 0x73, 0x6f, 0x2d, 0x38,
	0x38, 0x35, 0x39, 0x2d, 0x31, 0x2c, 0x75, 0x74, 0x66, 0x2d, 0x2c, 0x2a,
	0x2c, 0x65, 0x6e, 0x71, 0x3d, 0x30, 0x2e,
};

#define CONTROL_BIT 0x80000000u
#define ID_MASK 0x7fffffffu
/* Our deflate stream: a 2 KiB window holds the whole dictionary and keeps
 * a connection's compressor small; peers inflate with any window. */
#define DEFLATE_WINDOW_BITS 11
#define DEFLATE_MEM_LEVEL 4

struct SpdyCodec {
	gsize max_frame;
	gsize max_header_block;
	z_stream deflate;
	z_stream inflate;
	gboolean deflate_ready;
	gboolean inflate_ready;
	gboolean failed; /* a parse error happened: input is refused */
};

#define spdy_throw(error, code, ...)                                           \
	(g_set_error((error), SPDY_ERROR, SPDY_RST_##code, __VA_ARGS__), FALSE)

SpdyCodec *spdy_codec_new(gsize max_frame)
{
	SpdyCodec *c = g_new0(SpdyCodec, 1);
	c->max_frame = max_frame ? max_frame : SPDY_DEFAULT_MAX_FRAME;
	c->max_header_block = SPDY_DEFAULT_MAX_HEADER_BLOCK;
	return c;
}

void spdy_codec_set_max_header_block(SpdyCodec *c, gsize max)
{
	c->max_header_block = max ? max : SPDY_DEFAULT_MAX_HEADER_BLOCK;
}

void spdy_codec_free(SpdyCodec *c)
{
	if (!c)
		return;
	if (c->deflate_ready)
		deflateEnd(&c->deflate);
	if (c->inflate_ready)
		inflateEnd(&c->inflate);
	g_free(c);
}

const char *spdy_type_name(SpdyType type)
{
	switch (type) {
	case SPDY_DATA:
		return "DATA";
	case SPDY_SYN_STREAM:
		return "SYN_STREAM";
	case SPDY_SYN_REPLY:
		return "SYN_REPLY";
	case SPDY_RST_STREAM:
		return "RST_STREAM";
	case SPDY_SETTINGS:
		return "SETTINGS";
	case SPDY_PING:
		return "PING";
	case SPDY_GOAWAY:
		return "GOAWAY";
	case SPDY_HEADERS:
		return "HEADERS";
	case SPDY_WINDOW_UPDATE:
		return "WINDOW_UPDATE";
	case SPDY_SKIPPED:
		break;
	}
	return "unknown control";
}

/* --- byte order ---------------------------------------------------------- */

static guint32 get32(const guint8 *p)
{
	return (guint32)p[0] << 24 | (guint32)p[1] << 16 | (guint32)p[2] << 8 |
	       (guint32)p[3];
}

static void set32(guint8 *p, guint32 v)
{
	p[0] = v >> 24;
	p[1] = v >> 16;
	p[2] = v >> 8;
	p[3] = v;
}

static void put32(GByteArray *out, guint32 v)
{
	guint8 b[4];
	set32(b, v);
	g_byte_array_append(out, b, 4);
}

static void put_control(GByteArray *out, SpdyType type, guint8 flags,
			guint32 length)
{
	put32(out, CONTROL_BIT | (guint32)SPDY_VERSION << 16 | (guint32)type);
	put32(out, (guint32)flags << 24 | length);
}

/* --- header blocks: writing ---------------------------------------------- */

static void encode_block(GByteArray *plain, const SpdyHeader *h, gsize n)
{
	put32(plain, n);
	for (gsize i = 0; i < n; i++) {
		gsize name_len = strlen(h[i].name);
		put32(plain, name_len);
		for (gsize j = 0; j < name_len; j++) {
			guint8 ch = g_ascii_tolower(h[i].name[j]);
			g_byte_array_append(plain, &ch, 1);
		}
		gsize value_len = h[i].value_len;
		if (value_len == 0 && h[i].value)
			value_len = strlen(h[i].value);
		put32(plain, value_len);
		if (value_len)
			g_byte_array_append(plain, (const guint8 *)h[i].value,
					    value_len);
	}
}

/* Compress plain onto the end of out and sync-flush, so the peer can
 * inflate this block without waiting for the next one. */
static void deflate_block(SpdyCodec *c, const GByteArray *plain,
			  GByteArray *out)
{
	z_stream *z = &c->deflate;
	if (!c->deflate_ready) {
		int r = deflateInit2(z, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
				     DEFLATE_WINDOW_BITS, DEFLATE_MEM_LEVEL,
				     Z_DEFAULT_STRATEGY);
		if (r == Z_OK)
			r = deflateSetDictionary(z, spdy_dictionary,
						 sizeof spdy_dictionary);
		/* Only memory exhaustion fails here, like g_malloc would. */
		if (r != Z_OK)
			g_error("spdy: deflate init: %s", zError(r));
		c->deflate_ready = TRUE;
	}
	z->next_in = (Bytef *)plain->data;
	z->avail_in = plain->len;
	gsize chunk = plain->len + 64;
	do {
		guint start = out->len;
		g_byte_array_set_size(out, start + chunk);
		z->next_out = out->data + start;
		z->avail_out = chunk;
		int r = deflate(z, Z_SYNC_FLUSH);
		g_assert(r == Z_OK || r == Z_BUF_ERROR);
		g_byte_array_set_size(out, start + chunk - z->avail_out);
	} while (z->avail_out == 0);
}

/* A control frame whose payload is prefix then a compressed header
 * block. */
static void put_header_frame(SpdyCodec *c, GByteArray *out, SpdyType type,
			     guint8 flags, const guint8 *prefix,
			     gsize prefix_len, const SpdyHeader *h, gsize n)
{
	g_autoptr(GByteArray) plain = g_byte_array_new();
	encode_block(plain, h, n);
	guint start = out->len;
	put_control(out, type, flags, 0);
	g_byte_array_append(out, prefix, prefix_len);
	deflate_block(c, plain, out);
	gsize length = out->len - start - SPDY_FRAME_HEADER_LEN;
	g_assert(length <= SPDY_MAX_LENGTH);
	set32(out->data + start + 4, (guint32)flags << 24 | length);
}

/* --- header blocks: reading ---------------------------------------------- */

/* Inflate one frame's compressed block, which must end exactly at a flush
 * point, into at most max_header_block bytes. */
static GByteArray *inflate_block(SpdyCodec *c, const SpdyFrame *f,
				 const guint8 *in, gsize in_len, GError **error)
{
	z_stream *z = &c->inflate;
	if (!c->inflate_ready) {
		if (inflateInit(z) != Z_OK)
			return g_set_error(error, SPDY_ERROR,
					   SPDY_RST_INTERNAL_ERROR,
					   "spdy: inflate init failed"),
			       NULL;
		c->inflate_ready = TRUE;
	}
	if (in_len == 0)
		return g_set_error(error, SPDY_ERROR, SPDY_RST_PROTOCOL_ERROR,
				   "%s stream %u: no header block",
				   spdy_type_name(f->type), f->stream_id),
		       NULL;

	g_autoptr(GByteArray) plain = g_byte_array_new();
	gsize used = 0;
	z->next_in = (Bytef *)in;
	z->avail_in = in_len;
	for (;;) {
		if (used == plain->len) {
			if (plain->len > c->max_header_block)
				return g_set_error(error, SPDY_ERROR,
						   SPDY_RST_FRAME_TOO_LARGE,
						   "%s stream %u: header block "
						   "inflates to more than %zu "
						   "bytes",
						   spdy_type_name(f->type),
						   f->stream_id,
						   c->max_header_block),
				       NULL;
			gsize grow = MAX(plain->len * 2, 1024);
			g_byte_array_set_size(
				plain, MIN(grow, c->max_header_block + 1));
		}
		z->next_out = plain->data + used;
		z->avail_out = plain->len - used;
		int r = inflate(z, Z_SYNC_FLUSH);
		used = plain->len - z->avail_out;
		if (r == Z_NEED_DICT) {
			if (inflateSetDictionary(z, spdy_dictionary,
						 sizeof spdy_dictionary) !=
			    Z_OK)
				return g_set_error(error, SPDY_ERROR,
						   SPDY_RST_PROTOCOL_ERROR,
						   "header compression asks "
						   "for a dictionary other "
						   "than SPDY/3's"),
				       NULL;
			continue;
		}
		if (r == Z_STREAM_END)
			return g_set_error(error, SPDY_ERROR,
					   SPDY_RST_PROTOCOL_ERROR,
					   "%s stream %u: the peer ended its "
					   "header compression stream",
					   spdy_type_name(f->type),
					   f->stream_id),
			       NULL;
		if (r != Z_OK && r != Z_BUF_ERROR)
			return g_set_error(error, SPDY_ERROR,
					   SPDY_RST_PROTOCOL_ERROR,
					   "%s stream %u: corrupt header "
					   "block: %s",
					   spdy_type_name(f->type),
					   f->stream_id,
					   z->msg ? z->msg : zError(r)),
			       NULL;
		if (z->avail_out > 0 && (z->avail_in == 0 || r == Z_BUF_ERROR))
			break;
	}
	if (z->avail_in != 0)
		return g_set_error(error, SPDY_ERROR, SPDY_RST_PROTOCOL_ERROR,
				   "%s stream %u: %u compressed bytes left "
				   "over",
				   spdy_type_name(f->type), f->stream_id,
				   z->avail_in),
		       NULL;
	g_byte_array_set_size(plain, used);
	return g_steal_pointer(&plain);
}

/* Set a PROTOCOL_ERROR about f's header block; returns FALSE. */
static gboolean G_GNUC_PRINTF(3, 4)
	block_error(const SpdyFrame *f, GError **error, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return spdy_throw(error, PROTOCOL_ERROR, "%s stream %u: %s",
			  spdy_type_name(f->type), f->stream_id, msg);
}

/* A length-prefixed string at p[*pos]: its length in *out_len. */
static gboolean take_string(const SpdyFrame *f, const guint8 *p, gsize len,
			    gsize *pos, const guint8 **out, gsize *out_len,
			    const char *what, GError **error)
{
	if (len - *pos < 4)
		return block_error(f, error,
				   "header block ends inside a %s "
				   "length",
				   what);
	gsize n = get32(p + *pos);
	*pos += 4;
	if (n > len - *pos)
		return block_error(f, error,
				   "%s of %zu bytes overruns the header block",
				   what, n);
	*out = p + *pos;
	*out_len = n;
	*pos += n;
	return TRUE;
}

static gboolean check_name(const SpdyFrame *f, const guint8 *name, gsize n,
			   GError **error)
{
	if (n == 0)
		return block_error(f, error, "zero-length header name");
	for (gsize i = 0; i < n; i++) {
		if (name[i] == 0)
			return block_error(f, error,
					   "header name holds a NUL byte");
		if (g_ascii_isupper(name[i]))
			return block_error(f, error,
					   "header name \"%.*s\" is not "
					   "lowercase",
					   (int)n, (const char *)name);
	}
	return TRUE;
}

/* Empty, or values of at least one byte separated by single NULs. */
static gboolean check_value(const SpdyFrame *f, const char *name,
			    const guint8 *v, gsize n, GError **error)
{
	if (n == 0)
		return TRUE;
	if (v[0] == 0 || v[n - 1] == 0)
		return block_error(f, error,
				   "header \"%s\": value starts or ends with "
				   "NUL",
				   name);
	for (gsize i = 1; i < n; i++)
		if (v[i] == 0 && v[i - 1] == 0)
			return block_error(f, error,
					   "header \"%s\": empty value between "
					   "NULs",
					   name);
	return TRUE;
}

static gboolean decode_block(SpdyFrame *f, const guint8 *p, gsize len,
			     GError **error)
{
	if (len < 4)
		return block_error(f, error,
				   "header block of %zu bytes has no "
				   "count",
				   len);
	guint32 count = get32(p);
	/* Each entry takes at least its two lengths. */
	if (count > (len - 4) / 8)
		return block_error(
			f, error, "header block of %zu bytes claims %u headers",
			len, count);
	f->headers = g_new0(SpdyHeader, count);
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	gsize pos = 4;
	for (guint32 i = 0; i < count; i++) {
		const guint8 *name, *value;
		gsize name_len, value_len;
		if (!take_string(f, p, len, &pos, &name, &name_len, "name",
				 error) ||
		    !check_name(f, name, name_len, error))
			return FALSE;
		SpdyHeader *h = &f->headers[f->n_headers++];
		h->name = g_strndup((const char *)name, name_len);
		if (!g_hash_table_add(seen, h->name))
			return block_error(f, error,
					   "header \"%s\" appears twice",
					   h->name);
		if (!take_string(f, p, len, &pos, &value, &value_len, "value",
				 error) ||
		    !check_value(f, h->name, value, value_len, error))
			return FALSE;
		h->value = g_malloc(value_len + 1);
		memcpy(h->value, value, value_len);
		h->value[value_len] = 0;
		h->value_len = value_len;
	}
	if (pos != len)
		return block_error(f, error, "%zu bytes after the last header",
				   len - pos);
	return TRUE;
}

static gboolean parse_block(SpdyCodec *c, SpdyFrame *f, const guint8 *in,
			    gsize in_len, GError **error)
{
	g_autoptr(GByteArray) plain = inflate_block(c, f, in, in_len, error);
	if (!plain)
		return FALSE;
	return decode_block(f, plain->data, plain->len, error);
}

/* --- frames: reading ----------------------------------------------------- */

static gboolean check_flags(const SpdyFrame *f, guint8 allowed, GError **error)
{
	if (f->flags & ~allowed)
		return spdy_throw(error, PROTOCOL_ERROR,
				  "%s stream %u: undefined flags 0x%02x",
				  spdy_type_name(f->type), f->stream_id,
				  f->flags & ~allowed);
	return TRUE;
}

static gboolean check_length(const SpdyFrame *f, gsize len, gsize want,
			     gboolean at_least, GError **error)
{
	if (at_least ? len >= want : len == want)
		return TRUE;
	return spdy_throw(error, PROTOCOL_ERROR,
			  "%s: length %zu, must be %s%zu",
			  spdy_type_name(f->type), len,
			  at_least ? "at least " : "", want);
}

static gboolean check_stream(const SpdyFrame *f, GError **error)
{
	if (f->stream_id == 0)
		return spdy_throw(error, PROTOCOL_ERROR,
				  "%s on stream 0, which is reserved",
				  spdy_type_name(f->type));
	return TRUE;
}

static gboolean parse_data(SpdyFrame *f, const guint8 *p, gsize len,
			   GError **error)
{
	if (!check_stream(f, error) || !check_flags(f, SPDY_FLAG_FIN, error))
		return FALSE;
	f->data = p;
	f->len = len;
	return TRUE;
}

static gboolean parse_syn_stream(SpdyCodec *c, SpdyFrame *f, const guint8 *p,
				 gsize len, GError **error)
{
	if (!check_length(f, len, 10, TRUE, error))
		return FALSE;
	f->stream_id = get32(p) & ID_MASK;
	f->assoc_id = get32(p + 4) & ID_MASK;
	f->priority = p[8] >> 5;
	/* p[9] is the credential slot, unused since 3.1. */
	if (!check_stream(f, error) ||
	    !check_flags(f, SPDY_FLAG_FIN | SPDY_FLAG_UNIDIRECTIONAL, error))
		return FALSE;
	return parse_block(c, f, p + 10, len - 10, error);
}

/* SYN_REPLY and HEADERS: a stream id, then the header block. */
static gboolean parse_reply(SpdyCodec *c, SpdyFrame *f, const guint8 *p,
			    gsize len, GError **error)
{
	if (!check_length(f, len, 4, TRUE, error))
		return FALSE;
	f->stream_id = get32(p) & ID_MASK;
	if (!check_stream(f, error) || !check_flags(f, SPDY_FLAG_FIN, error))
		return FALSE;
	return parse_block(c, f, p + 4, len - 4, error);
}

static gboolean parse_rst_stream(SpdyFrame *f, const guint8 *p, gsize len,
				 GError **error)
{
	if (!check_length(f, len, 8, FALSE, error))
		return FALSE;
	f->stream_id = get32(p) & ID_MASK;
	f->status = get32(p + 4);
	if (!check_stream(f, error) || !check_flags(f, 0, error))
		return FALSE;
	if (f->status == 0)
		return spdy_throw(error, PROTOCOL_ERROR,
				  "RST_STREAM stream %u: status 0 is not a "
				  "status code",
				  f->stream_id);
	return TRUE;
}

static gboolean parse_settings(SpdyFrame *f, const guint8 *p, gsize len,
			       GError **error)
{
	if (!check_length(f, len, 4, TRUE, error) ||
	    !check_flags(f, SPDY_FLAG_CLEAR_SETTINGS, error))
		return FALSE;
	guint32 n = get32(p);
	if ((guint64)n * 8 != len - 4)
		return spdy_throw(error, PROTOCOL_ERROR,
				  "SETTINGS: %u entries do not fill a payload "
				  "of %zu bytes",
				  n, len);
	f->settings = g_new0(SpdySetting, n);
	f->n_settings = n;
	for (guint32 i = 0; i < n; i++) {
		guint32 w = get32(p + 4 + 8 * i);
		f->settings[i].flags = w >> 24;
		f->settings[i].id = w & 0xffffff;
		f->settings[i].value = get32(p + 8 + 8 * i);
	}
	return TRUE;
}

static gboolean parse_ping(SpdyFrame *f, const guint8 *p, gsize len,
			   GError **error)
{
	if (!check_length(f, len, 4, FALSE, error) || !check_flags(f, 0, error))
		return FALSE;
	f->ping_id = get32(p);
	return TRUE;
}

static gboolean parse_goaway(SpdyFrame *f, const guint8 *p, gsize len,
			     GError **error)
{
	if (!check_length(f, len, 8, FALSE, error) || !check_flags(f, 0, error))
		return FALSE;
	f->last_good_id = get32(p) & ID_MASK;
	f->status = get32(p + 4);
	return TRUE;
}

static gboolean parse_window_update(SpdyFrame *f, const guint8 *p, gsize len,
				    GError **error)
{
	if (!check_length(f, len, 8, FALSE, error))
		return FALSE;
	/* Stream 0 is the session's window (SPDY/3.1). */
	f->stream_id = get32(p) & ID_MASK;
	f->delta = get32(p + 4) & ID_MASK;
	if (!check_flags(f, 0, error))
		return FALSE;
	if (f->delta == 0)
		return spdy_throw(error, PROTOCOL_ERROR,
				  "WINDOW_UPDATE stream %u: delta 0 is outside "
				  "1..2^31-1",
				  f->stream_id);
	return TRUE;
}

static gboolean parse_payload(SpdyCodec *c, SpdyFrame *f, const guint8 *p,
			      gsize len, GError **error)
{
	switch (f->type) {
	case SPDY_DATA:
		return parse_data(f, p, len, error);
	case SPDY_SYN_STREAM:
		return parse_syn_stream(c, f, p, len, error);
	case SPDY_SYN_REPLY:
	case SPDY_HEADERS:
		return parse_reply(c, f, p, len, error);
	case SPDY_RST_STREAM:
		return parse_rst_stream(f, p, len, error);
	case SPDY_SETTINGS:
		return parse_settings(f, p, len, error);
	case SPDY_PING:
		return parse_ping(f, p, len, error);
	case SPDY_GOAWAY:
		return parse_goaway(f, p, len, error);
	case SPDY_WINDOW_UPDATE:
		return parse_window_update(f, p, len, error);
	case SPDY_SKIPPED:
		return TRUE;
	}
	g_assert_not_reached();
}

static SpdyType control_type(guint16 wire)
{
	switch (wire) {
	case SPDY_SYN_STREAM:
	case SPDY_SYN_REPLY:
	case SPDY_RST_STREAM:
	case SPDY_SETTINGS:
	case SPDY_PING:
	case SPDY_GOAWAY:
	case SPDY_HEADERS:
	case SPDY_WINDOW_UPDATE:
		return (SpdyType)wire;
	default:
		return SPDY_SKIPPED;
	}
}

/* The frame header: type, flags, version and size rules. */
static gboolean parse_frame_header(SpdyCodec *c, SpdyFrame *f,
				   const guint8 *buf, gsize *length,
				   GError **error)
{
	guint32 w0 = get32(buf);
	guint32 w1 = get32(buf + 4);
	f->flags = w1 >> 24;
	*length = w1 & 0xffffff;
	if (w0 & CONTROL_BIT) {
		guint version = (w0 >> 16) & 0x7fff;
		f->control_type = w0 & 0xffff;
		f->type = control_type(f->control_type);
		if (version != SPDY_VERSION)
			return spdy_throw(error, UNSUPPORTED_VERSION,
					  "control frame of type %u has "
					  "version %u, not %d",
					  f->control_type, version,
					  SPDY_VERSION);
	} else {
		f->type = SPDY_DATA;
		f->stream_id = w0 & ID_MASK;
	}
	if (*length > c->max_frame)
		return spdy_throw(error, FRAME_TOO_LARGE,
				  "%s frame of %zu bytes exceeds the limit of "
				  "%zu",
				  spdy_type_name(f->type), *length,
				  c->max_frame);
	return TRUE;
}

gssize spdy_parse(SpdyCodec *c, const guint8 *buf, gsize len, SpdyFrame *frame,
		  GError **error)
{
	memset(frame, 0, sizeof *frame);
	if (c->failed) {
		g_set_error(error, SPDY_ERROR, SPDY_RST_PROTOCOL_ERROR,
			    "SPDY session already broken by an earlier frame");
		return -1;
	}
	if (len < SPDY_FRAME_HEADER_LEN)
		return 0;
	gsize length;
	gboolean ok = parse_frame_header(c, frame, buf, &length, error);
	if (ok && len - SPDY_FRAME_HEADER_LEN < length) {
		/* Not all here yet: hand back nothing half-read. */
		memset(frame, 0, sizeof *frame);
		return 0;
	}
	if (ok)
		ok = parse_payload(c, frame, buf + SPDY_FRAME_HEADER_LEN,
				   length, error);
	if (!ok) {
		SpdyType type = frame->type;
		guint32 stream = frame->stream_id;
		spdy_frame_clear(frame);
		frame->type = type;
		frame->stream_id = stream;
		c->failed = TRUE;
		return -1;
	}
	return SPDY_FRAME_HEADER_LEN + length;
}

void spdy_frame_clear(SpdyFrame *f)
{
	for (gsize i = 0; i < f->n_headers; i++) {
		g_free(f->headers[i].name);
		g_free(f->headers[i].value);
	}
	g_free(f->headers);
	g_free(f->settings);
	memset(f, 0, sizeof *f);
}

const SpdyHeader *spdy_frame_header(const SpdyFrame *f, const char *name)
{
	for (gsize i = 0; i < f->n_headers; i++)
		if (g_ascii_strcasecmp(f->headers[i].name, name) == 0)
			return &f->headers[i];
	return NULL;
}

/* --- frames: writing ----------------------------------------------------- */

void spdy_put_syn_stream(SpdyCodec *c, GByteArray *out, guint32 stream,
			 guint32 assoc, guint8 priority, guint8 flags,
			 const SpdyHeader *h, gsize n)
{
	guint8 prefix[10] = {0};
	set32(prefix, stream & ID_MASK);
	set32(prefix + 4, assoc & ID_MASK);
	prefix[8] = (priority & 7) << 5;
	put_header_frame(c, out, SPDY_SYN_STREAM, flags, prefix, sizeof prefix,
			 h, n);
}

void spdy_put_syn_reply(SpdyCodec *c, GByteArray *out, guint32 stream,
			guint8 flags, const SpdyHeader *h, gsize n)
{
	guint8 prefix[4];
	set32(prefix, stream & ID_MASK);
	put_header_frame(c, out, SPDY_SYN_REPLY, flags, prefix, sizeof prefix,
			 h, n);
}

void spdy_put_headers(SpdyCodec *c, GByteArray *out, guint32 stream,
		      guint8 flags, const SpdyHeader *h, gsize n)
{
	guint8 prefix[4];
	set32(prefix, stream & ID_MASK);
	put_header_frame(c, out, SPDY_HEADERS, flags, prefix, sizeof prefix, h,
			 n);
}

void spdy_put_data(GByteArray *out, guint32 stream, guint8 flags,
		   const void *data, gsize len)
{
	g_return_if_fail(len <= SPDY_MAX_LENGTH);
	put32(out, stream & ID_MASK);
	put32(out, (guint32)flags << 24 | len);
	if (len)
		g_byte_array_append(out, data, len);
}

void spdy_put_rst_stream(GByteArray *out, guint32 stream, guint32 status)
{
	put_control(out, SPDY_RST_STREAM, 0, 8);
	put32(out, stream & ID_MASK);
	put32(out, status);
}

void spdy_put_settings(GByteArray *out, guint8 flags, const SpdySetting *s,
		       gsize n)
{
	g_return_if_fail(n <= (SPDY_MAX_LENGTH - 4) / 8);
	put_control(out, SPDY_SETTINGS, flags, 4 + 8 * n);
	put32(out, n);
	for (gsize i = 0; i < n; i++) {
		put32(out, (guint32)s[i].flags << 24 | (s[i].id & 0xffffff));
		put32(out, s[i].value);
	}
}

void spdy_put_ping(GByteArray *out, guint32 id)
{
	put_control(out, SPDY_PING, 0, 4);
	put32(out, id);
}

void spdy_put_goaway(GByteArray *out, guint32 last_good, guint32 status)
{
	put_control(out, SPDY_GOAWAY, 0, 8);
	put32(out, last_good & ID_MASK);
	put32(out, status);
}

void spdy_put_window_update(GByteArray *out, guint32 stream, guint32 delta)
{
	put_control(out, SPDY_WINDOW_UPDATE, 0, 8);
	put32(out, stream & ID_MASK);
	put32(out, delta & ID_MASK);
}

/* --- flow control -------------------------------------------------------- */

gboolean spdy_window_grow(gint64 *window, guint32 delta, GError **error)
{
	if (delta == 0 || delta > SPDY_MAX_WINDOW ||
	    *window + (gint64)delta > SPDY_MAX_WINDOW)
		return spdy_throw(error, FLOW_CONTROL_ERROR,
				  "window of %" G_GINT64_FORMAT
				  " grown by %u passes 2^31-1",
				  *window, delta);
	*window += delta;
	return TRUE;
}

gboolean spdy_window_consume(gint64 *window, gsize len, GError **error)
{
	if ((gint64)len > *window)
		return spdy_throw(error, FLOW_CONTROL_ERROR,
				  "%zu bytes of DATA exceed the window of "
				  "%" G_GINT64_FORMAT,
				  len, *window);
	*window -= len;
	return TRUE;
}
