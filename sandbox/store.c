/* The store behind pods and containers: the index plus one record per
 * object under <dir>/<id>/. */
#include "sandbox/store.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/ids.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

struct Store {
	StoreOps ops;
	char *dir;
	Index *index;
};

Store *store_new(const StoreOps *ops, const char *dir, GError **error)
{
	if (!berth_mkdir_p(dir, 0700, error))
		return NULL;
	Store *s = g_new0(Store, 1);
	s->ops = *ops;
	s->dir = g_strdup(dir);
	s->index = index_new(&ops->index);
	return s;
}

void store_free(Store *s)
{
	if (s == NULL)
		return;
	index_free(s->index);
	g_free(s->dir);
	g_free(s);
}

char *store_dir_of(Store *s, const char *id)
{
	return g_build_filename(s->dir, id, NULL);
}

/* The object recorded in <dir>/<name>, or NULL (logged). */
static gpointer read_one(Store *s, const char *name)
{
	const char *what = s->ops.index.what;
	g_autofree char *dir = store_dir_of(s, name);
	g_autofree char *path = g_build_filename(dir, s->ops.record, NULL);
	g_autofree char *text = NULL;
	gsize len = 0;
	g_autoptr(GError) error = NULL;
	if (!berth_read_file(path, &text, &len, &error)) {
		/* Its creation died before the first write: nothing else
		 * can exist yet. */
		log_warn("%s %s has no record (%s): removing", what, name,
			 error->message);
		berth_rm_rf(dir, NULL);
		return NULL;
	}
	gpointer obj = s->ops.from_json(text, len, &error);
	if (obj != NULL && strcmp(s->ops.index.id(obj), name) != 0) {
		s->ops.index.unref(obj);
		obj = NULL;
		berth_throw(&error, DATA_LOSS, "its id is not %s", name);
	}
	if (obj == NULL)
		log_error("%s record %s is unreadable: %s", what, path,
			  error->message);
	return obj;
}

GPtrArray *store_read_all(Store *s)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(s->ops.index.unref);
	g_autoptr(GDir) d = g_dir_open(s->dir, 0, NULL);
	const char *name;
	while (d && (name = g_dir_read_name(d)) != NULL) {
		if (!berth_is_id(name))
			continue;
		gpointer obj = read_one(s, name);
		if (obj != NULL)
			g_ptr_array_add(out, obj);
	}
	return out;
}

gboolean store_save(Store *s, gpointer obj, GError **error)
{
	g_autofree char *dir = store_dir_of(s, s->ops.index.id(obj));
	g_autofree char *path = g_build_filename(dir, s->ops.record, NULL);
	if (!berth_mkdir_p(dir, 0700, error))
		return FALSE;
	g_autofree char *text = s->ops.to_json(obj);
	return berth_write_file_atomic(path, text, strlen(text), 0600, error);
}

gboolean store_save_unless_full(Store *s, gpointer obj, GError **error)
{
	g_autoptr(GError) local = NULL;
	if (store_save(s, obj, &local))
		return TRUE;
	if (berth_error_code(local) == BERTH_ERROR_RESOURCE_EXHAUSTED) {
		log_warn("%s %s: going on without its record: %s",
			 s->ops.index.what, s->ops.index.id(obj),
			 local->message);
		return TRUE;
	}
	g_propagate_error(error, g_steal_pointer(&local));
	return FALSE;
}

gboolean store_delete(Store *s, const char *id, GError **error)
{
	g_autofree char *dir = store_dir_of(s, id);
	g_autofree char *record = g_build_filename(dir, s->ops.record, NULL);
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;
	while (d && (name = g_dir_read_name(d)) != NULL) {
		if (strcmp(name, s->ops.record) == 0)
			continue;
		g_autofree char *path = g_build_filename(dir, name, NULL);
		if (!berth_rm_rf(path, error))
			return FALSE;
	}
	if (unlink(record) < 0 && errno != ENOENT)
		return berth_throw_errno(error, errno, "remove %s", record);
	if (rmdir(dir) < 0 && errno != ENOENT)
		return berth_throw_errno(error, errno, "remove %s", dir);
	return TRUE;
}

gboolean store_reserve(Store *s, gpointer obj, gpointer *holder)
{
	return index_reserve(s->index, obj, holder);
}

gboolean store_reserve_attempt(Store *s, gpointer obj, StoreClaim claim,
			       gpointer *first, GError **error)
{
	const IndexOps *o = &s->ops.index;
	*first = NULL;
	for (;;) {
		gpointer holder = NULL;
		if (store_reserve(s, obj, &holder))
			return TRUE;
		AttemptVerdict v = claim(obj, holder);
		if (v == ATTEMPT_HAND_OVER) {
			log_info("%s %s: handing the first attempt of %s to "
				 "its retry",
				 o->what, o->id(holder), o->name(holder));
			*first = holder;
			return TRUE;
		}
		if (v == ATTEMPT_NAME_TAKEN)
			berth_throw(error, ALREADY_EXISTS,
				    "%s name %s is already used by %s %s",
				    o->what, o->name(obj), o->what,
				    o->id(holder));
		o->unref(holder);
		if (v == ATTEMPT_NAME_TAKEN)
			return FALSE;
	}
}

void store_add(Store *s, gpointer obj)
{
	index_add(s->index, obj);
}

void store_forget(Store *s, gpointer obj)
{
	index_forget(s->index, obj);
}

gpointer store_lookup(Store *s, const char *id, GError **error)
{
	return index_lookup(s->index, id, error);
}

gboolean store_lookup_idempotent(Store *s, const char *id, gpointer *out,
				 GError **error)
{
	g_autoptr(GError) local = NULL;
	*out = index_lookup(s->index, id, &local);
	if (*out != NULL ||
	    g_error_matches(local, BERTH_ERROR, BERTH_ERROR_NOT_FOUND))
		return TRUE;
	g_propagate_error(error, g_steal_pointer(&local));
	return FALSE;
}

gboolean store_was_removed(Store *s, const char *id)
{
	return index_was_removed(s->index, id);
}

static gint by_created(gconstpointer a, gconstpointer b, gpointer data)
{
	const Store *s = data;
	gint64 x = s->ops.created_at(*(gpointer const *)a);
	gint64 y = s->ops.created_at(*(gpointer const *)b);
	return (x > y) - (x < y);
}

GPtrArray *store_list(Store *s)
{
	return index_list(s->index, by_created, s);
}

GPtrArray *store_list_where(Store *s, IndexKeep keep, gconstpointer data)
{
	return index_list_where(s->index, keep, data, by_created, s);
}

guint store_count(Store *s)
{
	return index_count(s->index);
}
