/* Disk usage of a tree, as du counts it: allocated blocks and inodes,
 * not following symlinks nor crossing into other filesystems, each
 * hard-linked inode once. */
#pragma once

#include <glib.h>

gboolean berth_disk_usage(const char *dir, guint64 *bytes, guint64 *inodes,
			  GError **error);

/* berth_disk_usage, remembered per dir for max_age_us (from the time the
 * walk began): stats and metrics that every scrape asks for walk a
 * writable layer at most once per period. No lock is held during a walk;
 * entries nobody asked for in ten minutes are dropped. */
gboolean berth_disk_usage_cached(const char *dir, gint64 max_age_us,
				 guint64 *bytes, guint64 *inodes,
				 GError **error);

/* The size of the filesystem that holds path, and its inodes in all and
 * free (statvfs). */
gboolean berth_fs_capacity(const char *path, guint64 *bytes, guint64 *inodes,
			   guint64 *inodes_free, GError **error);
