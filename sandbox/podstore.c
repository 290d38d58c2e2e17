/* The pod index and the pod records on disk. */
#include "sandbox/podstore.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define MAX_TOMBSTONES 4096

struct PodStore {
	char *dir;
	GRWLock lock;
	GHashTable *by_id;   /* id -> Pod* (ref) */
	GHashTable *by_name; /* full name -> Pod* (borrowed from by_id) */
	GHashTable *removed; /* ids removed in this run */
	GQueue removed_order;
};

PodStore *pod_store_new(const char *dir, GError **error)
{
	if (!berth_mkdir_p(dir, 0700, error))
		return NULL;
	PodStore *s = g_new0(PodStore, 1);
	s->dir = g_strdup(dir);
	g_rw_lock_init(&s->lock);
	s->by_id = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					 (GDestroyNotify)pod_unref);
	s->by_name = g_hash_table_new(g_str_hash, g_str_equal);
	s->removed =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	g_queue_init(&s->removed_order);
	return s;
}

void pod_store_free(PodStore *s)
{
	if (s == NULL)
		return;
	g_hash_table_unref(s->by_name);
	g_hash_table_unref(s->by_id);
	g_queue_clear(&s->removed_order);
	g_hash_table_unref(s->removed);
	g_rw_lock_clear(&s->lock);
	g_free(s->dir);
	g_free(s);
}

char *pod_store_pod_dir(PodStore *s, const char *id)
{
	return g_build_filename(s->dir, id, NULL);
}

static gboolean is_pod_id(const char *s)
{
	if (strlen(s) != 64)
		return FALSE;
	for (const char *p = s; *p; p++) {
		if (!g_ascii_isxdigit(*p) || g_ascii_isupper(*p))
			return FALSE;
	}
	return TRUE;
}

GPtrArray *pod_store_read_all(PodStore *s)
{
	GPtrArray *out =
		g_ptr_array_new_with_free_func((GDestroyNotify)pod_unref);
	g_autoptr(GDir) d = g_dir_open(s->dir, 0, NULL);
	const char *name;
	while (d && (name = g_dir_read_name(d)) != NULL) {
		if (!is_pod_id(name))
			continue;
		g_autofree char *path =
			g_build_filename(s->dir, name, "pod.json", NULL);
		g_autofree char *text = NULL;
		gsize len = 0;
		g_autoptr(GError) error = NULL;
		if (!berth_read_file(path, &text, &len, &error)) {
			/* A dir without a record: creation died before its
			 * first write. Nothing else can exist yet. */
			log_warn("pod %s has no record (%s): removing", name,
				 error->message);
			g_autofree char *dir = pod_store_pod_dir(s, name);
			berth_rm_rf(dir, NULL);
			continue;
		}
		Pod *p = pod_from_json(text, len, &error);
		if (p == NULL || strcmp(p->id, name) != 0) {
			log_error("pod record %s is unreadable: %s", path,
				  p ? "id mismatch" : error->message);
			if (p)
				pod_unref(p);
			continue;
		}
		g_ptr_array_add(out, p);
	}
	return out;
}

gboolean pod_store_save(PodStore *s, Pod *p, GError **error)
{
	g_autofree char *dir = pod_store_pod_dir(s, p->id);
	g_autofree char *path = g_build_filename(dir, "pod.json", NULL);
	if (!berth_mkdir_p(dir, 0700, error))
		return FALSE;
	g_mutex_lock(&p->lock);
	g_autofree char *text = pod_to_json(p);
	g_mutex_unlock(&p->lock);
	return berth_write_file_atomic(path, text, strlen(text), 0600, error);
}

gboolean pod_store_delete(PodStore *s, const char *id, GError **error)
{
	g_autofree char *dir = pod_store_pod_dir(s, id);
	g_autofree char *record = g_build_filename(dir, "pod.json", NULL);
	/* Everything but the record first, so a crash half-way still finds
	 * the record (state removing) and finishes the job. */
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	const char *name;
	while (d && (name = g_dir_read_name(d)) != NULL) {
		if (strcmp(name, "pod.json") == 0)
			continue;
		g_autofree char *path = g_build_filename(dir, name, NULL);
		if (!berth_rm_rf(path, error))
			return FALSE;
	}
	if (unlink(record) < 0 && errno != ENOENT)
		return berth_throw_errno(error, errno, "remove %s", record);
	if (rmdir(dir) < 0 && errno != ENOENT)
		return berth_throw_errno(error, errno, "remove %s", dir);
	return berth_fsync_dir(s->dir, error);
}

