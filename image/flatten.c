/* Flatten: an image's layer commits, bottom first, applied onto one
 * mutable tree with the OCI layer rules, committed as the image's tree.
 *
 * Per directory of a layer, in this order (whatever the tar order was):
 *   1. .wh..wh..opq clears what the lower layers put in the directory;
 *   2. .wh.X removes X (file or whole subtree) of the lower layers;
 *   3. files replace what was there (a directory is removed first);
 *   4. directories replace a lower non-directory, merge into a lower
 *      directory, and bring their own metadata, except directories the
 *      tar never named (layer.c lists them), which keep the lower one;
 *      where such an unnamed directory meets a lower symlink, the link is
 *      followed inside the image, as extracting onto disk would (missing
 *      directories on the way are made).
 * Markers only ever hide lower content: this layer's own entries are
 * added after them. Hardlinks to files of lower layers are resolved last,
 * against the tree as it stands after the layer. ostree's own whiteout
 * handling (checkout with process_whiteouts) is not used: it keeps the
 * lower directory's metadata, which OCI says the upper one replaces. */
#include "image/store-private.h"
#include "util/error.h"

#include <malloc.h>
#include <string.h>

#define WHITEOUT_PREFIX ".wh."
#define WHITEOUT_OPAQUE ".wh..wh..opq"

/* Symlinks followed while resolving one path, at most (as Linux). */
#define FLATTEN_MAX_HOPS 40

typedef struct {
	OstreeRepo *repo;
	OstreeMutableTree *root; /* the image tree being built */
	const char *diff_id;
	GHashTable *implicit; /* this layer's unnamed dirs, by path */
} Flatten;

char *image_flatten_ref(const char *id)
{
	return g_strconcat(STORE_IMAGE_REF_PREFIX, image_store_hex(id), NULL);
}

static char *flatten_child_path(const char *path, const char *name)
{
	return *path == '\0' ? g_strdup(name)
			     : g_strconcat(path, "/", name, NULL);
}

static gboolean flatten_clear(OstreeMutableTree *dst, GError **error)
{
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	GHashTable *tables[] = {ostree_mutable_tree_get_files(dst),
				ostree_mutable_tree_get_subdirs(dst)};
	for (gsize i = 0; i < G_N_ELEMENTS(tables); i++) {
		GHashTableIter it;
		gpointer name;
		g_hash_table_iter_init(&it, tables[i]);
		while (g_hash_table_iter_next(&it, &name, NULL))
			g_ptr_array_add(names, g_strdup(name));
	}
	for (guint i = 0; i < names->len; i++) {
		if (!ostree_mutable_tree_remove(dst, names->pdata[i], TRUE,
						error))
			return FALSE;
	}
	return TRUE;
}

/* Steps 1 and 2. */
static gboolean flatten_markers(OstreeMutableTree *dst, GVariant *files,
				GError **error)
{
	GVariantIter it;
	const char *name;
	g_variant_iter_init(&it, files);
	while (g_variant_iter_next(&it, "(&s@ay)", &name, NULL)) {
		if (strcmp(name, WHITEOUT_OPAQUE) == 0 &&
		    !flatten_clear(dst, error))
			return FALSE;
	}
	g_variant_iter_init(&it, files);
	while (g_variant_iter_next(&it, "(&s@ay)", &name, NULL)) {
		if (!g_str_has_prefix(name, WHITEOUT_PREFIX) ||
		    strcmp(name, WHITEOUT_OPAQUE) == 0)
			continue;
		const char *victim = name + strlen(WHITEOUT_PREFIX);
		if (!ostree_mutable_tree_remove(dst, victim, TRUE, error))
			return FALSE;
	}
	return TRUE;
}

/* Step 3. */
static gboolean flatten_files(OstreeMutableTree *dst, GVariant *files,
			      GError **error)
{
	GVariantIter it;
	const char *name;
	GVariant *csum_v;
	g_variant_iter_init(&it, files);
	while (g_variant_iter_loop(&it, "(&s@ay)", &name, &csum_v)) {
		if (g_str_has_prefix(name, WHITEOUT_PREFIX))
			continue;
		g_autofree char *csum = ostree_checksum_from_bytes_v(csum_v);
		if (g_hash_table_contains(ostree_mutable_tree_get_subdirs(dst),
					  name) &&
		    !ostree_mutable_tree_remove(dst, name, FALSE, error))
			return FALSE;
		if (!ostree_mutable_tree_replace_file(dst, name, csum, error))
			return FALSE;
	}
	return TRUE;
}

static gboolean flatten_apply_dir(Flatten *f, OstreeMutableTree *dst,
				  const char *dst_path, const char *tree_csum,
				  const char *path, GError **error);

