/* Committing and removing images: the flattened tree, the metadata file,
 * and the name index (tags and repo digests, which move between images).
 *
 * Crash safety rests on write order. Commit: tree and ref (one ostree
 * transaction), then this image's metadata, then the metadata of images
 * that lost a name to it. Remove: metadata first, then the ref. Open
 * (store.c) drops a ref without metadata and metadata without a ref, and
 * gives a name found in two files to the one written last. */
#include "image/store-private.h"
#include "util/error.h"
#include "util/log.h"

#include <string.h>

static gboolean image_layers_stored(ImageStore *store, char *const *diff_ids,
				    guint64 *size, GError **error)
{
	gboolean ok = TRUE;
	*size = 0;
	g_mutex_lock(&store->layers_mu);
	for (char *const *p = diff_ids; p != NULL && *p != NULL && ok; p++) {
		StoreLayer *l = g_hash_table_lookup(store->layers, *p);
		if (l == NULL)
			ok = berth_throw(error, NOT_FOUND,
					 "layer %s is not stored", *p);
		else
			*size += l->size;
	}
	g_mutex_unlock(&store->layers_mu);
	return ok;
}

static char **image_strv_union(char **a, char **b)
{
	g_auto(GStrv) acc = g_strdupv(a);
	for (char **p = b; p != NULL && *p != NULL; p++) {
		char **next = image_meta_strv_add(acc, *p);
		g_strfreev(acc);
		acc = next;
	}
	return g_steal_pointer(&acc);
}

/* rec over cur: names merge, the rest of rec wins where it says anything. */
static void image_merge(ImageRecord *next, const ImageRecord *cur)
{
	char **tags = image_strv_union(cur->repo_tags, next->repo_tags);
	char **digests =
		image_strv_union(cur->repo_digests, next->repo_digests);
	g_strfreev(next->repo_tags);
	g_strfreev(next->repo_digests);
	next->repo_tags = tags;
	next->repo_digests = digests;
	if (next->manifest_digest == NULL)
		next->manifest_digest = g_strdup(cur->manifest_digest);
	if (next->config_json == NULL)
		next->config_json = g_strdup(cur->config_json);
	if (next->user == NULL)
		next->user = g_strdup(cur->user);
	if (g_hash_table_size(next->annotations) == 0) {
		g_hash_table_unref(next->annotations);
		next->annotations = g_hash_table_ref(cur->annotations);
	}
	if (next->size == 0)
		next->size = cur->size;
	g_strfreev(next->diff_ids);
	next->diff_ids = g_strdupv(cur->diff_ids);
	next->created_ns = cur->created_ns;
}

/* The images that lose a name to next, as id → their record without
 * it (copies: readers may hold the index's records). */
static GHashTable *image_losers(ImageStore *store, const ImageRecord *next)
{
	GHashTable *losers =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
				      (GDestroyNotify)image_record_free);
	char **lists[] = {next->repo_tags, next->repo_digests};
	for (gsize i = 0; i < G_N_ELEMENTS(lists); i++) {
		for (char **p = lists[i]; *p != NULL; p++) {
			const char *owner =
				g_hash_table_lookup(store->names, *p);
			if (owner == NULL || strcmp(owner, next->id) == 0)
				continue;
			ImageRecord *r = g_hash_table_lookup(losers, owner);
			if (r == NULL) {
				StoreImage *o = g_hash_table_lookup(
					store->images, owner);
				r = image_record_copy(o->rec);
				g_hash_table_insert(losers, g_strdup(owner), r);
			}
			char **tags = image_meta_strv_remove(r->repo_tags, *p);
			char **digs =
				image_meta_strv_remove(r->repo_digests, *p);
			g_strfreev(r->repo_tags);
			g_strfreev(r->repo_digests);
			r->repo_tags = tags;
			r->repo_digests = digs;
			log_info("image %s: %s moves to %s", owner, *p,
				 next->id);
		}
	}
	return losers;
}

/* Rewrite the losers' metadata after next's own: should this fail or
 * crash, open gives each name to the later write, which is next's. */
static void image_save_losers(ImageStore *store, GHashTable *losers,
			      GHashTable *generations)
{
	GHashTableIter it;
	gpointer id, rec;
	g_hash_table_iter_init(&it, losers);
	while (g_hash_table_iter_next(&it, &id, &rec)) {
		guint64 *gen = g_new(guint64, 1);
		*gen = ++store->generation;
		g_hash_table_insert(generations, g_strdup(id), gen);
		g_autoptr(GError) err = NULL;
		if (!image_meta_save(store, rec, *gen, &err))
			log_warn("image %s: %s", (char *)id, err->message);
	}
}

