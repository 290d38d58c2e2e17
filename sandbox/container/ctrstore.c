/* The container store: what the generic store needs to know of a
 * container. */
#include "sandbox/container/ctrstore.h"

static const char *ops_id(gpointer c)
{
	return ((Container *)c)->id;
}

static const char *ops_name(gpointer c)
{
	return ((Container *)c)->full_name;
}

static gpointer ops_ref(gpointer c)
{
	return container_ref(c);
}

static void ops_unref(gpointer c)
{
	container_unref(c);
}

/* One being made is never found; one being removed is, so that a second
 * RemoveContainer waits for the first. */
static gboolean ops_visible(gpointer c)
{
	return container_get_state(c) != CTR_CREATING;
}

static char *ops_to_json(gpointer obj)
{
	Container *c = obj;
	g_mutex_lock(&c->lock);
	char *text = container_to_json(c);
	g_mutex_unlock(&c->lock);
	return text;
}

static gpointer ops_from_json(const char *text, gsize len, GError **error)
{
	return container_from_json(text, len, error);
}

static gint64 ops_created_at(gpointer c)
{
	return ((Container *)c)->created_at;
}

static const StoreOps ctr_store_ops = {
	.index =
		{
			.what = "container",
			.id = ops_id,
			.name = ops_name,
			.ref = ops_ref,
			.unref = ops_unref,
			.visible = ops_visible,
		},
	.record = "container.json",
	.to_json = ops_to_json,
	.from_json = ops_from_json,
	.created_at = ops_created_at,
};

Store *ctr_store_new(const char *dir, GError **error)
{
	return store_new(&ctr_store_ops, dir, error);
}