/* The directory at the resolved path stack in the image tree. */
static OstreeMutableTree *flatten_dir_at(Flatten *f, GPtrArray *stack)
{
	OstreeMutableTree *dir = f->root;
	for (guint i = 0; dir != NULL && i < stack->len; i++)
		dir = g_hash_table_lookup(ostree_mutable_tree_get_subdirs(dir),
					  stack->pdata[i]);
	return dir;
}

/* The target of the symlink object csum; NULL for any other file. */
static gboolean flatten_symlink_target(Flatten *f, const char *csum,
				       char **target, GError **error)
{
	g_autoptr(GFileInfo) info = NULL;
	*target = NULL;
	if (!ostree_repo_load_file(f->repo, csum, NULL, &info, NULL, NULL,
				   error))
		return FALSE;
	if (g_file_info_get_file_type(info) == G_FILE_TYPE_SYMBOLIC_LINK)
		*target = g_strdup(g_file_info_get_symlink_target(info));
	return TRUE;
}

static gboolean flatten_walk(Flatten *f, GPtrArray *stack, const char *target,
			     const char *meta, int *hops, GError **error);

/* Resolve one path component below the directory stack names, as
 * extracting the tar onto a real root would: a symlink is followed inside
 * the image tree, a missing directory is created (with meta), a regular
 * file in the way is replaced by one. */
static gboolean flatten_step(Flatten *f, GPtrArray *stack, const char *comp,
			     const char *meta, int *hops, GError **error)
{
	if (*comp == '\0' || strcmp(comp, ".") == 0)
		return TRUE;
	if (strcmp(comp, "..") == 0) {
		if (stack->len > 0)
			g_ptr_array_set_size(stack, stack->len - 1);
		return TRUE;
	}
	OstreeMutableTree *dir = flatten_dir_at(f, stack);
	if (!g_hash_table_contains(ostree_mutable_tree_get_subdirs(dir),
				   comp)) {
		const char *csum = g_hash_table_lookup(
			ostree_mutable_tree_get_files(dir), comp);
		g_autofree char *target = NULL;
		if (csum != NULL &&
		    !flatten_symlink_target(f, csum, &target, error))
			return FALSE;
		if (target != NULL && ++*hops <= FLATTEN_MAX_HOPS)
			return flatten_walk(f, stack, target, meta, hops,
					    error);
		g_autoptr(OstreeMutableTree) sub = NULL;
		if (!ostree_mutable_tree_remove(dir, comp, TRUE, error) ||
		    !ostree_mutable_tree_ensure_dir(dir, comp, &sub, error))
			return FALSE;
		ostree_mutable_tree_set_metadata_checksum(sub, meta);
	}
	g_ptr_array_add(stack, g_strdup(comp));
	return TRUE;
}

static gboolean flatten_walk(Flatten *f, GPtrArray *stack, const char *target,
			     const char *meta, int *hops, GError **error)
{
	if (target[0] == '/')
		g_ptr_array_set_size(stack, 0);
	g_auto(GStrv) comps = g_strsplit(target, "/", -1);
	for (char **c = comps; *c != NULL; c++) {
		if (!flatten_step(f, stack, *c, meta, hops, error))
			return FALSE;
	}
	return TRUE;
}

/* A directory the tar did not name, where the tree has a non-directory:
 * resolve it like a parent path on disk (see flatten_step). */
static OstreeMutableTree *flatten_follow(Flatten *f, const char *dst_path,
					 const char *name, const char *meta,
					 char **resolved, GError **error)
{
	g_autoptr(GPtrArray) stack = g_ptr_array_new_with_free_func(g_free);
	int hops = 0;
	if (!flatten_walk(f, stack, dst_path, meta, &hops, error) ||
	    !flatten_step(f, stack, name, meta, &hops, error))
		return NULL;
	g_ptr_array_add(stack, NULL);
	*resolved = g_strjoinv("/", (char **)stack->pdata);
	g_ptr_array_set_size(stack, stack->len - 1);
	return g_object_ref(flatten_dir_at(f, stack));
}

/* Step 4, for one subdirectory. path is the layer's, dst_path the image
 * tree's (they differ below a followed symlink). */
