/* Helpers for the image store's unit tests: layer tars built in memory
 * with libarchive, fed to the store through a pipe as a pull would, a
 * scratch store dir per test, and small tree checks. Header-only: each
 * test_*.c is its own program. */
#pragma once

#include "image/digest.h"
#include "image/store-private.h"
#include "util/fs.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

typedef enum {
	TAR_PLAIN,
	TAR_GZIP,
	TAR_ZSTD,
} TarCompression;

/* One tar member. type: 'd' dir, 'f' file, 'l' symlink, 'h' hardlink,
 * 'c' char device, 'p' FIFO. */
typedef struct {
	char type;
	const char *path;
	unsigned mode;
	const char *data; /* file contents, or link target */
	unsigned uid, gid;
	const char *xattr; /* "name=value" */
} TarEntry;

typedef struct {
	GBytes *blob;  /* what a registry would serve */
	char *diff_id; /* of the uncompressed tar */
} TestLayer;

static inline void test_layer_clear(TestLayer *l)
{
	g_clear_pointer(&l->blob, g_bytes_unref);
	g_clear_pointer(&l->diff_id, g_free);
}

static inline la_ssize_t tar_write_cb(struct archive *a, void *data,
				      const void *buf, size_t len)
{
	(void)a;
	g_byte_array_append(data, buf, (guint)len);
	return (la_ssize_t)len;
}

static inline void tar_add(struct archive *a, const TarEntry *t)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, t->path);
	archive_entry_set_uid(e, t->uid);
	archive_entry_set_gid(e, t->gid);
	archive_entry_set_mtime(e, 1700000000, 0);
	unsigned mode = t->mode;
	size_t size = 0;
	switch (t->type) {
	case 'd':
		archive_entry_set_filetype(e, AE_IFDIR);
		mode = mode ? mode : 0755;
		break;
	case 'f':
		archive_entry_set_filetype(e, AE_IFREG);
		size = t->data ? strlen(t->data) : 0;
		mode = mode ? mode : 0644;
		break;
	case 'l':
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_symlink(e, t->data);
		mode = 0777;
		break;
	case 'h':
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_hardlink(e, t->data);
		mode = mode ? mode : 0644;
		break;
	case 'c':
		archive_entry_set_filetype(e, AE_IFCHR);
		archive_entry_set_rdev(e, makedev(1, 3));
		mode = mode ? mode : 0666;
		break;
	case 'p':
		archive_entry_set_filetype(e, AE_IFIFO);
		mode = mode ? mode : 0644;
		break;
	}
	archive_entry_set_perm(e, mode);
	archive_entry_set_size(e, (la_int64_t)size);
	if (t->xattr != NULL) {
		const char *eq = strchr(t->xattr, '=');
		g_autofree char *name = g_strndup(t->xattr, eq - t->xattr);
		archive_entry_xattr_add_entry(e, name, eq + 1, strlen(eq + 1));
	}
	g_assert(archive_write_header(a, e) == ARCHIVE_OK);
	if (size > 0)
		g_assert(archive_write_data(a, t->data, size) ==
			 (la_ssize_t)size);
	archive_entry_free(e);
}

static inline GByteArray *tar_build(const TarEntry *entries, gsize n)
{
	GByteArray *out = g_byte_array_new();
	struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	archive_write_open(a, out, NULL, tar_write_cb, NULL);
	for (gsize i = 0; i < n; i++)
		tar_add(a, &entries[i]);
	archive_write_close(a);
	archive_write_free(a);
	return out;
}

/* Compress a whole stream with libarchive's raw format. */
static inline GByteArray *tar_compress(GByteArray *tar, TarCompression c)
{
	GByteArray *out = g_byte_array_new();
	struct archive *a = archive_write_new();
	archive_write_set_format_raw(a);
	if (c == TAR_GZIP)
		archive_write_add_filter_gzip(a);
	else
		archive_write_add_filter_zstd(a);
	archive_write_set_bytes_in_last_block(a, 1); /* no zero padding */
	archive_write_open(a, out, NULL, tar_write_cb, NULL);
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, "data");
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_size(e, tar->len);
	archive_write_header(a, e);
	archive_write_data(a, tar->data, tar->len);
	archive_entry_free(e);
	archive_write_close(a);
	archive_write_free(a);
	return out;
}

static inline TestLayer test_layer(const TarEntry *entries, gsize n,
				   TarCompression c)
{
	TestLayer l = {0};
	GByteArray *tar = tar_build(entries, n);
	l.diff_id = digest_compute(DIGEST_SHA256, tar->data, tar->len);
	if (c == TAR_PLAIN) {
		l.blob = g_byte_array_free_to_bytes(tar);
	} else {
		l.blob = g_byte_array_free_to_bytes(tar_compress(tar, c));
		g_byte_array_unref(tar);
	}
	return l;
}

typedef struct {
	int fd;
	GBytes *data;
	guint delay_ms; /* before the second half */
} PipeFeed;

