/* The pod index and the pod records on disk. */
#include "sandbox/pod/podstore.h"
#include "sandbox/index.h"
#include "util/error.h"
#include "util/fs.h"
#include "util/ids.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

struct PodStore {
	char *dir;
	Index *index;
};

static const char *ops_id(gpointer p)
{
	return ((Pod *)p)->id;
}

static const char *ops_name(gpointer p)
{
	return ((Pod *)p)->full_name;
}

static gpointer ops_ref(gpointer p)
{
	return pod_ref(p);
}

static void ops_unref(gpointer p)
{
	pod_unref(p);
}

static gboolean ops_visible(gpointer p)
{
	return pod_get_state(p) != POD_CREATING;
}

static const IndexOps pod_index_ops = {
	.what = "pod sandbox",
	.id = ops_id,
	.name = ops_name,
	.ref = ops_ref,
	.unref = ops_unref,
	.visible = ops_visible,
};

PodStore *pod_store_new(const char *dir, GError **error)
{
	if (!berth_mkdir_p(dir, 0700, error))
		return NULL;
	PodStore *s = g_new0(PodStore, 1);
	s->dir = g_strdup(dir);
	s->index = index_new(&pod_index_ops);
	return s;
}

void pod_store_free(PodStore *s)
{
	if (s == NULL)
		return;
	index_free(s->index);
	g_free(s->dir);
	g_free(s);
}

char *pod_store_pod_dir(PodStore *s, const char *id)
{
	return g_build_filename(s->dir, id, NULL);
}

GPtrArray *pod_store_read_all(PodStore *s)
{
	GPtrArray *out =
		g_ptr_array_new_with_free_func((GDestroyNotify)pod_unref);
	g_autoptr(GDir) d = g_dir_open(s->dir, 0, NULL);
	const char *name;
	while (d && (name = g_dir_read_name(d)) != NULL) {
		if (!berth_is_id(name))
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
	return index_reserve(s->index, p, (gpointer *)holder);
}

void pod_store_add(PodStore *s, Pod *p)
{
	index_add(s->index, p);
}

void pod_store_forget(PodStore *s, Pod *p)
{
	index_forget(s->index, p);
}

gboolean pod_store_was_removed(PodStore *s, const char *id)
{
	return index_was_removed(s->index, id);
}

Pod *pod_store_lookup(PodStore *s, const char *id, GError **error)
{
	return index_lookup(s->index, id, error);
}

static gint by_created(gconstpointer a, gconstpointer b)
{
	const Pod *x = *(Pod *const *)a, *y = *(Pod *const *)b;
	return (x->created_at > y->created_at) -
	       (x->created_at < y->created_at);
}

GPtrArray *pod_store_list(PodStore *s)
{
	return index_list(s->index, by_created);
}

guint pod_store_count(PodStore *s)
{
	return index_count(s->index);
}
