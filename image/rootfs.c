/* Container root filesystems: one shared hardlink checkout per image
 * (checkouts/<hex>, made in a tmp dir and renamed into place, then bind
 * mounted read-only onto itself so nothing can write through the links
 * into the repo's objects), and per container an overlay with that
 * checkout as its only lowerdir. A checkout is counted by the overlays
 * and image volumes (volume.c) using it; after a restart those still
 * mounted (in /proc/self/mountinfo) are counted again. It lives until
 * its image is removed and nobody uses it. */
#include "image/ref.h"
#include "image/store-private.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/idmap.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define CHECKOUT_TMP_PREFIX ".tmp-"
/* A container's idmapped copy of its checkout (user namespaces). */
#define ROOTFS_LOWER "lower"

static char *checkout_path(ImageStore *store, const char *hex)
{
	return g_build_filename(store->checkouts_dir, hex, NULL);
}

/* Bind the checkout read-only onto itself, keeping the fs's nosuid,
 * nodev and noexec. Best effort: a store on a host that forbids it
 * still works, unprotected. */
static void checkout_protect(const char *path)
{
	struct statvfs sv;
	if (statvfs(path, &sv) < 0 || (sv.f_flag & ST_RDONLY))
		return;
	unsigned long flags = MS_BIND | MS_REMOUNT | MS_RDONLY;
	flags |= (sv.f_flag & ST_NOSUID) ? MS_NOSUID : 0;
	flags |= (sv.f_flag & ST_NODEV) ? MS_NODEV : 0;
	flags |= (sv.f_flag & ST_NOEXEC) ? MS_NOEXEC : 0;
	if (mount(path, path, NULL, MS_BIND, NULL) < 0 ||
	    mount(NULL, path, NULL, flags, NULL) < 0)
		log_warn("checkout %s: cannot mount it read-only: %s", path,
			 strerror(errno));
}

/* Unmount, rename to a tmp name (so a crash mid-way leaves nothing that
 * looks complete), remove. */
static void checkout_delete(ImageStore *store, const char *hex)
{
	g_autofree char *path = checkout_path(store, hex);
	berth_unmount_all(path, NULL);
	g_autofree char *name = g_strdup_printf(
		CHECKOUT_TMP_PREFIX "del-%s-%08x", hex, g_random_int());
	g_autofree char *tmp =
		g_build_filename(store->checkouts_dir, name, NULL);
	g_autoptr(GError) err = NULL;
	if (rename(path, tmp) < 0) {
		if (errno != ENOENT)
			log_warn("checkout %s: rename: %s", path,
				 strerror(errno));
		return;
	}
	if (!berth_rm_rf(tmp, &err))
		log_warn("checkout %s: %s", path, err->message);
	else
		log_info("checkout %s: removed", path);
}

static gboolean checkout_image_exists(ImageStore *store, const char *id)
{
	g_rw_lock_reader_lock(&store->index_lock);
	gboolean found = g_hash_table_contains(store->images, id);
	g_rw_lock_reader_unlock(&store->index_lock);
	return found;
}

/* The links and directories of a checkout must be on disk before its
 * name says it is complete; ostree's checkout does not sync them. */
static gboolean checkout_sync(const char *dir, GError **error)
{
	autofd fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || syncfs(fd) < 0)
		return berth_throw_errno(error, errno, "sync %s", dir);
	return TRUE;
}

