/* Collectors for cgroup stats and pod network counters; see
 * stats_cache.h. One of each per process, made at start. */
#include "server/stats_cache.h"
#include "network/netdev.h"
#include "util/collector.h"

#include <string.h>

/* A key nobody asked for in this long is dropped (kubelet asks every
 * 10 to 15 s). */
#define FORGET_US (120 * G_USEC_PER_SEC)

static Collector *cgroups, *netns, *io;

static gpointer read_cgroup(const char *key, GError **error)
{
	CgroupStats *cs = g_new(CgroupStats, 1);
	if (!cgroup_stats(key, cs, error)) {
		g_free(cs);
		return NULL;
	}
	return cs;
}

static gpointer copy_cgroup(gconstpointer v)
{
	return g_memdup2(v, sizeof(CgroupStats));
}

static gpointer read_io(const char *key, GError **error)
{
	CgroupIo *v = g_new(CgroupIo, 1);
	if (!cgroup_io(key, v, error)) {
		g_free(v);
		return NULL;
	}
	return v;
}

static gpointer copy_io(gconstpointer v)
{
	return g_memdup2(v, sizeof(CgroupIo));
}

static gpointer read_netns(const char *key, GError **error)
{
	return netdev_read_netns(key, error);
}

static gpointer copy_netns(gconstpointer v)
{
	const GArray *a = v;
	GArray *c = g_array_sized_new(FALSE, TRUE, sizeof(NetdevStats), a->len);
	g_array_set_clear_func(c, (GDestroyNotify)netdev_stats_clear);
	for (guint i = 0; i < a->len; i++) {
		NetdevStats s = g_array_index(a, NetdevStats, i);
		s.name = g_strdup(s.name);
		g_array_append_val(c, s);
	}
	return c;
}

static void free_netns(gpointer v)
{
	g_array_unref(v);
}

void stats_cache_start(gint64 period_s)
{
	static const CollectorOps cg = {read_cgroup, copy_cgroup, g_free};
	static const CollectorOps ns = {read_netns, copy_netns, free_netns};
	static const CollectorOps bio = {read_io, copy_io, g_free};
	gint64 period = period_s * G_USEC_PER_SEC;
	cgroups = collector_new("berth-stats-cg", &cg, period, FORGET_US);
	netns = collector_new("berth-stats-ns", &ns, period, FORGET_US);
	io = collector_new("berth-stats-io", &bio, period, FORGET_US);
}

void stats_cache_stop(void)
{
	g_clear_pointer(&cgroups, collector_free);
	g_clear_pointer(&netns, collector_free);
	g_clear_pointer(&io, collector_free);
}

gboolean stats_cache_cgroup(const char *cgroup, CgroupStats *out)
{
	if (cgroups == NULL)
		return cgroup_stats(cgroup, out, NULL);
	g_autofree CgroupStats *cs = collector_get(cgroups, cgroup, NULL);
	if (cs == NULL)
		return FALSE;
	*out = *cs;
	return TRUE;
}

gboolean stats_cache_io(const char *cgroup, CgroupIo *out)
{
	if (io == NULL)
		return cgroup_io(cgroup, out, NULL);
	g_autofree CgroupIo *v = collector_get(io, cgroup, NULL);
	if (v == NULL)
		return FALSE;
	*out = *v;
	return TRUE;
}

GArray *stats_cache_netns(const char *pin, GError **error)
{
	if (netns == NULL)
		return netdev_read_netns(pin, error);
	return collector_get(netns, pin, error);
}
