/* Layer import: one OCI layer tar stream becomes one ostree commit under
 * berth/layer/<hex>, its bytes checked against the diff_id on the way.
 *
 * The stream is read by two libarchive readers in a chain. The first
 * reads the fd with the gzip and zstd filters and the "raw" format, so
 * its data is the uncompressed tar; our read callback hands those blocks
 * to the second reader (tar format only) and feeds each one to a digest
 * verifier first. After the tar's end-of-archive, whatever padding is
 * left in the stream is drained into the verifier too, so the digest
 * covers exactly the bytes the diff_id names. All writes happen in one
 * ostree transaction that sets the ref last: a failure, a mismatch or a
 * crash leaves no ref (and prune later drops the loose objects).
 *
 * The layer's tree is stored as the tar says, whiteout markers included
 * (as empty files, uid 0, mode 0644); flatten.c applies them. Two facts a
 * tree cannot hold travel in the commit metadata: the directories the tar
 * never named (created here with 0755 root:root so the tree is valid;
 * flatten keeps a lower layer's metadata for them) and hardlinks whose
 * target is not in this layer (resolved against the lower layers).
 *
 * What ostree cannot hold (docs/images.md, "Limits"): mtimes (objects are
 * shared, so every file reads mtime 0); device nodes, FIFOs and sockets
 * (skipped with a log line, yet they hide the lower entry at their path,
 * as the entry they stand for would); names that are not UTF-8 (the
 * import fails). Zero-size files are copied, not linked, at checkout.
 *
 * Limits against hostile layers (docs/testing.md, "Hostile images"):
 * names and link targets longer than PATH_MAX are refused (no kernel
 * could make them, and the trees are walked recursively), and so are
 * sparse files whose holes, which ostree would write out as zeros, add
 * up to more than LAYER_MAX_HOLE_BYTES in one layer; zstd frames
 * that ask for a window over ZSTD_FRAMES_MAX_WINDOW are refused before
 * the decoder allocates it (zstd-frames.c). The layer's tree is
 * held in memory (a few hundred bytes an entry, here and in flatten.c),
 * so a layer of more than LAYER_MAX_ENTRIES members is refused too. */
#include "image/digest.h"
#include "image/store-private.h"
#include "image/zstd-frames.h"
#include "util/error.h"
#include "util/log.h"

#include <archive.h>
#include <errno.h>
#include <archive_entry.h>
#include <limits.h>
#include <malloc.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LAYER_BUF_SIZE (128 * 1024)
#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"
#define WHITEOUT_META_PREFIX ".wh..wh."
#define LAYER_MAX_NAME PATH_MAX
#define LAYER_MAX_HOLE_BYTES ((guint64)1 << 30)
#define LAYER_MAX_ENTRIES 1000000

typedef struct archive LayerArchive;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(LayerArchive, archive_read_free)

/* Stage one of the chain: the decompressed stream and its digest. The
 * compressed bytes pass a watch on zstd frames on their way in. */
typedef struct {
	int fd;
	guint8 *in;	 /* LAYER_BUF_SIZE bytes read from fd */
	ZstdFrames zstd; /* every frame's window under the cap */
	GError *refused; /* why the watch stopped the stream */
	struct archive *raw;
	DigestVerifier *verifier;
	guint64 bytes;
	gboolean eof;
} LayerStream;

typedef struct {
	OstreeRepo *repo;
	const char *diff_id;
	OstreeMutableTree *root;
	char *default_dirmeta;	 /* 0755 root:root */
	char *marker;		 /* the empty whiteout marker file */
	GHashTable *lower_links; /* path → target outside this layer */
	guint skipped;
	guint entries;
	guint64 hole_bytes; /* of sparse files so far */
	guint8 *buf;
} LayerBuilder;

static void layer_builder_clear(LayerBuilder *b)
{
	g_clear_object(&b->root);
	g_free(b->default_dirmeta);
	g_free(b->marker);
	if (b->lower_links != NULL)
		g_hash_table_unref(b->lower_links);
	g_free(b->buf);
}

char *image_layer_ref(const char *diff_id)
{
	return g_strconcat(STORE_LAYER_REF_PREFIX, image_store_hex(diff_id),
			   NULL);
}

