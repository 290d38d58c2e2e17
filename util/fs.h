/* File helpers every module shares: the autofd cleanup, atomic writes
 * (tmp + fsync + rename + fsync dir), and directory creation. */
#pragma once

#include <glib.h>
#include <unistd.h>

static inline void berth_close_fdp(int *fd)
{
	if (*fd >= 0)
		close(*fd);
}
/* An int fd closed when it leaves scope; init it to -1. */
#define autofd __attribute__((cleanup(berth_close_fdp))) int

/* Steal an fd out of an autofd so it is not closed. */
static inline int berth_steal_fd(int *fd)
{
	int r = *fd;
	*fd = -1;
	return r;
}

/* Replace path's contents atomically and durably: write a tmp file beside
 * it, fsync, rename over path, fsync the directory. */
gboolean berth_write_file_atomic(const char *path, const void *data, gsize len,
				 mode_t mode, GError **error);

/* Replace path's contents atomically but not durably: no fsync, so a
 * crash of berthd never leaves a torn file, but a crash of the machine
 * may leave an empty one. Only for files a reboot makes useless anyway
 * (what a pod or container reads while it runs in this boot). */
gboolean berth_replace_file(const char *path, const void *data, gsize len,
			    mode_t mode, GError **error);

/* Read a whole file; NOT_FOUND when it does not exist. */
gboolean berth_read_file(const char *path, char **out, gsize *len,
			 GError **error);

/* mkdir -p with the given mode for the dirs it creates. */
gboolean berth_mkdir_p(const char *path, mode_t mode, GError **error);

/* fsync a directory by path. */
gboolean berth_fsync_dir(const char *path, GError **error);

/* Lazily unmount (MNT_DETACH, not following a symlink) every mount
 * stacked on path, as a retried or interrupted call may leave several;
 * success when nothing is mounted there or path does not exist. */
gboolean berth_unmount_all(const char *path, GError **error);

/* Remove a tree (no following symlinks, no crossing mount points);
 * success when it does not exist. */
gboolean berth_rm_rf(const char *path, GError **error);
