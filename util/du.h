/* Disk usage of a tree, as du counts it: allocated blocks and inodes,
 * not following symlinks nor crossing into other filesystems, each
 * hard-linked inode once. */
#pragma once

#include <glib.h>

gboolean berth_disk_usage(const char *dir, guint64 *bytes, guint64 *inodes,
			  GError **error);

/* The size of the filesystem that holds path, and its inodes in all and
 * free (statvfs). */
gboolean berth_fs_capacity(const char *path, guint64 *bytes, guint64 *inodes,
			   guint64 *inodes_free, GError **error);
