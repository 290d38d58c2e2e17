/* Store usage by one walk: st_blocks for bytes, unique (dev, ino) for
 * inodes. Called when the store changes, never per request. */
#include "image/fsinfo.h"
#include "util/error.h"
#include "util/fs.h"

#include <errno.h>
#include <fts.h>
#include <string.h>
#include <sys/stat.h>

typedef struct {
	dev_t dev;
	ino_t ino;
} InodeKey;

static guint inode_hash(gconstpointer p)
{
	const InodeKey *k = p;
	return g_int64_hash(&(gint64){(gint64)k->ino ^ ((gint64)k->dev << 40)});
}

static gboolean inode_equal(gconstpointer a, gconstpointer b)
{
	const InodeKey *x = a, *y = b;
	return x->dev == y->dev && x->ino == y->ino;
}

gboolean image_fs_usage_scan(const char *dir, ImageFsUsage *out, GError **error)
{
	memset(out, 0, sizeof *out);
	if (!berth_mkdir_p(dir, 0700, error))
		return FALSE;
	char *paths[] = {(char *)dir, NULL};
	FTS *fts = fts_open(paths, FTS_PHYSICAL | FTS_XDEV | FTS_NOCHDIR, NULL);
	if (fts == NULL)
		return berth_throw_errno(error, errno, "walk %s", dir);
	g_autoptr(GHashTable) seen =
		g_hash_table_new_full(inode_hash, inode_equal, g_free, NULL);
	FTSENT *e;
	while ((e = fts_read(fts)) != NULL) {
		if (e->fts_info == FTS_DP || e->fts_statp == NULL ||
		    e->fts_info == FTS_NS || e->fts_info == FTS_ERR)
			continue;
		const struct stat *st = e->fts_statp;
		if (st->st_nlink > 1 && !S_ISDIR(st->st_mode)) {
			InodeKey k = {st->st_dev, st->st_ino};
			if (g_hash_table_contains(seen, &k))
				continue;
			g_hash_table_add(seen, g_memdup2(&k, sizeof k));
		}
		out->used_bytes += (guint64)st->st_blocks * 512;
		out->inodes_used++;
	}
	fts_close(fts);
	out->mountpoint = g_strdup(dir);
	out->timestamp_ns = g_get_real_time() * 1000;
	return TRUE;
}

void image_fs_usage_clear(ImageFsUsage *u)
{
	g_free(u->mountpoint);
	memset(u, 0, sizeof *u);
}