static gboolean checkout_write(ImageStore *store, const char *id,
			       const char *path, GError **error)
{
	g_autoptr(OstreeRepo) repo = image_store_repo_open(store, error);
	if (repo == NULL)
		return FALSE;
	g_autofree char *ref = image_flatten_ref(id);
	g_autofree char *commit = NULL;
	if (!ostree_repo_resolve_rev(repo, ref, FALSE, &commit, error))
		return FALSE;
	g_autofree char *name =
		g_strdup_printf(CHECKOUT_TMP_PREFIX "%s-%08x",
				image_store_hex(id), g_random_int());
	g_autofree char *tmp =
		g_build_filename(store->checkouts_dir, name, NULL);
	/* Hardlinks from the repo's objects; ostree copies zero-size files
	 * (and falls back to a copy at the link count limit). */
	OstreeRepoCheckoutAtOptions opts = {0};
	opts.mode = OSTREE_REPO_CHECKOUT_MODE_NONE;
	opts.overwrite_mode = OSTREE_REPO_CHECKOUT_OVERWRITE_NONE;
	if (!ostree_repo_checkout_at(repo, &opts, AT_FDCWD, tmp, commit, NULL,
				     error) ||
	    !checkout_sync(tmp, error) || rename(tmp, path) < 0) {
		int errsv = errno;
		berth_rm_rf(tmp, NULL);
		if (error != NULL && *error != NULL)
			return FALSE;
		return berth_throw_errno(error, errsv, "rename to %s", path);
	}
	if (!berth_fsync_dir(store->checkouts_dir, error))
		return FALSE;
	checkout_protect(path);
	log_info("checkout %s: created", path);
	return TRUE;
}

static gboolean checkout_create(ImageStore *store, const char *id,
				const char *path, GError **error)
{
	image_store_repo_enter(store);
	gboolean ok = TRUE;
	if (!checkout_image_exists(store, id))
		ok = berth_throw(error, NOT_FOUND, "image %s not found", id);
	else if (!g_file_test(path, G_FILE_TEST_IS_DIR))
		ok = checkout_write(store, id, path, error);
	image_store_repo_leave(store);
	return ok;
}

char *image_store_checkout(ImageStore *store, const char *id, GError **error)
{
	g_autofree char *full = image_ref_parse_id(id);
	if (full == NULL) {
		return berth_throw_null(error, INVALID_ARGUMENT,
					"%s is not an image id", id);
	}
	const char *hex = image_store_hex(full);
	g_autofree char *path = checkout_path(store, hex);
	g_mutex_lock(&store->checkouts_mu);
	StoreCheckout *c;
	while ((c = g_hash_table_lookup(store->checkouts, hex)) != NULL &&
	       !c->ready)
		g_cond_wait(&store->checkouts_cond, &store->checkouts_mu);
	if (c != NULL) {
		c->users++;
		g_mutex_unlock(&store->checkouts_mu);
		return g_steal_pointer(&path);
	}
	c = g_new0(StoreCheckout, 1);
	g_hash_table_insert(store->checkouts, g_strdup(hex), c);
	g_mutex_unlock(&store->checkouts_mu);

	gboolean ok = checkout_create(store, full, path, error);

	g_mutex_lock(&store->checkouts_mu);
	if (ok) {
		c->ready = TRUE;
		c->users = 1;
	} else {
		g_hash_table_remove(store->checkouts, hex);
	}
	g_cond_broadcast(&store->checkouts_cond);
	g_mutex_unlock(&store->checkouts_mu);
	return ok ? g_steal_pointer(&path) : NULL;
}

void image_store_checkout_release(ImageStore *store, const char *id)
{
	g_autofree char *full = image_ref_parse_id(id);
	const char *hex = full != NULL ? image_store_hex(full) : "";
	g_mutex_lock(&store->checkouts_mu);
	StoreCheckout *c = g_hash_table_lookup(store->checkouts, hex);
	if (c == NULL || !c->ready || c->users == 0) {
		g_mutex_unlock(&store->checkouts_mu);
		log_warn("checkout of %s: released more often than taken", id);
		return;
	}
	if (--c->users == 0 && c->orphan) {
		g_hash_table_remove(store->checkouts, hex);
		checkout_delete(store, hex);
	}
	g_mutex_unlock(&store->checkouts_mu);
}

