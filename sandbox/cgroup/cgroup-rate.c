/* usage_nano_cores: the CPU rate of a cgroup between the previous sample
 * and this one, kept per cgroup in memory, so that no stats call sleeps
 * to measure it. */
#include "sandbox/cgroup/cgroup.h"

#define NS_PER_SEC G_GINT64_CONSTANT(1000000000)
#define FORGET_AFTER_NS (G_GINT64_CONSTANT(600) * NS_PER_SEC)

typedef struct {
	guint64 usage;
	gint64 ts;
	guint64 rate;
	gboolean has_rate;
} RateSample;

static GMutex rate_lock;
static GHashTable *rate_table; /* key -> RateSample*, under rate_lock */
static gint64 rate_last_sweep;

gboolean cgroup_cpu_rate_between(guint64 prev_usage, gint64 prev_ts,
				 guint64 usage, gint64 ts, guint64 *nano_cores)
{
	if (ts <= prev_ts || usage < prev_usage)
		return FALSE;
	/* (usage delta) / (seconds) without overflowing: delta fits in a
	 * double with enough precision for a figure in nanocores. */
	double per_sec = (double)(usage - prev_usage) * (double)NS_PER_SEC /
			 (double)(ts - prev_ts);
	*nano_cores = (guint64)(per_sec + 0.5);
	return TRUE;
}

/* Drop keys not sampled for a while (removed containers), at most once
 * a minute. Caller holds rate_lock. */
static void sweep(gint64 now)
{
	if (now - rate_last_sweep < 60 * NS_PER_SEC)
		return;
	rate_last_sweep = now;
	GHashTableIter it;
	gpointer v;
	g_hash_table_iter_init(&it, rate_table);
	while (g_hash_table_iter_next(&it, NULL, &v))
		if (now - ((RateSample *)v)->ts > FORGET_AFTER_NS)
			g_hash_table_iter_remove(&it);
}

gboolean cgroup_cpu_rate(const char *key, guint64 usage, gint64 ts,
			 guint64 *nano_cores)
{
	g_mutex_lock(&rate_lock);
	if (rate_table == NULL)
		rate_table = g_hash_table_new_full(g_str_hash, g_str_equal,
						   g_free, g_free);
	sweep(ts);
	RateSample *s = g_hash_table_lookup(rate_table, key);
	gboolean ok = FALSE;
	if (s == NULL) {
		s = g_new0(RateSample, 1);
		g_hash_table_insert(rate_table, g_strdup(key), s);
	} else if (ts - s->ts < CGROUP_RATE_MIN_INTERVAL_NS &&
		   usage >= s->usage) {
		ok = s->has_rate;
		*nano_cores = s->rate;
		g_mutex_unlock(&rate_lock);
		return ok;
	} else {
		ok = cgroup_cpu_rate_between(s->usage, s->ts, usage, ts,
					     nano_cores);
	}
	s->usage = usage;
	s->ts = ts;
	s->has_rate = ok;
	s->rate = ok ? *nano_cores : 0;
	g_mutex_unlock(&rate_lock);
	return ok;
}
