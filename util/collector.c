/* A keyed cache refreshed on a period; see collector.h. */
#include "util/collector.h"

typedef struct {
	gpointer value;	 /* NULL until first read */
	gint64 asked_at; /* monotonic */
	GDestroyNotify free_value;
} Entry;

struct Collector {
	char *name;
	CollectorOps ops;
	gint64 period_us, forget_us;
	GMutex lock; /* guards what follows */
	GCond wake;
	GHashTable *entries; /* key -> Entry */
	gboolean stopping;
	GThread *thread;
};

static void entry_free(gpointer p)
{
	Entry *e = p;
	if (e->value != NULL)
		e->free_value(e->value);
	g_free(e);
}

/* The keys to read this round; those not asked for lately are dropped. */
static GPtrArray *round_keys_locked(Collector *c, gint64 now)
{
	GPtrArray *keys = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, c->entries);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		Entry *e = v;
		if (now - e->asked_at > c->forget_us) {
			g_hash_table_iter_remove(&it);
			continue;
		}
		g_ptr_array_add(keys, g_strdup(k));
	}
	return keys;
}

/* Store a fresh value, unless the key went meanwhile; a failed read drops
 * the key. */
static void store(Collector *c, const char *key, gpointer value)
{
	g_mutex_lock(&c->lock);
	Entry *e = g_hash_table_lookup(c->entries, key);
	if (e != NULL && value != NULL) {
		if (e->value != NULL)
			c->ops.free(e->value);
		e->value = g_steal_pointer(&value);
	} else if (e != NULL) {
		g_hash_table_remove(c->entries, key);
	}
	g_mutex_unlock(&c->lock);
	if (value != NULL)
		c->ops.free(value);
}

static gpointer collector_main(gpointer data)
{
	Collector *c = data;
	g_mutex_lock(&c->lock);
	while (!c->stopping) {
		gint64 until = g_get_monotonic_time() + c->period_us;
		while (!c->stopping &&
		       g_cond_wait_until(&c->wake, &c->lock, until))
			;
		if (c->stopping)
			break;
		g_autoptr(GPtrArray) keys =
			round_keys_locked(c, g_get_monotonic_time());
		g_mutex_unlock(&c->lock);
		for (guint i = 0; i < keys->len; i++) {
			const char *key = keys->pdata[i];
			store(c, key, c->ops.read(key, NULL));
		}
		g_mutex_lock(&c->lock);
	}
	g_mutex_unlock(&c->lock);
	return NULL;
}

Collector *collector_new(const char *name, const CollectorOps *ops,
			 gint64 period_us, gint64 forget_us)
{
	Collector *c = g_new0(Collector, 1);
	c->name = g_strdup(name);
	c->ops = *ops;
	c->period_us = period_us;
	c->forget_us = forget_us;
	g_mutex_init(&c->lock);
	g_cond_init(&c->wake);
	c->entries = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					   entry_free);
	if (period_us > 0)
		c->thread = g_thread_new(name, collector_main, c);
	return c;
}

void collector_free(Collector *c)
{
	if (c == NULL)
		return;
	g_mutex_lock(&c->lock);
	c->stopping = TRUE;
	g_cond_broadcast(&c->wake);
	g_mutex_unlock(&c->lock);
	if (c->thread != NULL)
		g_thread_join(c->thread);
	g_hash_table_destroy(c->entries);
	g_cond_clear(&c->wake);
	g_mutex_clear(&c->lock);
	g_free(c->name);
	g_free(c);
}

gpointer collector_get(Collector *c, const char *key, GError **error)
{
	if (c->period_us <= 0)
		return c->ops.read(key, error);
	gint64 now = g_get_monotonic_time();
	g_mutex_lock(&c->lock);
	Entry *e = g_hash_table_lookup(c->entries, key);
	gpointer copy = NULL;
	if (e != NULL) {
		e->asked_at = now;
		if (e->value != NULL)
			copy = c->ops.copy(e->value);
	}
	g_mutex_unlock(&c->lock);
	if (copy != NULL)
		return copy;
	/* First ask (or the entry was dropped): read now, and keep it. */
	gpointer value = c->ops.read(key, error);
	if (value == NULL)
		return NULL;
	g_mutex_lock(&c->lock);
	e = g_hash_table_lookup(c->entries, key);
	if (e == NULL) {
		e = g_new0(Entry, 1);
		e->free_value = c->ops.free;
		g_hash_table_insert(c->entries, g_strdup(key), e);
	}
	e->asked_at = now;
	if (e->value != NULL)
		c->ops.free(e->value);
	e->value = c->ops.copy(value);
	g_mutex_unlock(&c->lock);
	return value;
}

guint collector_size(Collector *c)
{
	g_mutex_lock(&c->lock);
	guint n = g_hash_table_size(c->entries);
	g_mutex_unlock(&c->lock);
	return n;
}
