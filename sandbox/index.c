/* The generic object index behind the pod and container stores. */
#include "sandbox/index.h"
#include "util/error.h"
#include "util/log.h"

#include <string.h>

#define MAX_TOMBSTONES 4096

struct Index {
	IndexOps ops;
	GRWLock lock;
	GHashTable *by_id;   /* id -> obj (ref) */
	GHashTable *by_name; /* name -> obj (borrowed from by_id) */
	GHashTable *removed; /* ids dropped in this run */
	GQueue removed_order;
};

static void index_unref_obj(Index *ix, gpointer obj)
{
	ix->ops.unref(obj);
}

Index *index_new(const IndexOps *ops)
{
	Index *ix = g_new0(Index, 1);
	ix->ops = *ops;
	g_rw_lock_init(&ix->lock);
	ix->by_id = g_hash_table_new(g_str_hash, g_str_equal);
	ix->by_name = g_hash_table_new(g_str_hash, g_str_equal);
	ix->removed =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_queue_init(&ix->removed_order);
	return ix;
}

void index_free(Index *ix)
{
	if (ix == NULL)
		return;
	GHashTableIter it;
	gpointer obj;
	g_hash_table_iter_init(&it, ix->by_id);
	while (g_hash_table_iter_next(&it, NULL, &obj))
		index_unref_obj(ix, obj);
	g_hash_table_unref(ix->by_name);
	g_hash_table_unref(ix->by_id);
	g_queue_clear(&ix->removed_order);
	g_hash_table_unref(ix->removed);
	g_rw_lock_clear(&ix->lock);
	g_free(ix);
}

gboolean index_reserve(Index *ix, gpointer obj, gpointer *holder)
{
	const char *name = ix->ops.name(obj);
	g_rw_lock_writer_lock(&ix->lock);
	gpointer h = g_hash_table_lookup(ix->by_name, name);
	if (h != NULL) {
		*holder = ix->ops.ref(h);
		g_rw_lock_writer_unlock(&ix->lock);
		return FALSE;
	}
	g_hash_table_insert(ix->by_id, (gpointer)ix->ops.id(obj),
			    ix->ops.ref(obj));
	g_hash_table_insert(ix->by_name, (gpointer)name, obj);
	g_rw_lock_writer_unlock(&ix->lock);
	return TRUE;
}

void index_add(Index *ix, gpointer obj)
{
	gpointer h = NULL;
	if (index_reserve(ix, obj, &h))
		return;
	/* Two records with one name cannot come from berth; keep the first
	 * and index the second by id only. */
	log_warn("%s %s: name %s already used by %s", ix->ops.what,
		 ix->ops.id(obj), ix->ops.name(obj), ix->ops.id(h));
	ix->ops.unref(h);
	g_rw_lock_writer_lock(&ix->lock);
	g_hash_table_insert(ix->by_id, (gpointer)ix->ops.id(obj),
			    ix->ops.ref(obj));
	g_rw_lock_writer_unlock(&ix->lock);
}

void index_forget(Index *ix, gpointer obj)
{
	const char *id = ix->ops.id(obj);
	const char *name = ix->ops.name(obj);
	g_rw_lock_writer_lock(&ix->lock);
	if (g_hash_table_lookup(ix->by_name, name) == obj)
		g_hash_table_remove(ix->by_name, name);
	if (!g_hash_table_contains(ix->removed, id)) {
		char *copy = g_strdup(id);
		g_hash_table_add(ix->removed, copy);
		g_queue_push_tail(&ix->removed_order, copy);
		if (g_queue_get_length(&ix->removed_order) > MAX_TOMBSTONES)
			g_hash_table_remove(
				ix->removed,
				g_queue_pop_head(&ix->removed_order));
	}
	gpointer held = g_hash_table_lookup(ix->by_id, id);
	if (held == obj)
		g_hash_table_remove(ix->by_id, id);
	g_rw_lock_writer_unlock(&ix->lock);
	if (held == obj)
		index_unref_obj(ix, obj); /* the index's ref, last */
}

gboolean index_was_removed(Index *ix, const char *id)
{
	g_rw_lock_reader_lock(&ix->lock);
	gboolean r = g_hash_table_contains(ix->removed, id);
	g_rw_lock_reader_unlock(&ix->lock);
	return r;
}

gpointer index_lookup(Index *ix, const char *id, GError **error)
{
	if (id == NULL || id[0] == '\0') {
		return berth_throw_null(error, INVALID_ARGUMENT,
					"%s id is empty", ix->ops.what);
	}
	g_rw_lock_reader_lock(&ix->lock);
	gpointer found = g_hash_table_lookup(ix->by_id, id);
	guint matches = found && ix->ops.visible(found) ? 1 : 0;
	if (found == NULL) {
		gsize n = strlen(id);
		GHashTableIter it;
		gpointer key, value;
		g_hash_table_iter_init(&it, ix->by_id);
		while (g_hash_table_iter_next(&it, &key, &value)) {
			if (strncmp(key, id, n) == 0 &&
			    ix->ops.visible(value)) {
				found = value;
				matches++;
			}
		}
	}
	if (matches == 1)
		ix->ops.ref(found);
	g_rw_lock_reader_unlock(&ix->lock);
	if (matches == 1)
		return found;
	if (matches > 1)
		berth_throw(error, INVALID_ARGUMENT,
			    "%s id prefix %s matches %u; give more of the id",
			    ix->ops.what, id, matches);
	else
		berth_throw(error, NOT_FOUND, "%s %s not found", ix->ops.what,
			    id);
	return NULL;
}

GPtrArray *index_list(Index *ix, GCompareDataFunc cmp, gpointer data)
{
	return index_list_where(ix, NULL, NULL, cmp, data);
}

GPtrArray *index_list_where(Index *ix, IndexKeep keep, gconstpointer keep_data,
			    GCompareDataFunc cmp, gpointer data)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(ix->ops.unref);
	g_rw_lock_reader_lock(&ix->lock);
	GHashTableIter it;
	gpointer value;
	g_hash_table_iter_init(&it, ix->by_id);
	while (g_hash_table_iter_next(&it, NULL, &value))
		if (keep == NULL || keep(value, keep_data))
			g_ptr_array_add(out, ix->ops.ref(value));
	g_rw_lock_reader_unlock(&ix->lock);
	if (cmp != NULL)
		g_ptr_array_sort_with_data(out, cmp, data);
	return out;
}

guint index_count(Index *ix)
{
	g_rw_lock_reader_lock(&ix->lock);
	guint n = g_hash_table_size(ix->by_id);
	g_rw_lock_reader_unlock(&ix->lock);
	return n;
}