void image_checkout_forget(ImageStore *store, const char *id)
{
	const char *hex = image_store_hex(id);
	g_mutex_lock(&store->checkouts_mu);
	StoreCheckout *c = g_hash_table_lookup(store->checkouts, hex);
	if (c != NULL && (c->users > 0 || !c->ready)) {
		c->orphan = TRUE;
		log_info("checkout of %s: in use, removed at last unmount", id);
	} else {
		g_hash_table_remove(store->checkouts, hex);
		checkout_delete(store, hex);
	}
	g_mutex_unlock(&store->checkouts_mu);
}

/* --- recovery ------------------------------------------------------------ */

static gboolean is_octal(char c)
{
	return c >= '0' && c <= '7';
}

/* mountinfo escapes space, tab, newline, backslash (and, in overlay
 * options, ',' and '=') as \ooo. */
static char *mountinfo_unescape(const char *s, gsize len)
{
	GString *out = g_string_sized_new(len);
	for (gsize i = 0; i < len; i++) {
		if (s[i] == '\\' && i + 3 < len && is_octal(s[i + 1]) &&
		    is_octal(s[i + 2]) && is_octal(s[i + 3])) {
			g_string_append_c(out, (char)(((s[i + 1] - '0') << 6) |
						      ((s[i + 2] - '0') << 3) |
						      (s[i + 3] - '0')));
			i += 3;
			continue;
		}
		g_string_append_c(out, s[i]);
	}
	return g_string_free(out, FALSE);
}

static void count_user(GHashTable *users, const char *hex)
{
	guint n = GPOINTER_TO_UINT(g_hash_table_lookup(users, hex));
	g_hash_table_replace(users, g_strdup(hex), GUINT_TO_POINTER(n + 1));
}

/* An image volume's bind mount of one of this store's checkouts: its
 * mount point (field 5) names the checkout, its root (field 4) is inside
 * checkouts/<hex> of the store's filesystem (field 3), so another root's
 * volumes in the same namespace are not counted. Or a container's
 * idmapped lower (<dir>/lower), whose root is the checkout itself. */
static void mountinfo_count_volume(const char *line, const char *store_dev,
				   GHashTable *users)
{
	g_auto(GStrv) f = g_strsplit(line, " ", 6);
	if (g_strv_length(f) < 6 || strcmp(f[2], store_dev) != 0)
		return;
	g_autofree char *point = mountinfo_unescape(f[4], strlen(f[4]));
	g_autofree char *root = mountinfo_unescape(f[3], strlen(f[3]));
	const char *hex = image_volume_hex_of(point);
	g_autofree char *lower_hex = NULL;
	if (hex == NULL && g_str_has_suffix(point, "/" ROOTFS_LOWER)) {
		/* A container's idmapped lower: its root is the checkout. */
		const char *at = strstr(root, "/checkouts/");
		if (at != NULL)
			hex = lower_hex = g_strdup(at + strlen("/checkouts/"));
	}
	if (hex == NULL)
		return;
	g_autofree char *dir = g_strconcat("/checkouts/", hex, NULL);
	const char *at = strstr(root, dir);
	if (at != NULL && (at[strlen(dir)] == '\0' || at[strlen(dir)] == '/'))
		count_user(users, hex);
}

/* Count, per checkout, the overlays and image volumes in one mountinfo
 * line using it. */
static void mountinfo_count_line(ImageStore *store, const char *line,
				 const char *store_dev, GHashTable *users)
{
	if (strstr(line, "/" IMAGE_VOLUMES_DIR "/") != NULL ||
	    strstr(line, "/" ROOTFS_LOWER " ") != NULL)
		mountinfo_count_volume(line, store_dev, users);
	const char *sep = strstr(line, " - overlay ");
	const char *opts = sep != NULL ? strstr(sep, "lowerdir=") : NULL;
	if (opts == NULL)
		return;
	opts += strlen("lowerdir=");
	gsize len = strcspn(opts, ", \n");
	g_autofree char *lower = mountinfo_unescape(opts, len);
	g_auto(GStrv) dirs = g_strsplit(lower, ":", -1);
	g_autofree char *prefix = g_strconcat(store->checkouts_dir, "/", NULL);
	for (char **d = dirs; *d != NULL; d++) {
		if (!g_str_has_prefix(*d, prefix))
			continue;
		count_user(users, *d + strlen(prefix));
	}
}

