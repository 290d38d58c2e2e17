/* zstd frame headers and block headers (RFC 8878, section 3.1), walked
 * byte by byte: a frame is magic, a header whose window descriptor (or
 * content size, for a single segment) gives the decoder's window, then
 * blocks whose 3-byte headers give their sizes, then an optional
 * checksum. Skippable frames carry their own size. */
#include "image/zstd-frames.h"
#include "util/error.h"

#include <string.h>

#define ZSTD_MAGIC 0xFD2FB528u
#define ZSTD_SKIP_MAGIC 0x184D2A50u /* the low 4 bits are free */

enum {
	ZF_MAGIC,     /* 4 bytes */
	ZF_FHD,	      /* 1 byte: the frame header descriptor */
	ZF_HEADER,    /* window descriptor, dictionary id, content size */
	ZF_BLOCK,     /* 3 bytes */
	ZF_BODY,      /* skip bytes: a block, or a skippable frame */
	ZF_CHECKSUM,  /* 4 bytes */
	ZF_SKIP_SIZE, /* 4 bytes */
};

static const guint zf_did_size[] = {0, 1, 2, 4};
static const guint zf_fcs_size[] = {0, 2, 4, 8};

void zstd_frames_init(ZstdFrames *z, guint64 max_window)
{
	*z = (ZstdFrames){
		.state = ZF_MAGIC, .need = 4, .max_window = max_window};
}

static guint64 zf_le(const guint8 *p, guint n)
{
	guint64 v = 0;
	for (guint i = n; i-- > 0;)
		v = v << 8 | p[i];
	return v;
}

static void zf_expect(ZstdFrames *z, int state, guint need)
{
	z->state = state;
	z->have = 0;
	z->need = need;
}

static void zf_skip(ZstdFrames *z, guint64 n, gboolean last)
{
	z->state = ZF_BODY;
	z->skip = n;
	z->last = last;
}

static void zf_magic(ZstdFrames *z)
{
	guint32 m = (guint32)zf_le(z->hdr, 4);
	if (m == ZSTD_MAGIC)
		zf_expect(z, ZF_FHD, 1);
	else if ((m & ~0xFu) == ZSTD_SKIP_MAGIC)
		zf_expect(z, ZF_SKIP_SIZE, 4);
	else /* gzip, a plain tar, or trailing bytes: libarchive judges */
		z->off = TRUE;
}

/* Content size field: single-segment frames always have one. */
static guint zf_fcs_bytes(guint8 fhd)
{
	guint n = zf_fcs_size[fhd >> 6];
	return n == 0 && (fhd & 0x20) ? 1 : n;
}

static void zf_descriptor(ZstdFrames *z)
{
	guint8 fhd = z->hdr[0];
	z->checksum = (fhd & 0x04) != 0;
	/* The rest of the header goes after the descriptor in hdr. */
	z->state = ZF_HEADER;
	z->have = 1;
	z->need = 1 + ((fhd & 0x20) ? 0 : 1) + zf_did_size[fhd & 3] +
		  zf_fcs_bytes(fhd);
}

static gboolean zf_window(ZstdFrames *z, GError **error)
{
	guint8 fhd = z->hdr[0];
	if (fhd & 0x08)
		return berth_throw(error, INVALID_ARGUMENT,
				   "zstd frame: reserved header bit set");
	guint64 window;
	if (fhd & 0x20) {
		guint n = zf_fcs_bytes(fhd);
		window = zf_le(z->hdr + 1 + zf_did_size[fhd & 3], n) +
			 (n == 2 ? 256 : 0);
	} else {
		guint exponent = z->hdr[1] >> 3, mantissa = z->hdr[1] & 7;
		guint64 base = (guint64)1 << (10 + exponent);
		window = base + base / 8 * mantissa;
	}
	if (window > z->max_window)
		return berth_throw(error, RESOURCE_EXHAUSTED,
				   "zstd frame needs a %" G_GUINT64_FORMAT
				   "-byte window, over the limit of "
				   "%" G_GUINT64_FORMAT,
				   window, z->max_window);
	zf_expect(z, ZF_BLOCK, 3);
	return TRUE;
}

static gboolean zf_block(ZstdFrames *z, GError **error)
{
	guint32 h = (guint32)zf_le(z->hdr, 3);
	guint type = (h >> 1) & 3;
	if (type == 3)
		return berth_throw(error, INVALID_ARGUMENT,
				   "zstd frame: reserved block type");
	/* An RLE block holds one byte, however long its output. */
	zf_skip(z, type == 1 ? 1 : h >> 3, h & 1);
	return TRUE;
}

/* A block or skippable frame was skipped over: what comes next. */
static void zf_body_done(ZstdFrames *z)
{
	if (!z->last)
		zf_expect(z, ZF_BLOCK, 3);
	else if (z->checksum)
		zf_expect(z, ZF_CHECKSUM, 4);
	else
		zf_expect(z, ZF_MAGIC, 4);
}

/* hdr holds the whole piece the state wanted: act on it. */
static gboolean zf_step(ZstdFrames *z, GError **error)
{
	switch (z->state) {
	case ZF_MAGIC:
		zf_magic(z);
		return TRUE;
	case ZF_FHD:
		zf_descriptor(z);
		return TRUE;
	case ZF_HEADER:
		return zf_window(z, error);
	case ZF_BLOCK:
		return zf_block(z, error);
	case ZF_SKIP_SIZE:
		z->checksum = FALSE;
		zf_skip(z, zf_le(z->hdr, 4), TRUE);
		return TRUE;
	default: /* ZF_CHECKSUM */
		zf_expect(z, ZF_MAGIC, 4);
		return TRUE;
	}
}

gboolean zstd_frames_feed(ZstdFrames *z, const guint8 *buf, gsize len,
			  GError **error)
{
	while (!z->off) {
		if (z->state == ZF_BODY) {
			guint64 n = MIN(z->skip, (guint64)len);
			z->skip -= n;
			buf += n;
			len -= n;
			if (z->skip > 0)
				return TRUE;
			zf_body_done(z);
			continue;
		}
		if (len == 0)
			return TRUE;
		guint n = (guint)MIN((gsize)(z->need - z->have), len);
		memcpy(z->hdr + z->have, buf, n);
		z->have += n;
		buf += n;
		len -= n;
		if (z->have == z->need && !zf_step(z, error))
			return FALSE;
	}
	return TRUE;
}
