/* The image store's life: open with crash recovery, the lock that keeps
 * prune apart from every other use of the repo, layer bookkeeping
 * (import de-duplication, grace period), lookups and usage. Images are
 * committed and removed in store-image.c. */
#include "image/digest.h"
#include "image/ref.h"
#include "image/store-private.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STORE_DEFAULT_GRACE_S 600

const char *image_store_hex(const char *digest)
{
	const char *colon = digest != NULL ? strchr(digest, ':') : NULL;
	return colon != NULL ? colon + 1 : NULL;
}

static void store_image_free(StoreImage *img)
{
	image_record_free(img->rec);
	g_free(img);
}

OstreeRepo *image_store_repo_open(ImageStore *store, GError **error)
{
	g_autoptr(OstreeRepo) repo =
		ostree_repo_open_at(AT_FDCWD, store->repo_path, NULL, error);
	if (repo == NULL)
		g_prefix_error(error, "open %s: ", store->repo_path);
	return g_steal_pointer(&repo);
}

/* --- prune ----------------------------------------------------------- */

static GHashTable *store_used_layers(ImageStore *store)
{
	GHashTable *used =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_rw_lock_reader_lock(&store->index_lock);
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, store->images);
	while (g_hash_table_iter_next(&it, NULL, &v)) {
		StoreImage *img = v;
		for (char **p = img->rec->diff_ids; *p != NULL; p++)
			g_hash_table_add(used, g_strdup(*p));
	}
	g_rw_lock_reader_unlock(&store->index_lock);
	return used;
}

static gboolean store_delete_ref(OstreeRepo *repo, const char *ref)
{
	g_autoptr(GError) err = NULL;
	if (ostree_repo_set_ref_immediate(repo, NULL, ref, NULL, NULL, &err))
		return TRUE;
	log_warn("image store: delete ref %s: %s", ref, err->message);
	return FALSE;
}

/* Drop the refs of layers no image uses and that are past their grace
 * period. */
static void store_prune_layers(ImageStore *store, OstreeRepo *repo)
{
	g_autoptr(GHashTable) used = store_used_layers(store);
	gint64 now = g_get_monotonic_time();
	g_mutex_lock(&store->layers_mu);
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, store->layers);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		StoreLayer *l = v;
		if (g_hash_table_contains(used, k) ||
		    (l->claims > 0 &&
		     now - l->claimed_us < store->layer_grace_us))
			continue;
		g_autofree char *ref = image_layer_ref(k);
		if (store_delete_ref(repo, ref)) {
			log_info("layer %s: pruned (no image uses it)",
				 (char *)k);
			g_hash_table_iter_remove(&it);
		}
	}
	g_mutex_unlock(&store->layers_mu);
}

static void store_prune(ImageStore *store)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(OstreeRepo) repo = image_store_repo_open(store, &err);
	if (repo == NULL) {
		log_warn("image store: prune: %s", err->message);
		return;
	}
	store_prune_layers(store, repo);
	gint total = 0, pruned = 0;
	guint64 freed = 0;
	if (!ostree_repo_prune(repo, OSTREE_REPO_PRUNE_FLAGS_REFS_ONLY, -1,
			       &total, &pruned, &freed, NULL, &err)) {
		log_warn("image store: prune: %s", err->message);
		return;
	}
	log_info("image store: pruned %d of %d objects (%" G_GUINT64_FORMAT
		 " bytes)",
		 pruned, total, freed);
}

void image_store_repo_enter(ImageStore *store)
{
	g_mutex_lock(&store->repo_mu);
	while (store->pruning)
		g_cond_wait(&store->repo_cond, &store->repo_mu);
	store->repo_users++;
	g_mutex_unlock(&store->repo_mu);
}

void image_store_repo_leave(ImageStore *store)
{
	g_mutex_lock(&store->repo_mu);
	store->repo_users--;
	gboolean run = store->repo_users == 0 && store->prune_pending;
	if (run) {
		store->pruning = TRUE;
		store->prune_pending = FALSE;
	}
	g_mutex_unlock(&store->repo_mu);
	if (!run)
		return;
	store_prune(store);
	g_mutex_lock(&store->repo_mu);
	store->pruning = FALSE;
	g_cond_broadcast(&store->repo_cond);
	g_mutex_unlock(&store->repo_mu);
}

