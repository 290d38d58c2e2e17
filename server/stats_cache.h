/* What the stats and metrics RPCs read of cgroups and pod network
 * namespaces, through a collector (util/collector.h) when
 * berth.metrics.stats_collection_period is above 0: the RPCs then answer
 * from memory with figures at most one period old, and a thread reads
 * what was asked for once a period. 0 (the default, as CRI-O's): every
 * call reads. */
#pragma once

#include <glib.h>

#include "sandbox/cgroup/cgroup.h"

void stats_cache_start(gint64 period_s);
void stats_cache_stop(void);

/* cgroup_stats of a relative cgroup path, from the cache when it runs. */
gboolean stats_cache_cgroup(const char *cgroup, CgroupStats *out);
/* cgroup_io of a relative cgroup path (only the metrics RPCs read it). */
gboolean stats_cache_io(const char *cgroup, CgroupIo *out);
/* netdev_read_netns of a pin (an array of NetdevStats). */
GArray *stats_cache_netns(const char *netns, GError **error);