/* --- the stream chain --------------------------------------------------- */

static la_ssize_t layer_stream_read(struct archive *tar, void *data,
				    const void **buf)
{
	LayerStream *s = data;
	while (!s->eof) {
		size_t size = 0;
		la_int64_t offset = 0;
		int r = archive_read_data_block(s->raw, buf, &size, &offset);
		if (r == ARCHIVE_EOF) {
			s->eof = TRUE;
			break;
		}
		if (r < ARCHIVE_WARN) {
			archive_set_error(tar, EIO, "%s",
					  archive_error_string(s->raw));
			return -1;
		}
		if (size == 0)
			continue;
		digest_verifier_update(s->verifier, *buf, size, NULL);
		s->bytes += size;
		return (la_ssize_t)size;
	}
	*buf = NULL;
	return 0;
}

static la_ssize_t layer_fd_read(struct archive *raw, void *data,
				const void **buf)
{
	LayerStream *s = data;
	ssize_t n;
	do
		n = read(s->fd, s->in, LAYER_BUF_SIZE);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		archive_set_error(raw, errno, "read: %s", g_strerror(errno));
		return -1;
	}
	if (!zstd_frames_feed(&s->zstd, s->in, (gsize)n, &s->refused)) {
		archive_set_error(raw, EFBIG, "%s", s->refused->message);
		return -1;
	}
	*buf = s->in;
	return n;
}

static gboolean layer_stream_open(LayerStream *s, int fd, GError **error)
{
	s->fd = fd;
	s->in = g_malloc(LAYER_BUF_SIZE);
	zstd_frames_init(&s->zstd, ZSTD_FRAMES_MAX_WINDOW);
	s->raw = archive_read_new();
	/* The layer media types OCI defines; not filter_all, which would
	 * run external programs (lrzip, lzop...) for formats not built in. */
	archive_read_support_filter_gzip(s->raw);
	archive_read_support_filter_zstd(s->raw);
	archive_read_support_format_raw(s->raw);
	archive_read_support_format_empty(s->raw);
	if (archive_read_open(s->raw, s, NULL, layer_fd_read, NULL) !=
	    ARCHIVE_OK)
		return berth_throw(error, DATA_LOSS, "open layer stream: %s",
				   archive_error_string(s->raw));
	struct archive_entry *e;
	int r = archive_read_next_header(s->raw, &e);
	if (r == ARCHIVE_EOF)
		s->eof = TRUE;
	else if (r < ARCHIVE_WARN)
		return berth_throw(error, DATA_LOSS, "read layer stream: %s",
				   archive_error_string(s->raw));
	return TRUE;
}

/* Hash what follows the tar's end-of-archive blocks. */
static gboolean layer_stream_drain(LayerStream *s, struct archive *tar,
				   GError **error)
{
	const void *buf;
	la_ssize_t n;
	while ((n = layer_stream_read(tar, s, &buf)) > 0)
		;
	if (n < 0)
		return berth_throw(error, DATA_LOSS, "read layer stream: %s",
				   archive_error_string(tar));
	return TRUE;
}

/* --- paths ---------------------------------------------------------------- */

/* A member name as a path from the root: "/" and "./" prefixes, empty and
 * "." components dropped, ".." taken lexically and never above the root.
 * The root itself is "". NULL when the name is not UTF-8, which ostree
 * cannot store. */
static char *layer_clean_path(const char *name)
{
	if (name == NULL || !g_utf8_validate(name, -1, NULL))
		return NULL;
	g_auto(GStrv) parts = g_strsplit(name, "/", -1);
	g_autoptr(GPtrArray) out = g_ptr_array_new();
	for (char **p = parts; *p != NULL; p++) {
		if (**p == '\0' || strcmp(*p, ".") == 0)
			continue;
		if (strcmp(*p, "..") == 0) {
			if (out->len > 0)
				g_ptr_array_set_size(out, out->len - 1);
			continue;
		}
		g_ptr_array_add(out, *p);
	}
	g_ptr_array_add(out, NULL);
	return g_strjoinv("/", (char **)out->pdata);
}