static void image_index_put(ImageStore *store, ImageRecord *next,
			    guint64 generation, GHashTable *losers,
			    GHashTable *generations)
{
	g_rw_lock_writer_lock(&store->index_lock);
	GHashTableIter it;
	gpointer id, rec;
	g_hash_table_iter_init(&it, losers);
	while (g_hash_table_iter_next(&it, &id, &rec)) {
		StoreImage *o = g_hash_table_lookup(store->images, id);
		image_record_free(o->rec);
		o->rec = rec;
		o->generation =
			*(guint64 *)g_hash_table_lookup(generations, id);
		g_hash_table_iter_steal(&it);
		g_free(id);
	}
	char **lists[] = {next->repo_tags, next->repo_digests};
	for (gsize i = 0; i < G_N_ELEMENTS(lists); i++) {
		for (char **p = lists[i]; *p != NULL; p++)
			g_hash_table_replace(store->names, g_strdup(*p),
					     g_strdup(next->id));
	}
	StoreImage *img = g_new0(StoreImage, 1);
	img->rec = next;
	img->generation = generation;
	g_hash_table_replace(store->images, g_strdup(next->id), img);
	g_rw_lock_writer_unlock(&store->index_lock);
}

static void image_drop_ref(ImageStore *store, const char *id)
{
	g_autoptr(GError) err = NULL;
	g_autoptr(OstreeRepo) repo = image_store_repo_open(store, &err);
	g_autofree char *ref = image_flatten_ref(id);
	if (repo == NULL ||
	    !ostree_repo_set_ref_immediate(repo, NULL, ref, NULL, NULL, &err))
		log_warn("image %s: delete ref: %s", id, err->message);
}

static gboolean image_commit_locked(ImageStore *store, const ImageRecord *rec,
				    GError **error)
{
	StoreImage *cur = g_hash_table_lookup(store->images, rec->id);
	g_autoptr(ImageRecord) next = image_record_copy(rec);
	if (cur != NULL) {
		image_merge(next, cur->rec);
	} else {
		guint64 size = 0;
		if (!image_layers_stored(store, rec->diff_ids, &size, error) ||
		    !image_flatten_commit(store, rec->id, rec->diff_ids, error))
			return FALSE;
		if (next->size == 0)
			next->size = size;
		if (next->created_ns == 0)
			next->created_ns = g_get_real_time() * 1000;
	}
	guint64 generation = store->generation + 1;
	if (!image_meta_save(store, next, generation, error)) {
		if (cur == NULL)
			image_drop_ref(store, rec->id);
		return FALSE;
	}
	store->generation = generation;
	image_store_unclaim_layers(store, next->diff_ids);
	log_info("image %s: %s", rec->id, cur ? "updated" : "stored");
	g_autoptr(GHashTable) losers = image_losers(store, next);
	g_autoptr(GHashTable) generations =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	image_save_losers(store, losers, generations);
	image_index_put(store, g_steal_pointer(&next), generation, losers,
			generations);
	return TRUE;
}

gboolean image_store_commit_image(ImageStore *store, const ImageRecord *rec,
				  GError **error)
{
	if (!image_meta_validate(rec, error))
		return FALSE;
	image_store_repo_enter(store);
	g_mutex_lock(&store->op_lock);
	gboolean ok = image_commit_locked(store, rec, error);
	g_mutex_unlock(&store->op_lock);
	image_store_repo_leave(store);
	if (ok)
		image_store_refresh_usage(store);
	return ok;
}

static void image_index_drop(ImageStore *store, const char *id)
{
	g_rw_lock_writer_lock(&store->index_lock);
	StoreImage *img = g_hash_table_lookup(store->images, id);
	char **lists[] = {img->rec->repo_tags, img->rec->repo_digests};
	for (gsize i = 0; i < G_N_ELEMENTS(lists); i++) {
		for (char **p = lists[i]; *p != NULL; p++)
			g_hash_table_remove(store->names, *p);
	}
	g_hash_table_remove(store->images, id);
	g_rw_lock_writer_unlock(&store->index_lock);
}

static gboolean image_remove_locked(ImageStore *store, const char *name,
				    GError **error)
{
	StoreImage *img = image_store_find_locked(store, name);
	if (img == NULL)
		return TRUE;
	g_autofree char *id = g_strdup(img->rec->id);
	if (store->in_use != NULL && store->in_use(id, store->in_use_data))
		return berth_throw(error, FAILED_PRECONDITION,
				   "image %s is in use by a container", id);
	if (!image_meta_delete(store, id, error))
		return FALSE;
	image_index_drop(store, id);
	image_drop_ref(store, id);
	image_checkout_forget(store, id);
	g_mutex_lock(&store->repo_mu);
	store->prune_pending = TRUE;
	g_mutex_unlock(&store->repo_mu);
	log_info("image %s: removed", id);
	return TRUE;
}

gboolean image_store_remove(ImageStore *store, const char *name, GError **error)
{
	if (name == NULL || *name == '\0')
		return berth_throw(error, INVALID_ARGUMENT, "empty image name");
	image_store_repo_enter(store);
	g_mutex_lock(&store->op_lock);
	gboolean ok = image_remove_locked(store, name, error);
	g_mutex_unlock(&store->op_lock);
	image_store_repo_leave(store);
	image_store_refresh_usage(store);
	return ok;
}
