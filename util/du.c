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

/* --- the cache ------------------------------------------------------------ */

#define DU_FORGET_US (600 * G_USEC_PER_SEC)

typedef struct {
	guint64 bytes, inodes;
	gint64 at;	/* monotonic, when the walk began */
	gint64 used_at; /* monotonic, last asked for */
} DuEntry;

static GMutex du_lock;
static GHashTable *du_cache; /* dir -> DuEntry */
static gint64 du_pruned_at;

static void du_prune_locked(gint64 now)
{
	if (now - du_pruned_at < 60 * G_USEC_PER_SEC)
		return;
	du_pruned_at = now;
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, du_cache);
	while (g_hash_table_iter_next(&it, NULL, &v))
		if (now - ((DuEntry *)v)->used_at > DU_FORGET_US)
			g_hash_table_iter_remove(&it);
}

gboolean berth_disk_usage_cached(const char *dir, gint64 max_age_us,
				 guint64 *bytes, guint64 *inodes,
				 GError **error)
{
	gint64 now = g_get_monotonic_time();
	g_mutex_lock(&du_lock);
	if (du_cache == NULL)
		du_cache = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, g_free);
	DuEntry *e = g_hash_table_lookup(du_cache, dir);
	gboolean fresh = e != NULL && now - e->at < max_age_us;
	if (fresh) {
		e->used_at = now;
		*bytes = e->bytes;
		*inodes = e->inodes;
	}
	g_mutex_unlock(&du_lock);
	if (fresh)
		return TRUE;
	if (!berth_disk_usage(dir, bytes, inodes, error))
		return FALSE;
	g_mutex_lock(&du_lock);
	DuEntry *n = g_new(DuEntry, 1);
	*n = (DuEntry){*bytes, *inodes, now, now};
	g_hash_table_replace(du_cache, g_strdup(dir), n);
	du_prune_locked(now);
	g_mutex_unlock(&du_lock);
	return TRUE;
}