/* --- usage -------------------------------------------------------------- */

void image_store_refresh_usage(ImageStore *store)
{
	ImageFsUsage u;
	g_autoptr(GError) err = NULL;
	if (!image_fs_usage_scan(store->dir, &u, &err)) {
		log_warn("image store: usage: %s", err->message);
		return;
	}
	g_mutex_lock(&store->usage_mu);
	image_fs_usage_clear(&store->usage);
	store->usage = u;
	g_mutex_unlock(&store->usage_mu);
}

void image_store_usage(ImageStore *store, ImageFsUsage *out)
{
	g_mutex_lock(&store->usage_mu);
	*out = store->usage;
	out->mountpoint = g_strdup(store->usage.mountpoint);
	g_mutex_unlock(&store->usage_mu);
}

/* --- layers ------------------------------------------------------------- */

static void store_claim(StoreLayer *l)
{
	l->claims++;
	l->claimed_us = g_get_monotonic_time();
}

gboolean image_store_has_layer(ImageStore *store, const char *diff_id)
{
	g_mutex_lock(&store->layers_mu);
	StoreLayer *l = g_hash_table_lookup(store->layers, diff_id);
	if (l != NULL)
		store_claim(l);
	g_mutex_unlock(&store->layers_mu);
	return l != NULL;
}

void image_store_unclaim_layers(ImageStore *store, char *const *diff_ids)
{
	g_mutex_lock(&store->layers_mu);
	for (char *const *p = diff_ids; p != NULL && *p != NULL; p++) {
		StoreLayer *l = g_hash_table_lookup(store->layers, *p);
		if (l != NULL && l->claims > 0)
			l->claims--;
	}
	g_mutex_unlock(&store->layers_mu);
}

void image_store_set_layer_grace(ImageStore *store, gint64 seconds)
{
	g_mutex_lock(&store->layers_mu);
	store->layer_grace_us = MAX(seconds, 0) * G_USEC_PER_SEC;
	g_mutex_unlock(&store->layers_mu);
}

/* Become the importer of diff_id (TRUE), or learn that it is stored
 * (FALSE), waiting while another thread imports it. */
static gboolean store_claim_layer(ImageStore *store, const char *diff_id)
{
	g_mutex_lock(&store->layers_mu);
	for (;;) {
		StoreLayer *l = g_hash_table_lookup(store->layers, diff_id);
		if (l != NULL) {
			store_claim(l);
			g_mutex_unlock(&store->layers_mu);
			return FALSE;
		}
		if (!g_hash_table_contains(store->importing, diff_id))
			break;
		g_cond_wait(&store->layers_cond, &store->layers_mu);
	}
	g_hash_table_add(store->importing, g_strdup(diff_id));
	g_mutex_unlock(&store->layers_mu);
	return TRUE;
}

static StoreLayer *store_layer_add(ImageStore *store, const char *diff_id,
				   guint64 size)
{
	StoreLayer *l = g_new0(StoreLayer, 1);
	l->size = size;
	g_hash_table_replace(store->layers, g_strdup(diff_id), l);
	return l;
}

static void store_release_layer(ImageStore *store, const char *diff_id,
				gboolean stored, guint64 size)
{
	g_mutex_lock(&store->layers_mu);
	g_hash_table_remove(store->importing, diff_id);
	if (stored)
		store_claim(store_layer_add(store, diff_id, size));
	store->imports_done++;
	g_cond_broadcast(&store->layers_cond);
	g_mutex_unlock(&store->layers_mu);
}

gboolean image_store_import_layer_fd(ImageStore *store, const char *diff_id,
				     int fd, GError **error)
{
	if (!digest_validate(diff_id, error)) {
		g_prefix_error(error, "layer diff_id: ");
		return FALSE;
	}
	if (!store_claim_layer(store, diff_id))
		return TRUE;
	image_store_repo_enter(store);
	guint64 size = 0;
	gboolean ok = image_layer_import(store, diff_id, fd, &size, error);
	store_release_layer(store, diff_id, ok, size);
	image_store_repo_leave(store);
	if (!ok)
		g_prefix_error(error, "layer %s: ", diff_id);
	return ok;
}

