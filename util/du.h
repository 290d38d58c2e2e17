/* Disk usage of a tree, as du counts it: allocated blocks and inodes,
 * not following symlinks nor crossing into other filesystems, each
 * hard-linked inode once. */
#pragma once

#include <glib.h>

gboolean berth_disk_usage(const char *dir, guint64 *bytes, guint64 *inodes,
			  GError **error);
