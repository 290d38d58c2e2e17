/* The pod store: what the generic store needs to know of a pod. */
#include "sandbox/pod/podstore.h"

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

static char *ops_to_json(gpointer obj)
{
	Pod *p = obj;
	g_mutex_lock(&p->lock);
	char *text = pod_to_json(p);
	g_mutex_unlock(&p->lock);
	return text;
}

static gpointer ops_from_json(const char *text, gsize len, GError **error)
{
	return pod_from_json(text, len, error);
}

static gint64 ops_created_at(gpointer p)
{
	return ((Pod *)p)->created_at;
}

static const StoreOps pod_store_ops = {
	.index =
		{
			.what = "pod sandbox",
			.id = ops_id,
			.name = ops_name,
			.ref = ops_ref,
			.unref = ops_unref,
			.visible = ops_visible,
		},
	.record = "pod.json",
	.to_json = ops_to_json,
	.from_json = ops_from_json,
	.created_at = ops_created_at,
};

Store *pod_store_new(const char *dir, GError **error)
{
	return store_new(&pod_store_ops, dir, error);
}