/* --- lookups ------------------------------------------------------------- */

StoreImage *image_store_find_locked(ImageStore *store, const char *name)
{
	g_autofree char *id = image_ref_parse_id(name);
	StoreImage *img =
		id != NULL ? g_hash_table_lookup(store->images, id) : NULL;
	if (img != NULL)
		return img;
	const char *owner = g_hash_table_lookup(store->names, name);
	return owner != NULL ? g_hash_table_lookup(store->images, owner) : NULL;
}

static gboolean store_is_hex_prefix(const char *s)
{
	gsize n = strlen(s);
	if (n < IMAGE_STORE_MIN_PREFIX || n > 128)
		return FALSE;
	for (const char *p = s; *p != '\0'; p++) {
		if (!g_ascii_isdigit(*p) && (*p < 'a' || *p > 'f'))
			return FALSE;
	}
	return TRUE;
}

/* A unique id prefix; *ambiguous when several images match. */
static StoreImage *store_find_prefix(ImageStore *store, const char *name,
				     gboolean *ambiguous)
{
	const char *prefix =
		g_str_has_prefix(name, "sha256:") ? name + 7 : name;
	*ambiguous = FALSE;
	if (!store_is_hex_prefix(prefix))
		return NULL;
	StoreImage *found = NULL;
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, store->images);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		if (!g_str_has_prefix(k, "sha256:") ||
		    !g_str_has_prefix(image_store_hex(k), prefix))
			continue;
		if (found != NULL) {
			*ambiguous = TRUE;
			return NULL;
		}
		found = v;
	}
	return found;
}

ImageRecord *image_store_lookup(ImageStore *store, const char *name,
				GError **error)
{
	if (name == NULL || *name == '\0') {
		return berth_throw_null(error, INVALID_ARGUMENT,
					"empty image name");
	}
	gboolean ambiguous = FALSE;
	ImageRecord *copy = NULL;
	g_rw_lock_reader_lock(&store->index_lock);
	StoreImage *img = image_store_find_locked(store, name);
	if (img == NULL)
		img = store_find_prefix(store, name, &ambiguous);
	if (img != NULL)
		copy = image_record_copy(img->rec);
	g_rw_lock_reader_unlock(&store->index_lock);
	if (ambiguous)
		berth_throw(error, INVALID_ARGUMENT,
			    "image id prefix %s is ambiguous", name);
	else if (copy == NULL)
		berth_throw(error, NOT_FOUND, "image %s not found", name);
	return copy;
}

static gint store_cmp_records(gconstpointer a, gconstpointer b)
{
	const ImageRecord *x = *(ImageRecord *const *)a;
	const ImageRecord *y = *(ImageRecord *const *)b;
	return strcmp(x->id, y->id);
}

GPtrArray *image_store_list(ImageStore *store)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(
		(GDestroyNotify)image_record_free);
	g_rw_lock_reader_lock(&store->index_lock);
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, store->images);
	while (g_hash_table_iter_next(&it, NULL, &v))
		g_ptr_array_add(out,
				image_meta_copy(((StoreImage *)v)->rec, FALSE));
	g_rw_lock_reader_unlock(&store->index_lock);
	g_ptr_array_sort(out, store_cmp_records);
	return out;
}

void image_store_set_in_use_check(ImageStore *store, ImageInUseFunc fn,
				  void *data)
{
	g_mutex_lock(&store->op_lock);
	store->in_use = fn;
	store->in_use_data = data;
	g_mutex_unlock(&store->op_lock);
}

/* --- recovery ------------------------------------------------------------ */