static gboolean flatten_subdir(Flatten *f, OstreeMutableTree *dst,
			       const char *dst_path, const char *path,
			       const char *name, GVariant *tree_v,
			       GVariant *meta_v, GError **error)
{
	g_autofree char *child = flatten_child_path(path, name);
	g_autofree char *meta = ostree_checksum_from_bytes_v(meta_v);
	gboolean implicit = g_hash_table_contains(f->implicit, child);
	g_autofree char *dst_child = NULL;
	g_autoptr(OstreeMutableTree) sub = NULL;
	if (implicit &&
	    g_hash_table_contains(ostree_mutable_tree_get_files(dst), name)) {
		sub = flatten_follow(f, dst_path, name, meta, &dst_child,
				     error);
		if (sub == NULL)
			return FALSE;
	} else {
		if (g_hash_table_contains(ostree_mutable_tree_get_files(dst),
					  name) &&
		    !ostree_mutable_tree_remove(dst, name, FALSE, error))
			return FALSE;
		gboolean existed = g_hash_table_contains(
			ostree_mutable_tree_get_subdirs(dst), name);
		if (!ostree_mutable_tree_ensure_dir(dst, name, &sub, error))
			return FALSE;
		if (!existed || !implicit)
			ostree_mutable_tree_set_metadata_checksum(sub, meta);
		dst_child = flatten_child_path(dst_path, name);
	}
	g_autofree char *tree = ostree_checksum_from_bytes_v(tree_v);
	return flatten_apply_dir(f, sub, dst_child, tree, child, error);
}

static gboolean flatten_apply_dir(Flatten *f, OstreeMutableTree *dst,
				  const char *dst_path, const char *tree_csum,
				  const char *path, GError **error)
{
	g_autoptr(GVariant) tree = NULL;
	if (!ostree_repo_load_variant(f->repo, OSTREE_OBJECT_TYPE_DIR_TREE,
				      tree_csum, &tree, error))
		return FALSE;
	g_autoptr(GVariant) files = g_variant_get_child_value(tree, 0);
	g_autoptr(GVariant) dirs = g_variant_get_child_value(tree, 1);
	if (!flatten_markers(dst, files, error) ||
	    !flatten_files(dst, files, error))
		return FALSE;
	GVariantIter it;
	const char *name;
	GVariant *tree_v, *meta_v;
	g_variant_iter_init(&it, dirs);
	while (g_variant_iter_loop(&it, "(&s@ay@ay)", &name, &tree_v,
				   &meta_v)) {
		if (g_str_has_prefix(name, WHITEOUT_PREFIX))
			continue;
		if (!flatten_subdir(f, dst, dst_path, path, name, tree_v,
				    meta_v, error))
			return FALSE;
	}
	return TRUE;
}

/* The directory holding path in root, and *name_out its last part. */
static OstreeMutableTree *flatten_find_parent(OstreeMutableTree *root,
					      const char *path,
					      const char **name_out)
{
	OstreeMutableTree *dir = root;
	const char *p = path;
	const char *slash;
	while (dir != NULL && (slash = strchr(p, '/')) != NULL) {
		g_autofree char *comp = g_strndup(p, slash - p);
		dir = g_hash_table_lookup(ostree_mutable_tree_get_subdirs(dir),
					  comp);
		p = slash + 1;
	}
	*name_out = p;
	return dir;
}

static gboolean flatten_lower_link(Flatten *f, OstreeMutableTree *root,
				   const char *path, const char *target,
				   GError **error)
{
	const char *tname, *name;
	OstreeMutableTree *tdir = flatten_find_parent(root, target, &tname);
	const char *csum =
		tdir != NULL
			? g_hash_table_lookup(
				  ostree_mutable_tree_get_files(tdir), tname)
			: NULL;
	if (csum == NULL)
		return berth_throw(error, INVALID_ARGUMENT,
				   "layer %s: hardlink %s: target %s is in "
				   "no layer",
				   f->diff_id, path, target);
	g_autofree char *keep = g_strdup(csum);
	OstreeMutableTree *dir = flatten_find_parent(root, path, &name);
	if (dir == NULL)
		return berth_throw(error, INTERNAL,
				   "layer %s: hardlink %s: no parent dir",
				   f->diff_id, path);
	return ostree_mutable_tree_remove(dir, name, TRUE, error) &&
	       ostree_mutable_tree_replace_file(dir, name, keep, error);
}

static gboolean flatten_lower_links(Flatten *f, OstreeMutableTree *root,
				    GVariant *meta, GError **error)
{
	g_autoptr(GVariant) links = g_variant_lookup_value(
		meta, STORE_META_LOWER_LINKS, G_VARIANT_TYPE("a(ss)"));
	if (links == NULL)
		return TRUE;
	GVariantIter it;
	const char *path, *target;
	g_variant_iter_init(&it, links);
	while (g_variant_iter_next(&it, "(&s&s)", &path, &target)) {
		if (!flatten_lower_link(f, root, path, target, error))
			return FALSE;
	}
	return TRUE;
}

