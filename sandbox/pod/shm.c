/* The per-pod /dev/shm tmpfs. */
#include "sandbox/pod/shm.h"
#include "util/error.h"
#include "util/fs.h"

#include <errno.h>
#include <linux/magic.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

/* A tmpfs mounted exactly on dir (not merely a dir on some tmpfs). */
static gboolean is_tmpfs_mount(const char *dir)
{
	struct statfs fs;
	struct stat st, parent;
	g_autofree char *up = g_build_filename(dir, "..", NULL);
	if (statfs(dir, &fs) < 0 || fs.f_type != TMPFS_MAGIC ||
	    stat(dir, &st) < 0 || stat(up, &parent) < 0)
		return FALSE;
	return st.st_dev != parent.st_dev;
}

gboolean pod_shm_mount(const char *dir, gint64 uid, gint64 gid, GError **error)
{
	if (!berth_mkdir_p(dir, 0755, error))
		return FALSE;
	if (is_tmpfs_mount(dir))
		return TRUE;
	g_autofree char *opts =
		g_strdup_printf("mode=1777,size=%d", POD_SHM_SIZE);
	if (uid >= 0 && gid >= 0) {
		g_autofree char *base = g_steal_pointer(&opts);
		opts = g_strdup_printf("%s,uid=%" G_GINT64_FORMAT
				       ",gid=%" G_GINT64_FORMAT,
				       base, uid, gid);
	}
	if (mount("shm", dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, opts) <
	    0)
		return berth_throw_errno(error, errno,
					 "mount the pod shm on %s", dir);
	return TRUE;
}

gboolean pod_shm_unmount(const char *dir, GError **error)
{
	/* A mount stacked twice by a retried call goes too. */
	if (!berth_unmount_all(dir, error)) {
		g_prefix_error(error, "the pod shm: ");
		return FALSE;
	}
	if (rmdir(dir) < 0 && errno != ENOENT)
		return berth_throw_errno(error, errno, "remove %s", dir);
	return TRUE;
}
