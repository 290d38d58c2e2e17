/* A watch on the frames of a zstd stream as it goes by, without
 * decoding it: every frame's window (the memory its decoder needs) is
 * checked against a cap before libarchive's zstd filter allocates it.
 * A stream that does not start with a zstd frame is left alone. */
#pragma once

#include <glib.h>

/* The zstd spec asks decoders to support 8 MiB windows, what levels up
 * to 19 use; --ultra and --long frames ask for up to 128 MiB (libzstd's
 * own default limit), per layer importing at once. */
#define ZSTD_FRAMES_MAX_WINDOW (8u << 20)

typedef struct {
	int state;
	guint8 hdr[16]; /* the header piece being gathered */
	guint have, need;
	guint64 skip;	   /* bytes left of a block or skippable frame */
	gboolean last;	   /* the block being skipped ends its frame */
	gboolean checksum; /* the frame ends with a 4-byte checksum */
	gboolean off;	   /* not zstd: nothing to watch */
	guint64 max_window;
} ZstdFrames;

void zstd_frames_init(ZstdFrames *z, guint64 max_window);
/* Feed the next bytes of the stream; FALSE with RESOURCE_EXHAUSTED once a
 * frame asks for a window over the cap, INVALID_ARGUMENT for a header the
 * decoder would refuse anyway. */
gboolean zstd_frames_feed(ZstdFrames *z, const guint8 *buf, gsize len,
			  GError **error);