static GVariant *flatten_load_layer(OstreeRepo *repo, const char *diff_id,
				    GError **error)
{
	g_autofree char *ref = image_layer_ref(diff_id);
	g_autofree char *csum = NULL;
	if (!ostree_repo_resolve_rev(repo, ref, TRUE, &csum, error))
		return NULL;
	if (csum == NULL) {
		return berth_throw_null(error, NOT_FOUND,
					"layer %s is not stored", diff_id);
	}
	GVariant *commit = NULL;
	if (!ostree_repo_load_variant(repo, OSTREE_OBJECT_TYPE_COMMIT, csum,
				      &commit, error))
		return NULL;
	return commit;
}

static gboolean flatten_layer(OstreeRepo *repo, OstreeMutableTree *root,
			      const char *diff_id, GError **error)
{
	g_autoptr(GVariant) commit = flatten_load_layer(repo, diff_id, error);
	if (commit == NULL)
		return FALSE;
	g_autoptr(GVariant) meta = g_variant_get_child_value(commit, 0);
	g_autoptr(GVariant) tree_v = g_variant_get_child_value(commit, 6);
	g_autoptr(GVariant) meta_v = g_variant_get_child_value(commit, 7);
	g_autofree const char **implicit = NULL;
	g_variant_lookup(meta, STORE_META_IMPLICIT, "^a&s", &implicit);
	g_autoptr(GHashTable) set = g_hash_table_new(g_str_hash, g_str_equal);
	for (const char **p = implicit; p != NULL && *p != NULL; p++)
		g_hash_table_add(set, (gpointer)*p);
	Flatten f = {repo, root, diff_id, set};
	if (!g_hash_table_contains(set, "") ||
	    ostree_mutable_tree_get_metadata_checksum(root) == NULL) {
		g_autofree char *m = ostree_checksum_from_bytes_v(meta_v);
		ostree_mutable_tree_set_metadata_checksum(root, m);
	}
	g_autofree char *tree = ostree_checksum_from_bytes_v(tree_v);
	return flatten_apply_dir(&f, root, "", tree, "", error) &&
	       flatten_lower_links(&f, root, meta, error);
}

static gboolean flatten_write(OstreeRepo *repo, const char *id,
			      char *const *diff_ids, GError **error)
{
	g_autoptr(OstreeMutableTree) root = ostree_mutable_tree_new();
	for (char *const *p = diff_ids; p != NULL && *p != NULL; p++) {
		if (!flatten_layer(repo, root, *p, error))
			return FALSE;
	}
	if (ostree_mutable_tree_get_metadata_checksum(root) == NULL) {
		/* No layers at all: an empty root, 0755 root:root. */
		g_autofree char *m = image_layer_write_dirmeta(repo, 0, 0, 0755,
							       NULL, error);
		if (m == NULL)
			return FALSE;
		ostree_mutable_tree_set_metadata_checksum(root, m);
	}
	g_autoptr(GFile) tree = NULL;
	if (!ostree_repo_write_mtree(repo, root, &tree, NULL, error))
		return FALSE;
	GVariantBuilder meta;
	g_variant_builder_init(&meta, G_VARIANT_TYPE("a{sv}"));
	g_variant_builder_add(&meta, "{sv}", STORE_META_IMAGE_ID,
			      g_variant_new_string(id));
	g_autoptr(GVariant) metav =
		g_variant_ref_sink(g_variant_builder_end(&meta));
	g_autofree char *commit = NULL;
	if (!ostree_repo_write_commit(repo, NULL, id, NULL, metav,
				      OSTREE_REPO_FILE(tree), &commit, NULL,
				      error))
		return FALSE;
	g_autofree char *ref = image_flatten_ref(id);
	ostree_repo_transaction_set_ref(repo, NULL, ref, commit);
	return ostree_repo_commit_transaction(repo, NULL, NULL, error);
}

gboolean image_flatten_commit(ImageStore *store, const char *id,
			      char *const *diff_ids, GError **error)
{
	g_autoptr(OstreeRepo) repo = image_store_repo_open(store, error);
	if (repo == NULL ||
	    !ostree_repo_prepare_transaction(repo, NULL, NULL, error))
		return FALSE;
	gboolean ok = flatten_write(repo, id, diff_ids, error);
	if (!ok) {
		ostree_repo_abort_transaction(repo, NULL, NULL);
		g_prefix_error(error, "image %s: ", id);
	}
	/* The image's tree was held in memory, a few hundred bytes an
	 * entry: give the pages back rather than keep them in the arena. */
	malloc_trim(0);
	return ok;
}
