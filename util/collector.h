/* A keyed cache refreshed on a period by a thread of its own, for figures
 * that are costly to read and asked for often (cgroup stats, a pod's
 * network counters): kubelet asks for every container's stats every few
 * seconds, and at a thousand containers reading them on each call costs
 * far more than a list of them should.
 *
 * It refreshes exactly the keys that callers asked for: the first ask of
 * a key reads it at once (and registers it), later asks are answered from
 * memory, at most one period old. A key nobody asked for in `forget_us`
 * is dropped; a key whose read fails is dropped (the cgroup is gone) and
 * read again when asked. No lock is held during a read. With period 0 the
 * collector is off: every ask reads. */
#pragma once

#include <glib.h>

typedef struct Collector Collector;

typedef struct {
	/* Read the value of key; NULL with error set when it cannot. */
	gpointer (*read)(const char *key, GError **error);
	gpointer (*copy)(gconstpointer value);
	GDestroyNotify free;
} CollectorOps;

Collector *collector_new(const char *name, const CollectorOps *ops,
			 gint64 period_us, gint64 forget_us);
/* Stops the thread (waits for a read under way) and frees everything. */
void collector_free(Collector *c);

/* A copy of key's value (the caller frees it with ops->free). */
gpointer collector_get(Collector *c, const char *key, GError **error);

/* Keys held now (for tests). */
guint collector_size(Collector *c);