static GHashTable *checkout_overlay_users(ImageStore *store)
{
	GHashTable *users =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_autofree char *info = NULL;
	if (!g_file_get_contents("/proc/self/mountinfo", &info, NULL, NULL))
		return users;
	struct stat st;
	g_autofree char *dev =
		stat(store->checkouts_dir, &st) == 0
			? g_strdup_printf("%u:%u", major(st.st_dev),
					  minor(st.st_dev))
			: g_strdup("");
	g_auto(GStrv) lines = g_strsplit(info, "\n", -1);
	for (char **l = lines; *l != NULL; l++)
		mountinfo_count_line(store, *l, dev, users);
	return users;
}

static void checkout_recover_one(ImageStore *store, const char *hex,
				 GHashTable *users)
{
	g_autofree char *id = g_strconcat("sha256:", hex, NULL);
	guint n = GPOINTER_TO_UINT(g_hash_table_lookup(users, hex));
	gboolean exists = checkout_image_exists(store, id);
	if (!exists && n == 0) {
		checkout_delete(store, hex);
		return;
	}
	StoreCheckout *c = g_new0(StoreCheckout, 1);
	c->users = n;
	c->ready = TRUE;
	c->orphan = !exists;
	g_hash_table_replace(store->checkouts, g_strdup(hex), c);
	g_autofree char *path = checkout_path(store, hex);
	checkout_protect(path);
}

gboolean image_checkout_recover(ImageStore *store, GError **error)
{
	g_autoptr(GHashTable) users = checkout_overlay_users(store);
	g_autoptr(GDir) d = g_dir_open(store->checkouts_dir, 0, NULL);
	if (d == NULL)
		return berth_throw_errno(error, errno, "open %s",
					 store->checkouts_dir);
	const char *name;
	while ((name = g_dir_read_name(d)) != NULL) {
		if (g_str_has_prefix(name, CHECKOUT_TMP_PREFIX)) {
			g_autofree char *p = g_build_filename(
				store->checkouts_dir, name, NULL);
			log_info("checkout %s: leftover, removing", p);
			if (!berth_rm_rf(p, error))
				return FALSE;
			continue;
		}
		checkout_recover_one(store, name, users);
	}
	return TRUE;
}

/* --- overlay mounts ------------------------------------------------------ */

static gboolean rootfs_check_dir(const char *dir, GError **error)
{
	if (dir == NULL || !g_path_is_absolute(dir) ||
	    strpbrk(dir, ",:\\") != NULL)
		return berth_throw(
			error, INVALID_ARGUMENT,
			"container dir %s: must be absolute, without "
			"',' ':' or '\\'",
			dir ? dir : "(null)");
	return TRUE;
}

static gboolean rootfs_is_mounted(const char *rootfs, const char *parent)
{
	struct stat a, b;
	return stat(rootfs, &a) == 0 && stat(parent, &b) == 0 &&
	       a.st_dev != b.st_dev;
}

/* upper/ is the overlay root's own directory: give it the image root's
 * owner and mode, or every container would see its / as root-only. */
static gboolean rootfs_make_dirs(const char *lower, const char *dir,
				 GError **error)
{
	g_autofree char *upper = g_build_filename(dir, "upper", NULL);
	g_autofree char *work = g_build_filename(dir, "work", NULL);
	g_autofree char *rootfs = g_build_filename(dir, "rootfs", NULL);
	struct stat st;
	if (stat(lower, &st) < 0)
		return berth_throw_errno(error, errno, "stat %s", lower);
	if (!berth_mkdir_p(dir, 0700, error) ||
	    !berth_mkdir_p(work, 0700, error) ||
	    !berth_mkdir_p(rootfs, 0755, error))
		return FALSE;
	if (mkdir(upper, 0700) < 0) {
		if (errno == EEXIST)
			return TRUE;
		return berth_throw_errno(error, errno, "mkdir %s", upper);
	}
	if (chown(upper, st.st_uid, st.st_gid) < 0 ||
	    chmod(upper, st.st_mode & 07777) < 0)
		return berth_throw_errno(error, errno, "set owner of %s",
					 upper);
	return TRUE;
}