/* The refs under prefix as hex → commit checksum. */
static GHashTable *store_list_refs(OstreeRepo *repo, const char *prefix,
				   GError **error)
{
	g_autoptr(GHashTable) refs = NULL;
	g_autofree char *dir = g_strndup(prefix, strlen(prefix) - 1);
	if (!ostree_repo_list_refs_ext(repo, dir, &refs,
				       OSTREE_REPO_LIST_REFS_EXT_NONE, NULL,
				       error))
		return NULL;
	GHashTable *out =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, refs);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		const char *slash = strrchr(k, '/');
		g_hash_table_insert(out, g_strdup(slash ? slash + 1 : k),
				    g_strdup(v));
	}
	return out;
}

static char *store_digest_of_hex(const char *hex)
{
	return g_strconcat(strlen(hex) == 128 ? "sha512:" : "sha256:", hex,
			   NULL);
}

/* A layer ref counts only when its commit loads and names the diff_id
 * the ref does: the ref is written last in the import's transaction, so
 * it is the layer's complete marker. */
static gboolean store_check_layer(OstreeRepo *repo, const char *hex,
				  const char *commit, guint64 *size)
{
	g_autoptr(GVariant) c = NULL;
	if (!ostree_repo_load_variant(repo, OSTREE_OBJECT_TYPE_COMMIT, commit,
				      &c, NULL))
		return FALSE;
	g_autoptr(GVariant) meta = g_variant_get_child_value(c, 0);
	const char *diff_id = NULL;
	if (!g_variant_lookup(meta, STORE_META_DIFF_ID, "&s", &diff_id) ||
	    g_strcmp0(image_store_hex(diff_id), hex) != 0)
		return FALSE;
	*size = 0;
	g_variant_lookup(meta, STORE_META_SIZE, "t", size);
	return TRUE;
}

static gboolean store_load_layers(ImageStore *store, OstreeRepo *repo,
				  gboolean *changed, GError **error)
{
	g_autoptr(GHashTable) refs =
		store_list_refs(repo, STORE_LAYER_REF_PREFIX, error);
	if (refs == NULL)
		return FALSE;
	GHashTableIter it;
	gpointer hex, commit;
	g_hash_table_iter_init(&it, refs);
	while (g_hash_table_iter_next(&it, &hex, &commit)) {
		guint64 size = 0;
		g_autofree char *diff_id = store_digest_of_hex(hex);
		if (store_check_layer(repo, hex, commit, &size)) {
			store_layer_add(store, diff_id, size);
			continue;
		}
		log_warn("layer %s: incomplete, removing", diff_id);
		g_autofree char *ref = image_layer_ref(diff_id);
		store_delete_ref(repo, ref);
		*changed = TRUE;
	}
	return TRUE;
}

static void store_load_one_image(ImageStore *store, const char *path,
				 const char *hex, GHashTable *image_refs)
{
	g_autofree char *body = NULL;
	gsize len = 0;
	g_autoptr(GError) err = NULL;
	guint64 gen = 0;
	g_autoptr(ImageRecord) rec = NULL;
	if (berth_read_file(path, &body, &len, &err))
		rec = image_meta_from_json(body, len, &gen, &err);
	const char *why = NULL;
	if (rec == NULL)
		why = err->message;
	else if (g_strcmp0(image_store_hex(rec->id), hex) != 0)
		why = "file name and id differ";
	else if (!g_hash_table_contains(image_refs, hex))
		why = "its tree was never committed";
	if (why != NULL) {
		log_warn("image store: removing %s: %s", path, why);
		unlink(path);
		return;
	}
	StoreImage *img = g_new0(StoreImage, 1);
	img->generation = gen;
	img->rec = g_steal_pointer(&rec);
	store->generation = MAX(store->generation, gen);
	g_hash_table_replace(store->images, g_strdup(img->rec->id), img);
}

static gboolean store_load_images(ImageStore *store, GHashTable *image_refs,
				  GError **error)
{
	g_autoptr(GDir) d = g_dir_open(store->images_dir, 0, NULL);
	if (d == NULL)
		return berth_throw_errno(error, errno, "open %s",
					 store->images_dir);
	const char *name;
	while ((name = g_dir_read_name(d)) != NULL) {
		g_autofree char *path =
			g_build_filename(store->images_dir, name, NULL);
		if (strstr(name, ".tmp-") != NULL) {
			unlink(path);
			continue;
		}
		if (!g_str_has_suffix(name, ".json"))
			continue;
		g_autofree char *hex = g_strndup(name, strlen(name) - 5);
		store_load_one_image(store, path, hex, image_refs);
	}
	return berth_fsync_dir(store->images_dir, error);
}