static gboolean layer_has_subdir(OstreeMutableTree *dir, const char *name)
{
	return g_hash_table_contains(ostree_mutable_tree_get_subdirs(dir),
				     name);
}

/* Remove whatever this layer holds at name in dir. */
static gboolean layer_clear_name(LayerBuilder *b, OstreeMutableTree *dir,
				 const char *path, const char *name,
				 GError **error)
{
	g_hash_table_remove(b->lower_links, path);
	return ostree_mutable_tree_remove(dir, name, TRUE, error);
}

/* The directory that will hold path, created (without metadata: the tar
 * did not name it) where missing; *name_out points into path. */
static OstreeMutableTree *layer_parent(LayerBuilder *b, const char *path,
				       const char **name_out, GError **error)
{
	g_autoptr(OstreeMutableTree) dir = g_object_ref(b->root);
	const char *p = path;
	const char *slash;
	while ((slash = strchr(p, '/')) != NULL) {
		g_autofree char *comp = g_strndup(p, slash - p);
		g_autofree char *sofar = g_strndup(path, slash - path);
		if (!layer_has_subdir(dir, comp) &&
		    !layer_clear_name(b, dir, sofar, comp, error))
			return NULL;
		OstreeMutableTree *sub = NULL;
		if (!ostree_mutable_tree_ensure_dir(dir, comp, &sub, error))
			return NULL;
		g_object_unref(dir);
		dir = sub;
		p = slash + 1;
	}
	*name_out = p;
	return g_steal_pointer(&dir);
}

/* The content checksum of a file this layer already holds at path. */
static const char *layer_find_file(LayerBuilder *b, const char *path)
{
	OstreeMutableTree *dir = b->root;
	const char *p = path;
	const char *slash;
	while ((slash = strchr(p, '/')) != NULL) {
		g_autofree char *comp = g_strndup(p, slash - p);
		dir = g_hash_table_lookup(ostree_mutable_tree_get_subdirs(dir),
					  comp);
		if (dir == NULL)
			return NULL;
		p = slash + 1;
	}
	return g_hash_table_lookup(ostree_mutable_tree_get_files(dir), p);
}

/* --- objects ------------------------------------------------------------- */

static int layer_xattr_cmp(gconstpointer a, gconstpointer b)
{
	GVariant *x = *(GVariant *const *)a, *y = *(GVariant *const *)b;
	g_autoptr(GVariant) nx = g_variant_get_child_value(x, 0);
	g_autoptr(GVariant) ny = g_variant_get_child_value(y, 0);
	return strcmp(g_variant_get_bytestring(nx),
		      g_variant_get_bytestring(ny));
}

/* The entry's xattrs as ostree wants them (a(ayay), sorted by name);
 * NULL when it has none. overlayfs' own trusted.overlay.* attributes are
 * dropped: in a lower dir they would change what the overlay shows. */
static GVariant *layer_xattrs(struct archive_entry *e)
{
	if (archive_entry_xattr_reset(e) == 0)
		return NULL;
	g_autoptr(GPtrArray) items =
		g_ptr_array_new_with_free_func((GDestroyNotify)g_variant_unref);
	const char *name;
	const void *value;
	size_t size;
	while (archive_entry_xattr_next(e, &name, &value, &size) ==
	       ARCHIVE_OK) {
		if (g_str_has_prefix(name, "trusted.overlay."))
			continue;
		GVariant *v = g_variant_new(
			"(@ay@ay)", g_variant_new_bytestring(name),
			g_variant_new_fixed_array(G_VARIANT_TYPE_BYTE, value,
						  size, 1));
		g_ptr_array_add(items, g_variant_ref_sink(v));
	}
	if (items->len == 0)
		return NULL;
	g_ptr_array_sort(items, layer_xattr_cmp);
	return g_variant_ref_sink(g_variant_new_array(G_VARIANT_TYPE("(ayay)"),
						      (GVariant **)items->pdata,
						      items->len));
}

