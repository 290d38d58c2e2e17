/* Atomic (and durable) file writes and small directory helpers. */
#include "util/fs.h"
#include "util/error.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

gboolean berth_fsync_dir(const char *path, GError **error)
{
	autofd fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berth_throw_errno(error, errno, "open %s", path);
	if (fsync(fd) < 0)
		return berth_throw_errno(error, errno, "fsync %s", path);
	return TRUE;
}

static gboolean write_file_replace(const char *path, const void *data,
				   gsize len, mode_t mode, gboolean durable,
				   GError **error)
{
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *tmp = g_strdup_printf("%s.tmp-%d-%lx", path, getpid(),
					       (unsigned long)g_random_int());
	autofd fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return berth_throw_errno(error, errno, "create %s", tmp);
	/* The mode asked for, whatever the process umask. */
	if (fchmod(fd, mode) < 0) {
		int errsv = errno;
		unlink(tmp);
		return berth_throw_errno(error, errsv, "chmod %s", tmp);
	}
	const char *p = data;
	gsize left = len;
	while (left > 0) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int errsv = errno;
			unlink(tmp);
			return berth_throw_errno(error, errsv, "write %s", tmp);
		}
		p += n;
		left -= n;
	}
	if ((durable && fsync(fd) < 0) || rename(tmp, path) < 0) {
		int errsv = errno;
		unlink(tmp);
		return berth_throw_errno(error, errsv, "commit %s", path);
	}
	return !durable || berth_fsync_dir(dir, error);
}

gboolean berth_write_file_atomic(const char *path, const void *data, gsize len,
				 mode_t mode, GError **error)
{
	return write_file_replace(path, data, len, mode, TRUE, error);
}

gboolean berth_replace_file(const char *path, const void *data, gsize len,
			    mode_t mode, GError **error)
{
	return write_file_replace(path, data, len, mode, FALSE, error);
}

gboolean berth_read_file(const char *path, char **out, gsize *len,
			 GError **error)
{
	g_autoptr(GError) local = NULL;
	if (!g_file_get_contents(path, out, len, &local)) {
		BerthErrorCode code =
			g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT)
				? BERTH_ERROR_NOT_FOUND
				: BERTH_ERROR_INTERNAL;
		return berth_throw_code(error, code, "%s", local->message);
	}
	return TRUE;
}

gboolean berth_mkdir_p(const char *path, mode_t mode, GError **error)
{
	if (g_mkdir_with_parents(path, mode) < 0)
		return berth_throw_errno(error, errno, "mkdir %s", path);
	return TRUE;
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	int r = (flag == FTW_DP) ? rmdir(path) : unlink(path);
	if (r < 0 && errno != ENOENT)
		return errno;
	return 0;
}

gboolean berth_rm_rf(const char *path, GError **error)
{
	int r = nftw(path, rm_one, 32, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
	if (r < 0 && errno == ENOENT)
		return TRUE;
	if (r != 0)
		return berth_throw_errno(error, r > 0 ? r : errno, "remove %s",
					 path);
	return TRUE;
}

gboolean berth_unmount_all(const char *path, GError **error)
{
	/* Bounded: each round removes one mount, and no path holds more
	 * than a few. */
	for (int i = 0; i < 64; i++) {
		if (umount2(path, MNT_DETACH | UMOUNT_NOFOLLOW) == 0)
			continue;
		if (errno == EINVAL || errno == ENOENT)
			return TRUE;
		return berth_throw_errno(error, errno, "unmount %s", path);
	}
	return berth_throw(error, INTERNAL,
			   "unmount %s: still mounted after "
			   "64 unmounts",
			   path);
}
