/* Store usage by one walk: st_blocks for bytes, unique (dev, ino) for
 * inodes. Called when the store changes, never per request. */
#include "image/fsinfo.h"
#include "util/error.h"
#include "util/du.h"
#include "util/fs.h"

#include <string.h>
#include <sys/stat.h>

gboolean image_fs_usage_scan(const char *dir, ImageFsUsage *out, GError **error)
{
	memset(out, 0, sizeof *out);
	if (!berth_mkdir_p(dir, 0700, error) ||
	    !berth_disk_usage(dir, &out->used_bytes, &out->inodes_used, error))
		return FALSE;
	out->mountpoint = g_strdup(dir);
	out->timestamp_ns = g_get_real_time() * 1000;
	return TRUE;
}

void image_fs_usage_clear(ImageFsUsage *u)
{
	g_free(u->mountpoint);
	memset(u, 0, sizeof *u);
}
