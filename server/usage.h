/* The usage messages of ContainerStats and PodSandboxStats (CPU with its
 * rate, memory, swap, I/O pressure, network), built from the figures the
 * domain modules read. Shared by server/ctr_stats.c and pod_stats.c. */
#pragma once

#include "api.pb-c.h"
#include "cri/core.h"
#include "network/netdev.h"
#include "sandbox/container/container.h"
#include "sandbox/cgroup/cgroup.h"

typedef struct {
	Runtime__V1__CpuUsage *cpu;
	Runtime__V1__MemoryUsage *memory;
	Runtime__V1__SwapUsage *swap;
	Runtime__V1__IoUsage *io;
} UsageReply;

/* The usage of a cgroup read into cs; each part stays NULL when the
 * cgroup has no source for it. rate_key names the cgroup in the CPU rate
 * table (its relative path): usage_nano_cores is the rate since the
 * previous sample of that key, unset at the first. */
void usage_reply_cgroup(CriCall *call, const char *rate_key,
			const CgroupStats *cs, UsageReply *out);

/* Network usage from the pod's interfaces (NetdevStats; "eth0", else the
 * first, is the default interface); NULL when there are none. */
Runtime__V1__NetworkUsage *usage_reply_network(CriCall *call, GArray *ifaces,
					       gint64 now);

/* The container's writable layer (the overlay's upper dir, *upper) and
 * its usage, walked at most once every 10 s (a figure up to 10 s old is
 * given in between); FALSE when it has none. */
gboolean usage_writable_layer(const Container *c, char **upper, guint64 *bytes,
			      guint64 *inodes);