char *image_layer_write_dirmeta(OstreeRepo *repo, guint32 uid, guint32 gid,
				guint32 mode, GVariant *xattrs, GError **error)
{
	g_autoptr(GFileInfo) info = g_file_info_new();
	g_file_info_set_file_type(info, G_FILE_TYPE_DIRECTORY);
	g_file_info_set_attribute_uint32(info, "unix::uid", uid);
	g_file_info_set_attribute_uint32(info, "unix::gid", gid);
	g_file_info_set_attribute_uint32(info, "unix::mode",
					 S_IFDIR | (mode & 07777));
	g_autoptr(GVariant) meta = g_variant_ref_sink(
		ostree_create_directory_metadata(info, xattrs));
	g_autofree guchar *csum = NULL;
	if (!ostree_repo_write_metadata(repo, OSTREE_OBJECT_TYPE_DIR_META, NULL,
					meta, &csum, NULL, error))
		return NULL;
	return ostree_checksum_from_bytes(csum);
}

/* ostree has no holes: a sparse file is stored as long as it says it is,
 * so a few KiB of tar could make terabytes of zeros. Refused at the
 * header, before anything is written. */
static gboolean layer_check_holes(LayerBuilder *b, struct archive_entry *e,
				  GError **error)
{
	if (archive_entry_sparse_reset(e) == 0)
		return TRUE;
	la_int64_t offset, length;
	guint64 data = 0;
	while (archive_entry_sparse_next(e, &offset, &length) == ARCHIVE_OK)
		data += (guint64)MAX(length, 0);
	guint64 size = (guint64)MAX(archive_entry_size(e), 0);
	b->hole_bytes += size > data ? size - data : 0;
	if (b->hole_bytes > LAYER_MAX_HOLE_BYTES)
		return berth_throw(error, RESOURCE_EXHAUSTED,
				   "sparse files with over %" G_GUINT64_FORMAT
				   " bytes of holes (ostree would store them "
				   "as zeros)",
				   LAYER_MAX_HOLE_BYTES);
	return TRUE;
}

static char *layer_write_regfile(LayerBuilder *b, struct archive *tar,
				 struct archive_entry *e, GVariant *xattrs,
				 GError **error)
{
	if (!layer_check_holes(b, e, error))
		return NULL;
	gint64 size = archive_entry_size(e);
	guint32 mode = S_IFREG | (archive_entry_perm(e) & 07777);
	g_autoptr(OstreeContentWriter) w = ostree_repo_write_regfile(
		b->repo, NULL, (guint32)archive_entry_uid(e),
		(guint32)archive_entry_gid(e), mode, (guint64)size, xattrs,
		error);
	if (w == NULL)
		return NULL;
	gint64 total = 0;
	la_ssize_t n;
	while ((n = archive_read_data(tar, b->buf, LAYER_BUF_SIZE)) > 0) {
		if (!g_output_stream_write_all(G_OUTPUT_STREAM(w), b->buf,
					       (gsize)n, NULL, NULL, error))
			return NULL;
		total += n;
	}
	if (n < 0) {
		return berth_throw_null(error, DATA_LOSS, "%s",
					archive_error_string(tar));
	}
	if (total != size) {
		return berth_throw_null(error, DATA_LOSS,
					"%" G_GINT64_FORMAT
					" of %" G_GINT64_FORMAT " bytes",
					total, size);
	}
	return ostree_content_writer_finish(w, NULL, error);
}

/* --- entries ----------------------------------------------------------- */

static gboolean layer_put_file(LayerBuilder *b, OstreeMutableTree *parent,
			       const char *path, const char *name,
			       const char *csum, GError **error)
{
	return layer_clear_name(b, parent, path, name, error) &&
	       ostree_mutable_tree_replace_file(parent, name, csum, error);
}

static gboolean layer_add_dir(LayerBuilder *b, OstreeMutableTree *parent,
			      const char *path, const char *name,
			      struct archive_entry *e, GError **error)
{
	g_autoptr(GVariant) xattrs = layer_xattrs(e);
	g_autofree char *meta = image_layer_write_dirmeta(
		b->repo, (guint32)archive_entry_uid(e),
		(guint32)archive_entry_gid(e), archive_entry_perm(e), xattrs,
		error);
	if (meta == NULL)
		return FALSE;
	if (parent == NULL) {
		ostree_mutable_tree_set_metadata_checksum(b->root, meta);
		return TRUE;
	}
	if (!layer_has_subdir(parent, name) &&
	    !layer_clear_name(b, parent, path, name, error))
		return FALSE;
	g_autoptr(OstreeMutableTree) dir = NULL;
	if (!ostree_mutable_tree_ensure_dir(parent, name, &dir, error))
		return FALSE;
	ostree_mutable_tree_set_metadata_checksum(dir, meta);
	return TRUE;
}