/* Image refs whose metadata never got written. */
static gboolean store_drop_bare_refs(ImageStore *store, OstreeRepo *repo,
				     GHashTable *image_refs)
{
	gboolean changed = FALSE;
	GHashTableIter it;
	gpointer hex;
	g_hash_table_iter_init(&it, image_refs);
	while (g_hash_table_iter_next(&it, &hex, NULL)) {
		g_autofree char *id = store_digest_of_hex(hex);
		if (g_hash_table_contains(store->images, id))
			continue;
		log_warn("image %s: no metadata, removing its tree", id);
		g_autofree char *ref = image_flatten_ref(id);
		store_delete_ref(repo, ref);
		changed = TRUE;
	}
	return changed;
}

static gint store_cmp_generation(gconstpointer a, gconstpointer b)
{
	const StoreImage *x = *(StoreImage *const *)a;
	const StoreImage *y = *(StoreImage *const *)b;
	return x->generation < y->generation   ? -1
	       : x->generation > y->generation ? 1
					       : 0;
}

static void store_index_names(ImageStore *store, StoreImage *img)
{
	char **lists[] = {img->rec->repo_tags, img->rec->repo_digests};
	for (gsize i = 0; i < G_N_ELEMENTS(lists); i++) {
		for (char **p = lists[i]; *p != NULL; p++)
			g_hash_table_replace(store->names, g_strdup(*p),
					     g_strdup(img->rec->id));
	}
}

/* Drop the names another image holds now; TRUE when any went. */
static gboolean store_drop_lost_names(ImageStore *store, StoreImage *img)
{
	gboolean changed = FALSE;
	char ***lists[] = {&img->rec->repo_tags, &img->rec->repo_digests};
	for (gsize i = 0; i < G_N_ELEMENTS(lists); i++) {
		g_auto(GStrv) names = g_strdupv(*lists[i]);
		for (char **p = names; *p != NULL; p++) {
			const char *owner =
				g_hash_table_lookup(store->names, *p);
			if (g_strcmp0(owner, img->rec->id) == 0)
				continue;
			char **next = image_meta_strv_remove(*lists[i], *p);
			g_strfreev(*lists[i]);
			*lists[i] = next;
			changed = TRUE;
		}
	}
	return changed;
}

/* A crash while a tag moved can leave it in two files: the later write
 * (higher generation) keeps it. */
static void store_build_names(ImageStore *store)
{
	g_autoptr(GPtrArray) all = g_ptr_array_new();
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, store->images);
	while (g_hash_table_iter_next(&it, NULL, &v))
		g_ptr_array_add(all, v);
	g_ptr_array_sort(all, store_cmp_generation);
	for (guint i = 0; i < all->len; i++)
		store_index_names(store, all->pdata[i]);
	for (guint i = 0; i < all->len; i++) {
		StoreImage *img = all->pdata[i];
		if (!store_drop_lost_names(store, img))
			continue;
		g_autoptr(GError) err = NULL;
		img->generation = ++store->generation;
		if (!image_meta_save(store, img->rec, img->generation, &err))
			log_warn("image %s: %s", img->rec->id, err->message);
	}
}

static gboolean store_has_unused_layers(ImageStore *store)
{
	g_autoptr(GHashTable) used = store_used_layers(store);
	GHashTableIter it;
	gpointer k;
	g_hash_table_iter_init(&it, store->layers);
	while (g_hash_table_iter_next(&it, &k, NULL)) {
		if (!g_hash_table_contains(used, k))
			return TRUE;
	}
	return FALSE;
}