static gboolean rootfs_mount_overlay(const char *lower, const char *dir,
				     const char *rootfs, GError **error)
{
	g_autofree char *opts =
		g_strdup_printf("lowerdir=%s,upperdir=%s/upper,workdir=%s/work",
				lower, dir, dir);
	if (mount("overlay", rootfs, "overlay", 0, opts) < 0)
		return berth_throw_errno(error, errno, "mount overlay at %s",
					 rootfs);
	return TRUE;
}

/* <dir>/lower: the checkout's mount, idmapped for a user namespace. */
static gboolean rootfs_idmap_lower(const char *checkout, const char *dir,
				   int userns_fd, char **lower, GError **error)
{
	g_autofree char *path = g_build_filename(dir, ROOTFS_LOWER, NULL);
	if (!berth_mkdir_p(path, 0755, error))
		return FALSE;
	/* A copy left by an interrupted create. */
	if (!berth_unmount_all(path, error) ||
	    !idmap_mount(checkout, path, userns_fd, FALSE, TRUE, error))
		return FALSE;
	*lower = g_steal_pointer(&path);
	return TRUE;
}

static void rootfs_unmount_lower(const char *dir)
{
	g_autofree char *path = g_build_filename(dir, ROOTFS_LOWER, NULL);
	g_autoptr(GError) error = NULL;
	if (!berth_unmount_all(path, &error))
		log_warn("rootfs: %s", error->message);
}

gboolean image_rootfs_mount(ImageStore *store, const char *image_id,
			    const char *container_dir, int userns_fd,
			    char **rootfs_out, GError **error)
{
	if (!rootfs_check_dir(container_dir, error))
		return FALSE;
	g_autofree char *rootfs =
		g_build_filename(container_dir, "rootfs", NULL);
	if (rootfs_is_mounted(rootfs, container_dir)) {
		*rootfs_out = g_steal_pointer(&rootfs);
		return TRUE;
	}
	g_autofree char *checkout =
		image_store_checkout(store, image_id, error);
	if (checkout == NULL)
		return FALSE;
	g_autofree char *lower = NULL;
	if (userns_fd < 0)
		lower = g_strdup(checkout);
	if ((lower == NULL && !rootfs_idmap_lower(checkout, container_dir,
						  userns_fd, &lower, error)) ||
	    !rootfs_make_dirs(lower, container_dir, error) ||
	    !rootfs_mount_overlay(lower, container_dir, rootfs, error)) {
		rootfs_unmount_lower(container_dir);
		image_store_checkout_release(store, image_id);
		return FALSE;
	}
	*rootfs_out = g_steal_pointer(&rootfs);
	return TRUE;
}

gboolean image_rootfs_unmount(ImageStore *store, const char *image_id,
			      const char *container_dir, GError **error)
{
	if (!rootfs_check_dir(container_dir, error))
		return FALSE;
	g_autofree char *rootfs =
		g_build_filename(container_dir, "rootfs", NULL);
	if (umount2(rootfs, 0) < 0) {
		if (errno == EINVAL || errno == ENOENT) {
			rootfs_unmount_lower(container_dir);
			return TRUE; /* not mounted */
		}
		if (errno != EBUSY || umount2(rootfs, MNT_DETACH) < 0)
			return berth_throw_errno(error, errno, "unmount %s",
						 rootfs);
		log_warn("rootfs %s: busy, detached", rootfs);
	}
	rootfs_unmount_lower(container_dir);
	image_store_checkout_release(store, image_id);
	return TRUE;
}