/* Whiteout markers go into the tree as canonical empty files. AUFS
 * bookkeeping names (.wh..wh.plnk and such) and markers that would hide
 * "", "." or ".." (the dir itself or its parent) are dropped. */
static gboolean layer_add_whiteout(LayerBuilder *b, OstreeMutableTree *parent,
				   const char *path, const char *name,
				   GError **error)
{
	const char *victim = name + strlen(WHITEOUT_PREFIX);
	gboolean opaque = strcmp(name, WHITEOUT_OPAQUE) == 0;
	if (!opaque &&
	    (g_str_has_prefix(name, WHITEOUT_META_PREFIX) || *victim == '\0' ||
	     strcmp(victim, ".") == 0 || strcmp(victim, "..") == 0)) {
		log_warn("layer %s: %s: ignoring malformed whiteout",
			 b->diff_id, path);
		return TRUE;
	}
	return layer_put_file(b, parent, path, name, b->marker, error);
}

static gboolean layer_add_hardlink(LayerBuilder *b, OstreeMutableTree *parent,
				   const char *path, const char *name,
				   const char *target_name, GError **error)
{
	g_autofree char *target = layer_clean_path(target_name);
	if (target == NULL || *target == '\0')
		return berth_throw(error, INVALID_ARGUMENT,
				   "hardlink to an invalid target");
	const char *csum = layer_find_file(b, target);
	if (csum != NULL) {
		g_autofree char *keep = g_strdup(csum);
		return layer_put_file(b, parent, path, name, keep, error);
	}
	if (!layer_clear_name(b, parent, path, name, error))
		return FALSE;
	g_hash_table_insert(b->lower_links, g_strdup(path),
			    g_steal_pointer(&target));
	return TRUE;
}

/* Device nodes, FIFOs and sockets cannot be stored in ostree. They are
 * skipped, but still replace what a lower layer had at their path. */
static gboolean layer_skip_special(LayerBuilder *b, OstreeMutableTree *parent,
				   const char *path, const char *name,
				   GError **error)
{
	log_info("layer %s: %s: skipping device node, FIFO or socket "
		 "(not storable in ostree)",
		 b->diff_id, path);
	b->skipped++;
	g_autofree char *marker = g_strconcat(WHITEOUT_PREFIX, name, NULL);
	g_autofree char *dir = g_path_get_dirname(path);
	g_autofree char *marker_path =
		strcmp(dir, ".") == 0 ? g_strdup(marker)
				      : g_strconcat(dir, "/", marker, NULL);
	return layer_clear_name(b, parent, path, name, error) &&
	       layer_put_file(b, parent, marker_path, marker, b->marker, error);
}

static gboolean layer_add_leaf(LayerBuilder *b, struct archive *tar,
			       struct archive_entry *e,
			       OstreeMutableTree *parent, const char *path,
			       const char *name, GError **error)
{
	g_autoptr(GVariant) xattrs = NULL;
	g_autofree char *csum = NULL;
	switch (archive_entry_filetype(e)) {
	case AE_IFDIR:
		return layer_add_dir(b, parent, path, name, e, error);
	case AE_IFREG:
		xattrs = layer_xattrs(e);
		csum = layer_write_regfile(b, tar, e, xattrs, error);
		break;
	case AE_IFLNK:
		xattrs = layer_xattrs(e);
		csum = ostree_repo_write_symlink(
			b->repo, NULL, (guint32)archive_entry_uid(e),
			(guint32)archive_entry_gid(e), xattrs,
			archive_entry_symlink(e), NULL, error);
		break;
	default:
		return layer_skip_special(b, parent, path, name, error);
	}
	return csum != NULL &&
	       layer_put_file(b, parent, path, name, csum, error);
}