static inline gboolean write_all_fd(int fd, const guint8 *d, gsize len)
{
	while (len > 0) {
		ssize_t w = write(fd, d, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return FALSE; /* EPIPE: the reader stopped early */
		d += w;
		len -= (gsize)w;
	}
	return TRUE;
}

static inline gpointer pipe_feed_thread(gpointer p)
{
	PipeFeed *f = p;
	gsize len;
	const guint8 *d = g_bytes_get_data(f->data, &len);
	if (write_all_fd(f->fd, d, len / 2)) {
		g_usleep(f->delay_ms * 1000);
		write_all_fd(f->fd, d + len / 2, len - len / 2);
	}
	close(f->fd);
	g_bytes_unref(f->data);
	g_free(f);
	return NULL;
}

/* The read end of a pipe a thread fills with data (and then closes). */
static inline int pipe_feed(GBytes *data, guint delay_ms, GThread **thread)
{
	int p[2];
	g_assert(pipe2(p, O_CLOEXEC) == 0);
	PipeFeed *f = g_new0(PipeFeed, 1);
	f->fd = p[1];
	f->data = g_bytes_ref(data);
	f->delay_ms = delay_ms;
	*thread = g_thread_new("feed", pipe_feed_thread, f);
	return p[0];
}

static inline gboolean import_blob(ImageStore *s, const char *diff_id,
				   GBytes *blob, GError **error)
{
	GThread *t;
	int fd = pipe_feed(blob, 0, &t);
	gboolean ok = image_store_import_layer_fd(s, diff_id, fd, error);
	close(fd);
	g_thread_join(t);
	return ok;
}

static inline void import_ok(ImageStore *s, const TestLayer *l)
{
	g_autoptr(GError) err = NULL;
	if (!import_blob(s, l->diff_id, l->blob, &err))
		g_error("import %s: %s", l->diff_id, err->message);
}

/* A config blob whose digest is the image id. */
static inline char *test_config(const char *tag, char *const *diff_ids)
{
	GString *s =
		g_string_new("{\"architecture\":\"amd64\",\"os\":\"linux\","
			     "\"config\":{\"User\":\"");
	g_string_append_printf(s,
			       "%s\"},\"rootfs\":{\"type\":\"layers\","
			       "\"diff_ids\":[",
			       tag);
	for (char *const *p = diff_ids; p && *p; p++)
		g_string_append_printf(s, "%s\"%s\"", p == diff_ids ? "" : ",",
				       *p);
	g_string_append(s, "]}}");
	return g_string_free(s, FALSE);
}

/* Commit an image named by tag (may be NULL) over the given layers; its
 * id in *id_out (caller frees). */
static inline void commit_ok(ImageStore *s, const char *salt, const char *tag,
			     char *const *diff_ids, char **id_out)
{
	g_autofree char *config = test_config(salt, diff_ids);
	g_autofree char *id =
		digest_compute(DIGEST_SHA256, config, strlen(config));
	char *tags[] = {(char *)tag, NULL};
	ImageRecord rec = {
		.id = id,
		.repo_tags = tag ? tags : NULL,
		.diff_ids = (char **)diff_ids,
		.config_json = config,
		.user = (char *)salt,
	};
	g_autoptr(GError) err = NULL;
	if (!image_store_commit_image(s, &rec, &err))
		g_error("commit %s: %s", id, err->message);
	if (id_out != NULL)
		*id_out = g_steal_pointer(&id);
}

/* --- scratch dirs -------------------------------------------------------- */

/* Detach every mount under dir, deepest first. */
static inline void unmount_under(const char *dir)
{
	for (int round = 0; round < 16; round++) {
		g_autofree char *info = NULL;
		g_assert(g_file_get_contents("/proc/self/mountinfo", &info,
					     NULL, NULL));
		g_auto(GStrv) lines = g_strsplit(info, "\n", -1);
		gboolean any = FALSE;
		for (char **l = lines; *l != NULL; l++) {
			g_auto(GStrv) f = g_strsplit(*l, " ", 6);
			if (g_strv_length(f) < 5 ||
			    !g_str_has_prefix(f[4], dir))
				continue;
			umount2(f[4], MNT_DETACH);
			any = TRUE;
		}
		if (!any)
			return;
	}
}

static inline void scratch_remove(char *dir)
{
	if (dir == NULL)
		return;
	unmount_under(dir);
	g_assert(berth_rm_rf(dir, NULL));
	g_free(dir);
}

static inline char *scratch_dir(void)
{
	g_autoptr(GError) err = NULL;
	char *dir = g_dir_make_tmp("berth-store-XXXXXX", &err);
	g_assert_no_error(err);
	return dir;
}

/* --- tree checks --------------------------------------------------------- */

static inline char *read_text(const char *root, const char *rel)
{
	g_autofree char *p = g_build_filename(root, rel, NULL);
	char *out = NULL;
	if (!g_file_get_contents(p, &out, NULL, NULL))
		return NULL;
	return out;
}

static inline gboolean lstat_at(const char *root, const char *rel,
				struct stat *st)
{
	g_autofree char *p = g_build_filename(root, rel, NULL);
	return lstat(p, st) == 0;
}

static inline gboolean exists_at(const char *root, const char *rel)
{
	struct stat st;
	return lstat_at(root, rel, &st);
}