static gboolean store_recover(ImageStore *store, GError **error)
{
	g_autoptr(OstreeRepo) repo = image_store_repo_open(store, error);
	if (repo == NULL)
		return FALSE;
	gboolean changed = FALSE;
	if (!store_load_layers(store, repo, &changed, error))
		return FALSE;
	g_autoptr(GHashTable) image_refs =
		store_list_refs(repo, STORE_IMAGE_REF_PREFIX, error);
	if (image_refs == NULL || !store_load_images(store, image_refs, error))
		return FALSE;
	changed |= store_drop_bare_refs(store, repo, image_refs);
	store_build_names(store);
	if (!image_checkout_recover(store, error))
		return FALSE;
	if (changed || store_has_unused_layers(store))
		store_prune(store);
	return TRUE;
}

/* --- open and free ---------------------------------------------------- */

static gboolean store_open_repo(ImageStore *store, GError **error)
{
	g_autoptr(OstreeRepo) repo =
		ostree_repo_create_at(AT_FDCWD, store->repo_path,
				      OSTREE_REPO_MODE_BARE, NULL, NULL, error);
	if (repo == NULL) {
		g_prefix_error(error, "create %s: ", store->repo_path);
		return FALSE;
	}
	if (ostree_repo_get_mode(repo) != OSTREE_REPO_MODE_BARE)
		return berth_throw(error, FAILED_PRECONDITION,
				   "%s: not a bare ostree repo",
				   store->repo_path);
	return TRUE;
}

static ImageStore *store_new(const char *dir)
{
	ImageStore *store = g_new0(ImageStore, 1);
	store->dir = g_strdup(dir);
	store->repo_path = g_build_filename(dir, "repo", NULL);
	store->images_dir = g_build_filename(dir, "images", NULL);
	store->checkouts_dir = g_build_filename(dir, "checkouts", NULL);
	g_rw_lock_init(&store->index_lock);
	store->images = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					      (GDestroyNotify)store_image_free);
	store->names =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_mutex_init(&store->op_lock);
	g_mutex_init(&store->repo_mu);
	g_cond_init(&store->repo_cond);
	g_mutex_init(&store->layers_mu);
	g_cond_init(&store->layers_cond);
	store->layers =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	store->importing =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	store->layer_grace_us = STORE_DEFAULT_GRACE_S * G_USEC_PER_SEC;
	g_mutex_init(&store->checkouts_mu);
	g_cond_init(&store->checkouts_cond);
	store->checkouts =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	g_mutex_init(&store->usage_mu);
	return store;
}

ImageStore *image_store_open(const char *dir, GError **error)
{
	if (!berth_mkdir_p(dir, 0700, error))
		return NULL;
	g_autofree char *real = realpath(dir, NULL);
	if (real == NULL) {
		berth_throw_errno(error, errno, "resolve %s", dir);
		return NULL;
	}
	g_autoptr(ImageStore) store = store_new(real);
	if (!berth_mkdir_p(store->images_dir, 0700, error) ||
	    !berth_mkdir_p(store->checkouts_dir, 0700, error) ||
	    !store_open_repo(store, error) || !store_recover(store, error)) {
		g_prefix_error(error, "image store %s: ", real);
		return NULL;
	}
	image_store_refresh_usage(store);
	log_info("image store %s: %u images, %u layers", real,
		 g_hash_table_size(store->images),
		 g_hash_table_size(store->layers));
	return g_steal_pointer(&store);
}

void image_store_free(ImageStore *store)
{
	if (store == NULL)
		return;
	g_hash_table_unref(store->images);
	g_hash_table_unref(store->names);
	g_hash_table_unref(store->layers);
	g_hash_table_unref(store->importing);
	g_hash_table_unref(store->checkouts);
	g_rw_lock_clear(&store->index_lock);
	g_mutex_clear(&store->op_lock);
	g_mutex_clear(&store->repo_mu);
	g_cond_clear(&store->repo_cond);
	g_mutex_clear(&store->layers_mu);
	g_cond_clear(&store->layers_cond);
	g_mutex_clear(&store->checkouts_mu);
	g_cond_clear(&store->checkouts_cond);
	g_mutex_clear(&store->usage_mu);
	image_fs_usage_clear(&store->usage);
	g_free(store->dir);
	g_free(store->repo_path);
	g_free(store->images_dir);
	g_free(store->checkouts_dir);
	g_free(store);
}