static gboolean layer_add_entry(LayerBuilder *b, struct archive *tar,
				struct archive_entry *e, GError **error)
{
	const char *raw = archive_entry_pathname(e);
	const char *link = archive_entry_hardlink(e);
	if (link == NULL)
		link = archive_entry_symlink(e);
	if ((raw != NULL && strlen(raw) >= LAYER_MAX_NAME) ||
	    (link != NULL && strlen(link) >= LAYER_MAX_NAME))
		return berth_throw(error, INVALID_ARGUMENT,
				   "name or link target too long (PATH_MAX "
				   "is %d)",
				   LAYER_MAX_NAME);
	g_autofree char *path = layer_clean_path(raw);
	if (path == NULL)
		return berth_throw(error, INVALID_ARGUMENT,
				   "member name is not UTF-8");
	if (*path == '\0') {
		if (archive_entry_filetype(e) == AE_IFDIR &&
		    archive_entry_hardlink(e) == NULL)
			return layer_add_dir(b, NULL, path, NULL, e, error);
		log_warn("layer %s: ignoring a non-directory root entry",
			 b->diff_id);
		return TRUE;
	}
	const char *name;
	g_autoptr(OstreeMutableTree) parent =
		layer_parent(b, path, &name, error);
	if (parent == NULL)
		return FALSE;
	if (g_str_has_prefix(name, WHITEOUT_PREFIX))
		return layer_add_whiteout(b, parent, path, name, error);
	if (archive_entry_hardlink(e) != NULL)
		return layer_add_hardlink(b, parent, path, name,
					  archive_entry_hardlink(e), error);
	return layer_add_leaf(b, tar, e, parent, path, name, error);
}

/* --- the commit ---------------------------------------------------------- */

/* Give the directories the tar never named the default metadata and
 * list them for flatten. */
static void layer_fill_implicit(LayerBuilder *b, OstreeMutableTree *dir,
				const char *path, GPtrArray *implicit)
{
	if (ostree_mutable_tree_get_metadata_checksum(dir) == NULL) {
		ostree_mutable_tree_set_metadata_checksum(dir,
							  b->default_dirmeta);
		g_ptr_array_add(implicit, g_strdup(path));
	}
	GHashTableIter it;
	gpointer name, sub;
	g_hash_table_iter_init(&it, ostree_mutable_tree_get_subdirs(dir));
	while (g_hash_table_iter_next(&it, &name, &sub)) {
		g_autofree char *child =
			*path == '\0' ? g_strdup(name)
				      : g_strconcat(path, "/", name, NULL);
		layer_fill_implicit(b, sub, child, implicit);
	}
}

static GVariant *layer_commit_metadata(LayerBuilder *b, guint64 size,
				       GPtrArray *implicit)
{
	GVariantBuilder links;
	g_variant_builder_init(&links, G_VARIANT_TYPE("a(ss)"));
	GHashTableIter it;
	gpointer path, target;
	g_hash_table_iter_init(&it, b->lower_links);
	while (g_hash_table_iter_next(&it, &path, &target))
		g_variant_builder_add(&links, "(ss)", path, target);
	GVariantBuilder meta;
	g_variant_builder_init(&meta, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&meta, "{sv}", STORE_META_DIFF_ID,
			      g_variant_new_string(b->diff_id));
	g_variant_builder_add(&meta, "{sv}", STORE_META_SIZE,
			      g_variant_new_uint64(size));
	g_variant_builder_add(
		&meta, "{sv}", STORE_META_IMPLICIT,
		g_variant_new_strv((const char *const *)implicit->pdata,
				   implicit->len));
	g_variant_builder_add(&meta, "{sv}", STORE_META_LOWER_LINKS,
			      g_variant_builder_end(&links));
	return g_variant_ref_sink(g_variant_builder_end(&meta));
}

static gboolean layer_commit(LayerBuilder *b, guint64 size, GError **error)
{
	g_autoptr(GPtrArray) implicit = g_ptr_array_new_with_free_func(g_free);
	layer_fill_implicit(b, b->root, "", implicit);
	g_autoptr(GFile) root = NULL;
	if (!ostree_repo_write_mtree(b->repo, b->root, &root, NULL, error))
		return FALSE;
	g_autoptr(GVariant) meta = layer_commit_metadata(b, size, implicit);
	g_autofree char *commit = NULL;
	if (!ostree_repo_write_commit(b->repo, NULL, b->diff_id, NULL, meta,
				      OSTREE_REPO_FILE(root), &commit, NULL,
				      error))
		return FALSE;
	g_autofree char *ref = image_layer_ref(b->diff_id);
	ostree_repo_transaction_set_ref(b->repo, NULL, ref, commit);
	return ostree_repo_commit_transaction(b->repo, NULL, NULL, error);
}

