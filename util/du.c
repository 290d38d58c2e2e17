/* One fts walk; hard links recognised by (dev, ino). */
#include "util/du.h"
#include "util/error.h"

#include <errno.h>
#include <fts.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

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

gboolean berth_disk_usage(const char *dir, guint64 *bytes, guint64 *inodes,
			  GError **error)
{
	*bytes = *inodes = 0;
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
		*bytes += (guint64)st->st_blocks * 512;
		(*inodes)++;
	}
	fts_close(fts);
	return TRUE;
}

gboolean berth_fs_capacity(const char *path, guint64 *bytes, guint64 *inodes,
			   guint64 *inodes_free, GError **error)
{
	struct statvfs sv;
	if (statvfs(path, &sv) != 0)
		return berth_throw_errno(error, errno, "statvfs %s", path);
	*bytes = (guint64)sv.f_blocks * sv.f_frsize;
	*inodes = sv.f_files;
	*inodes_free = sv.f_ffree;
	return TRUE;
}
