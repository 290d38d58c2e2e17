/* CPU, memory, swap, I/O and network usage messages from cgroup and
 * interface figures. A figure with no source leaves its message (or
 * wrapper) NULL, never zero. */
#include "server/usage.h"
#include "server/reply.h"
#include "util/du.h"

#include <string.h>

/* How old a writable layer's figure may be: a walk of a big layer costs
 * milliseconds, and kubelet asks for every container's every few
 * seconds (cAdvisor refreshed its own once a minute). */
#define USAGE_LAYER_MAX_AGE_US (10 * G_USEC_PER_SEC)

static Runtime__V1__PsiStats *psi(CriCall *call, const CgroupPsi *p)
{
	if (!p->present)
		return NULL;
	Runtime__V1__PsiStats *s = reply_new(call, Runtime__V1__PsiStats,
					     runtime__v1__psi_stats__init);
	const CgroupPsiLine *lines[2] = {&p->full, &p->some};
	Runtime__V1__PsiData **dst[2] = {&s->full, &s->some};
	for (int i = 0; i < 2; i++) {
		if (!lines[i]->present)
			continue;
		Runtime__V1__PsiData *d =
			reply_new(call, Runtime__V1__PsiData,
				  runtime__v1__psi_data__init);
		d->total = lines[i]->total_ns;
		d->avg10 = lines[i]->avg10;
		d->avg60 = lines[i]->avg60;
		d->avg300 = lines[i]->avg300;
		*dst[i] = d;
	}
	return s;
}

static Runtime__V1__CpuUsage *cpu(CriCall *call, const char *rate_key,
				  const CgroupStats *cs)
{
	if (!cs->has_cpu)
		return NULL;
	Runtime__V1__CpuUsage *c = reply_new(call, Runtime__V1__CpuUsage,
					     runtime__v1__cpu_usage__init);
	c->timestamp = cs->timestamp_ns;
	c->usage_core_nano_seconds = reply_u64(call, cs->cpu_usage_ns);
	guint64 rate;
	if (cgroup_cpu_rate(rate_key, cs->cpu_usage_ns, cs->timestamp_ns,
			    &rate))
		c->usage_nano_cores = reply_u64(call, rate);
	c->psi = psi(call, &cs->psi_cpu);
	return c;
}

static Runtime__V1__MemoryUsage *memory(CriCall *call, const CgroupStats *cs)
{
	if (!cs->has_memory)
		return NULL;
	Runtime__V1__MemoryUsage *m =
		reply_new(call, Runtime__V1__MemoryUsage,
			  runtime__v1__memory_usage__init);
	m->timestamp = cs->timestamp_ns;
	m->working_set_bytes = reply_u64(call, cs->memory_working_set);
	m->usage_bytes = reply_u64(call, cs->memory_usage);
	m->rss_bytes = reply_u64(call, cs->memory_rss);
	m->page_faults = reply_u64(call, cs->memory_page_faults);
	m->major_page_faults = reply_u64(call, cs->memory_major_page_faults);
	/* Without a limit there is nothing to subtract from: kubelet then
	 * takes the node's figure. */
	if (cs->memory_limit != 0)
		m->available_bytes = reply_u64(
			call,
			cs->memory_limit > cs->memory_working_set
				? cs->memory_limit - cs->memory_working_set
				: 0);
	m->psi = psi(call, &cs->psi_memory);
	return m;
}

static Runtime__V1__SwapUsage *swap(CriCall *call, const CgroupStats *cs)
{
	if (!cs->has_swap)
		return NULL;
	Runtime__V1__SwapUsage *s = reply_new(call, Runtime__V1__SwapUsage,
					      runtime__v1__swap_usage__init);
	s->timestamp = cs->timestamp_ns;
	s->swap_usage_bytes = reply_u64(call, cs->swap_usage);
	if (cs->swap_limit != 0)
		s->swap_available_bytes = reply_u64(
			call, cs->swap_limit > cs->swap_usage
				      ? cs->swap_limit - cs->swap_usage
				      : 0);
	return s;
}

static Runtime__V1__IoUsage *io(CriCall *call, const CgroupStats *cs)
{
	if (!cs->psi_io.present)
		return NULL;
	Runtime__V1__IoUsage *u = reply_new(call, Runtime__V1__IoUsage,
					    runtime__v1__io_usage__init);
	u->timestamp = cs->timestamp_ns;
	u->psi = psi(call, &cs->psi_io);
	return u;
}

void usage_reply_cgroup(CriCall *call, const char *rate_key,
			const CgroupStats *cs, UsageReply *out)
{
	out->cpu = cpu(call, rate_key, cs);
	out->memory = memory(call, cs);
	out->swap = swap(call, cs);
	out->io = io(call, cs);
}

static Runtime__V1__NetworkInterfaceUsage *iface(CriCall *call,
						 const NetdevStats *s)
{
	Runtime__V1__NetworkInterfaceUsage *i =
		reply_new(call, Runtime__V1__NetworkInterfaceUsage,
			  runtime__v1__network_interface_usage__init);
	i->name = reply_str(call, s->name);
	i->rx_bytes = reply_u64(call, s->rx_bytes);
	i->tx_bytes = reply_u64(call, s->tx_bytes);
	i->rx_errors = reply_u64(call, s->rx_errors);
	i->tx_errors = reply_u64(call, s->tx_errors);
	return i;
}

Runtime__V1__NetworkUsage *usage_reply_network(CriCall *call, GArray *ifaces,
					       gint64 now)
{
	if (ifaces == NULL || ifaces->len == 0)
		return NULL;
	guint def = 0;
	for (guint k = 0; k < ifaces->len; k++)
		if (strcmp(g_array_index(ifaces, NetdevStats, k).name,
			   "eth0") == 0)
			def = k;
	Runtime__V1__NetworkUsage *n =
		reply_new(call, Runtime__V1__NetworkUsage,
			  runtime__v1__network_usage__init);
	n->timestamp = now;
	n->default_interface =
		iface(call, &g_array_index(ifaces, NetdevStats, def));
	n->interfaces =
		arena_newv(cri_call_arena(call),
			   Runtime__V1__NetworkInterfaceUsage *, ifaces->len);
	for (guint k = 0; k < ifaces->len; k++)
		if (k != def)
			n->interfaces[n->n_interfaces++] = iface(
				call, &g_array_index(ifaces, NetdevStats, k));
	return n;
}

gboolean usage_writable_layer(const Container *c, char **upper, guint64 *bytes,
			      guint64 *inodes)
{
	g_autofree char *dir = g_build_filename(c->dir, "upper", NULL);
	*bytes = *inodes = 0;
	if (!g_file_test(dir, G_FILE_TEST_IS_DIR) ||
	    !berth_disk_usage_cached(dir, USAGE_LAYER_MAX_AGE_US, bytes, inodes,
				     NULL))
		return FALSE;
	*upper = g_steal_pointer(&dir);
	return TRUE;
}