static gboolean layer_builder_init(LayerBuilder *b, OstreeRepo *repo,
				   const char *diff_id, GError **error)
{
	b->repo = repo;
	b->diff_id = diff_id;
	b->root = ostree_mutable_tree_new();
	b->lower_links =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	b->buf = g_malloc(LAYER_BUF_SIZE);
	b->default_dirmeta =
		image_layer_write_dirmeta(repo, 0, 0, 0755, NULL, error);
	if (b->default_dirmeta == NULL)
		return FALSE;
	b->marker = ostree_repo_write_regfile_inline(
		repo, NULL, 0, 0, S_IFREG | 0644, NULL, NULL, 0, NULL, error);
	return b->marker != NULL;
}

static gboolean layer_read_tar(LayerBuilder *b, LayerStream *s, GError **error)
{
	g_autoptr(LayerArchive) tar = archive_read_new();
	archive_read_support_format_tar(tar);
	archive_read_support_format_empty(tar);
	if (archive_read_open(tar, s, NULL, layer_stream_read, NULL) !=
	    ARCHIVE_OK)
		return berth_throw(error, DATA_LOSS, "not a tar stream: %s",
				   archive_error_string(tar));
	struct archive_entry *e;
	int r;
	while ((r = archive_read_next_header(tar, &e)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN)
			return berth_throw(error, DATA_LOSS, "read tar: %s",
					   archive_error_string(tar));
		if (++b->entries > LAYER_MAX_ENTRIES)
			return berth_throw(error, RESOURCE_EXHAUSTED,
					   "more than %d entries",
					   LAYER_MAX_ENTRIES);
		if (!layer_add_entry(b, tar, e, error)) {
			/* A hostile name may be huge: not all of it. */
			g_prefix_error(error,
				       "%.256s: ", archive_entry_pathname(e));
			return FALSE;
		}
	}
	return layer_stream_drain(s, tar, error);
}

static gboolean layer_import_in_txn(LayerBuilder *b, int fd, guint64 *size,
				    GError **error)
{
	LayerStream s = {0};
	s.verifier = digest_verifier_new(b->diff_id, -1, error);
	if (s.verifier == NULL)
		return FALSE;
	gboolean ok = layer_stream_open(&s, fd, error) &&
		      layer_read_tar(b, &s, error) &&
		      digest_verifier_finish(s.verifier, error);
	*size = s.bytes;
	if (!ok && s.refused != NULL) {
		/* The watch's own error, not libarchive's echo of it. */
		g_clear_error(error);
		g_propagate_error(error, g_steal_pointer(&s.refused));
	}
	g_clear_error(&s.refused);
	digest_verifier_free(s.verifier);
	archive_read_free(s.raw);
	g_free(s.in);
	return ok && layer_commit(b, *size, error);
}

gboolean image_layer_import(ImageStore *store, const char *diff_id, int fd,
			    guint64 *size_out, GError **error)
{
	g_autoptr(OstreeRepo) repo = image_store_repo_open(store, error);
	if (repo == NULL ||
	    !ostree_repo_prepare_transaction(repo, NULL, NULL, error))
		return FALSE;
	LayerBuilder b = {0};
	gboolean ok = layer_builder_init(&b, repo, diff_id, error) &&
		      layer_import_in_txn(&b, fd, size_out, error);
	if (ok)
		log_info("layer %s: stored (%" G_GUINT64_FORMAT
			 " bytes, %u entries skipped)",
			 diff_id, *size_out, b.skipped);
	layer_builder_clear(&b);
	if (!ok)
		ostree_repo_abort_transaction(repo, NULL, NULL);
	/* The layer's tree was held in memory (see flatten.c). */
	malloc_trim(0);
	return ok;
}
