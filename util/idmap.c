/* Idmapped mounts: see idmap.h. */
#include "util/idmap.h"
#include "util/error.h"
#include "util/fs.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mount.h>

gboolean idmap_mount(const char *src, const char *dst, int userns_fd,
		     gboolean recursive, gboolean rdonly, GError **error)
{
	unsigned int rec = recursive ? AT_RECURSIVE : 0;
	autofd tree = open_tree(AT_FDCWD, src,
				OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | rec);
	if (tree < 0)
		return berth_throw_errno(error, errno, "clone the mount at %s",
					 src);
	struct mount_attr attr = {
		.attr_set = MOUNT_ATTR_IDMAP | (rdonly ? MOUNT_ATTR_RDONLY : 0),
		.userns_fd = (guint64)userns_fd,
	};
	if (mount_setattr(tree, "", AT_EMPTY_PATH | rec, &attr, sizeof attr) <
	    0) {
		int errsv = errno;
		if (errsv == EINVAL || errsv == ENOSYS || errsv == EPERM)
			return berth_throw(
				error, FAILED_PRECONDITION,
				"%s cannot be shown to a pod with its own user "
				"namespace: the kernel refused an idmapped "
				"mount of it (%s); its filesystem%s must "
				"support idmapped mounts",
				src, g_strerror(errsv),
				recursive ? " and those mounted below it" : "");
		return berth_throw_errno(error, errsv, "idmap the mount at %s",
					 src);
	}
	if (move_mount(tree, "", AT_FDCWD, dst, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return berth_throw_errno(error, errno, "attach %s at %s", src,
					 dst);
	return TRUE;
}
