/* Image volumes (CRI Mount.image): an image's root filesystem, or a sub
 * path of it, bind mounted read-only from the image's shared checkout at
 * <container_dir>/image-volumes/<index>-<hex>. Each such mount holds one
 * checkout reference; after a restart they are counted again from
 * mountinfo (rootfs.c), as overlays are. */
#include "image/ref.h"
#include "image/store-private.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

static char *image_volume_path(const char *container_dir, guint index,
			       const char *image_id)
{
	g_autofree char *full = image_ref_parse_id(image_id);
	g_autofree char *name = g_strdup_printf(
		"%u-%s", index,
		image_store_hex(full != NULL ? full : image_id));
	return g_build_filename(container_dir, IMAGE_VOLUMES_DIR, name, NULL);
}

/* Relative, and no ".." component: what stays inside the image by its
 * text alone (symlinks are the resolver's job). */
static gboolean volume_check_sub_path(const char *sub_path, GError **error)
{
	if (g_path_is_absolute(sub_path))
		return berth_throw(error, INVALID_ARGUMENT,
				   "image sub path \"%s\" must be relative",
				   sub_path);
	g_auto(GStrv) parts = g_strsplit(sub_path, "/", -1);
	for (char **p = parts; *p != NULL; p++)
		if (strcmp(*p, "..") == 0)
			return berth_throw(error, INVALID_ARGUMENT,
					   "image sub path \"%s\" must not "
					   "contain \"..\"",
					   sub_path);
	return TRUE;
}

/* An O_PATH fd on sub_path inside root, symlinks resolved as if root
 * were "/" (so none can lead out of it); -1 with error set. */
static int volume_open_sub_path(const char *root, const char *sub_path,
				const char *image_id, GError **error)
{
	autofd rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		berth_throw_errno(error, errno, "open checkout %s", root);
		return -1;
	}
	struct open_how how = {
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS |
			   RESOLVE_NO_XDEV,
	};
	const char *rel = sub_path[0] != '\0' ? sub_path : ".";
	int fd = (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof how);
	if (fd < 0) {
		int errsv = errno;
		if (errsv == ENOENT || errsv == ENOTDIR)
			berth_throw(error, NOT_FOUND,
				    "image sub path \"%s\" does not exist in "
				    "image %s",
				    sub_path, image_id);
		else
			berth_throw_errno(error, errsv,
					  "image sub path \"%s\" of image %s",
					  sub_path, image_id);
		return -1;
	}
	return fd;
}

/* A mount point of the same kind as the source: a directory or a file. */
static gboolean volume_make_target(const char *path, gboolean dir,
				   GError **error)
{
	g_autofree char *parent = g_path_get_dirname(path);
	if (!berth_mkdir_p(parent, 0700, error))
		return FALSE;
	if (dir ? mkdir(path, 0755) < 0 && errno != EEXIST
		: mknod(path, S_IFREG | 0644, 0) < 0 && errno != EEXIST)
		return berth_throw_errno(error, errno, "create %s", path);
	return TRUE;
}

static gboolean volume_bind(int srcfd, const char *path, GError **error)
{
	g_autofree char *src = g_strdup_printf("/proc/self/fd/%d", srcfd);
	if (mount(src, path, NULL, MS_BIND, NULL) < 0)
		return berth_throw_errno(error, errno, "bind mount at %s",
					 path);
	/* Read-only even when the checkout's own protection failed. */
	unsigned long ro =
		MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV;
	if (mount(NULL, path, NULL, ro, NULL) < 0) {
		int errsv = errno;
		umount2(path, MNT_DETACH);
		return berth_throw_errno(error, errsv, "make %s read-only",
					 path);
	}
	return TRUE;
}

static gboolean volume_is_mounted(const char *path)
{
	struct statx st;
	return statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS,
		     &st) == 0 &&
	       (st.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT) &&
	       (st.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

static gboolean volume_mount_from(const char *root, const char *image_id,
				  const char *sub_path, const char *path,
				  GError **error)
{
	autofd fd = volume_open_sub_path(root, sub_path, image_id, error);
	if (fd < 0)
		return FALSE;
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berth_throw_errno(error, errno, "stat \"%s\" of %s",
					 sub_path, image_id);
	if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
		return berth_throw(error, INVALID_ARGUMENT,
				   "image sub path \"%s\" of image %s is "
				   "neither a directory nor a regular file",
				   sub_path, image_id);
	return volume_make_target(path, S_ISDIR(st.st_mode), error) &&
	       volume_bind(fd, path, error);
}

gboolean image_volume_mount(ImageStore *store, const char *image_id,
			    const char *sub_path, const char *container_dir,
			    guint index, char **path_out, GError **error)
{
	if (!volume_check_sub_path(sub_path, error))
		return FALSE;
	g_autofree char *path =
		image_volume_path(container_dir, index, image_id);
	if (volume_is_mounted(path)) {
		*path_out = g_steal_pointer(&path);
		return TRUE;
	}
	g_autofree char *root = image_store_checkout(store, image_id, error);
	if (root == NULL)
		return FALSE;
	if (!volume_mount_from(root, image_id, sub_path, path, error)) {
		image_store_checkout_release(store, image_id);
		return FALSE;
	}
	*path_out = g_steal_pointer(&path);
	return TRUE;
}

gboolean image_volume_unmount(ImageStore *store, const char *image_id,
			      const char *container_dir, guint index,
			      GError **error)
{
	g_autofree char *path =
		image_volume_path(container_dir, index, image_id);
	if (umount2(path, 0) < 0) {
		if (errno == EINVAL || errno == ENOENT)
			return TRUE; /* not mounted: no reference held */
		if (errno != EBUSY || umount2(path, MNT_DETACH) < 0)
			return berth_throw_errno(error, errno, "unmount %s",
						 path);
		log_warn("image volume %s: busy, detached", path);
	}
	image_store_checkout_release(store, image_id);
	if (remove(path) < 0 && errno != ENOENT)
		log_warn("image volume %s: remove: %s", path, strerror(errno));
	return TRUE;
}

/* The checkout (hex) a mountinfo mount point names, when it is an image
 * volume's: ".../image-volumes/<index>-<hex>". */
const char *image_volume_hex_of(const char *mount_point)
{
	const char *name = strrchr(mount_point, '/');
	if (name == NULL ||
	    name - mount_point < (long)strlen(IMAGE_VOLUMES_DIR))
		return NULL;
	if (strncmp(name - strlen(IMAGE_VOLUMES_DIR), IMAGE_VOLUMES_DIR,
		    strlen(IMAGE_VOLUMES_DIR)) != 0)
		return NULL;
	name++;
	gsize digits = strspn(name, "0123456789");
	if (digits == 0 || name[digits] != '-')
		return NULL;
	const char *hex = name + digits + 1;
	if (strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64)
		return NULL;
	return hex;
}
