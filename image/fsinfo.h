/* How much the image store occupies: bytes and inodes under its dir, each
 * inode counted once however many hardlinks (ostree checkouts) it has. */
#pragma once

#include <glib.h>

typedef struct {
	char *mountpoint; /* the store dir reported as the fs id */
	guint64 used_bytes;
	guint64 inodes_used;
	gint64 timestamp_ns; /* when it was measured */
} ImageFsUsage;

/* Walk dir (creating it when missing) and measure it. */
gboolean image_fs_usage_scan(const char *dir, ImageFsUsage *out,
			     GError **error);
void image_fs_usage_clear(ImageFsUsage *u);