gboolean pod_store_reserve(PodStore *s, Pod *p, Pod **holder)
{
	g_rw_lock_writer_lock(&s->lock);
	Pod *h = g_hash_table_lookup(s->by_name, p->full_name);
	if (h != NULL) {
		*holder = pod_ref(h);
		g_rw_lock_writer_unlock(&s->lock);
		return FALSE;
	}
	g_hash_table_insert(s->by_id, p->id, pod_ref(p));
	g_hash_table_insert(s->by_name, p->full_name, p);
	g_rw_lock_writer_unlock(&s->lock);
	return TRUE;
}

void pod_store_add(PodStore *s, Pod *p)
{
	Pod *h = NULL;
	if (!pod_store_reserve(s, p, &h)) {
		/* Two records with one name cannot come from berth; keep the
		 * first and index the second by id only. */
		log_warn("pod %s: name %s already used by %s", p->id,
			 p->full_name, h->id);
		pod_unref(h);
		g_rw_lock_writer_lock(&s->lock);
		g_hash_table_insert(s->by_id, p->id, pod_ref(p));
		g_rw_lock_writer_unlock(&s->lock);
	}
}

void pod_store_forget(PodStore *s, Pod *p)
{
	g_rw_lock_writer_lock(&s->lock);
	if (g_hash_table_lookup(s->by_name, p->full_name) == p)
		g_hash_table_remove(s->by_name, p->full_name);
	if (!g_hash_table_contains(s->removed, p->id)) {
		char *id = g_strdup(p->id);
		g_hash_table_add(s->removed, id);
		g_queue_push_tail(&s->removed_order, id);
		if (g_queue_get_length(&s->removed_order) > MAX_TOMBSTONES)
			g_hash_table_remove(
				s->removed,
				g_queue_pop_head(&s->removed_order));
	}
	g_hash_table_remove(s->by_id, p->id); /* drops the index ref last */
	g_rw_lock_writer_unlock(&s->lock);
}

gboolean pod_store_was_removed(PodStore *s, const char *id)
{
	g_rw_lock_reader_lock(&s->lock);
	gboolean r = g_hash_table_contains(s->removed, id);
	g_rw_lock_reader_unlock(&s->lock);
	return r;
}

static gboolean visible(Pod *p)
{
	return pod_get_state(p) != POD_CREATING;
}

Pod *pod_store_lookup(PodStore *s, const char *id, GError **error)
{
	if (id == NULL || id[0] == '\0') {
		g_set_error(error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
			    "pod sandbox id is empty");
		return NULL;
	}
	g_rw_lock_reader_lock(&s->lock);
	Pod *found = g_hash_table_lookup(s->by_id, id);
	guint matches = found && visible(found) ? 1 : 0;
	if (found == NULL) {
		gsize n = strlen(id);
		GHashTableIter it;
		gpointer key, value;
		g_hash_table_iter_init(&it, s->by_id);
		while (g_hash_table_iter_next(&it, &key, &value)) {
			if (strncmp(key, id, n) == 0 && visible(value)) {
				found = value;
				matches++;
			}
		}
	}
	if (matches == 1)
		pod_ref(found);
	g_rw_lock_reader_unlock(&s->lock);
	if (matches == 1)
		return found;
	if (matches > 1)
		g_set_error(error, BERTH_ERROR, BERTH_ERROR_INVALID_ARGUMENT,
			    "pod sandbox id prefix %s matches %u pods; give "
			    "more of the id",
			    id, matches);
	else
		g_set_error(error, BERTH_ERROR, BERTH_ERROR_NOT_FOUND,
			    "pod sandbox %s not found", id);
	return NULL;
}

static gint by_created(gconstpointer a, gconstpointer b)
{
	const Pod *x = *(Pod *const *)a, *y = *(Pod *const *)b;
	return (x->created_at > y->created_at) -
	       (x->created_at < y->created_at);
}

GPtrArray *pod_store_list(PodStore *s)
{
	GPtrArray *out =
		g_ptr_array_new_with_free_func((GDestroyNotify)pod_unref);
	g_rw_lock_reader_lock(&s->lock);
	GHashTableIter it;
	gpointer value;
	g_hash_table_iter_init(&it, s->by_id);
	while (g_hash_table_iter_next(&it, NULL, &value))
		g_ptr_array_add(out, pod_ref(value));
	g_rw_lock_reader_unlock(&s->lock);
	g_ptr_array_sort(out, by_created);
	return out;
}

guint pod_store_count(PodStore *s)
{
	g_rw_lock_reader_lock(&s->lock);
	guint n = g_hash_table_size(s->by_id);
	g_rw_lock_reader_unlock(&s->lock);
	return n;
}
