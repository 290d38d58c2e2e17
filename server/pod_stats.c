/* PodSandboxStats, ListPodSandboxStats, StreamPodSandboxStats: CPU,
 * memory, pressure and tasks from the pod's cgroup, network per interface
 * from /proc/net/dev as the pod's own network namespace shows it (read on
 * a short thread that joins it: no exec). Reads kernel files only. */
#include "sandbox/cgroup/cgroup.h"
#include "sandbox/container/ctrlife.h"
#include "sandbox/pod/podlife.h"
#include "server/reply.h"
#include "server/server.h"
#include "server/stats_cache.h"
#include "server/usage.h"
#include "util/error.h"

#include <stdio.h>
#include <string.h>

/* The pod's interfaces as its own network namespace counts them; none
 * for a pod on the host network (no namespace of its own). */
static Runtime__V1__NetworkUsage *network_usage(CriCall *call,
						const char *netns, gint64 now)
{
	if (netns == NULL || netns[0] == '\0')
		return NULL;
	g_autoptr(GError) e = NULL;
	g_autoptr(GArray) ifaces = stats_cache_netns(netns, &e);
	if (ifaces == NULL) {
		g_debug("pod network stats: %s", e->message);
		return NULL;
	}
	return usage_reply_network(call, ifaces, now);
}

static void cgroup_usage(CriCall *call, Runtime__V1__LinuxPodSandboxStats *l,
			 const char *cgroup, gint64 now)
{
	CgroupStats cs;
	UsageReply u;
	if (cgroup == NULL || !stats_cache_cgroup(cgroup, &cs))
		return;
	usage_reply_cgroup(call, cgroup, &cs, &u);
	l->cpu = u.cpu;
	l->memory = u.memory;
	l->io = u.io;
	if (cs.has_processes || cs.has_pids) {
		l->process = reply_new(call, Runtime__V1__ProcessUsage,
				       runtime__v1__process_usage__init);
		l->process->timestamp = now;
		l->process->process_count =
			reply_u64(call, cs.has_pids ? cs.pids : cs.processes);
	}
}

/* Each container's stats, as ContainerStats gives them (kubelet's CRI
 * stats provider reads them here). ctrs: the pod's containers. */
static void container_usage(CriCall *call, Runtime__V1__LinuxPodSandboxStats *l,
			    GPtrArray *ctrs)
{
	l->containers =
		arena_newv(cri_call_arena(call), Runtime__V1__ContainerStats *,
			   ctrs->len + 1);
	for (guint i = 0; i < ctrs->len; i++) {
		Container *c = g_ptr_array_index(ctrs, i);
		CtrState st = container_get_state(c);
		if (st != CTR_CREATING && st != CTR_REMOVING)
			l->containers[l->n_containers++] =
				server_ctr_stats(call, c);
	}
}

static Runtime__V1__PodSandboxStats *pod_stats(CriCall *call, Pod *p,
					       GPtrArray *ctrs)
{
	gint64 now = g_get_real_time() * 1000;
	Runtime__V1__PodSandboxStats *st =
		reply_new(call, Runtime__V1__PodSandboxStats,
			  runtime__v1__pod_sandbox_stats__init);
	Runtime__V1__PodSandboxAttributes *a =
		reply_new(call, Runtime__V1__PodSandboxAttributes,
			  runtime__v1__pod_sandbox_attributes__init);
	a->id = reply_str(call, p->id);
	a->metadata = reply_new(call, Runtime__V1__PodSandboxMetadata,
				runtime__v1__pod_sandbox_metadata__init);
	a->metadata->name = reply_str(call, p->config->name);
	a->metadata->uid = reply_str(call, p->config->uid);
	a->metadata->namespace_ = reply_str(call, p->config->namespace_);
	a->metadata->attempt = p->config->attempt;
	a->labels = reply_map(
		call,
		&runtime__v1__pod_sandbox_attributes__labels_entry__descriptor,
		p->config->labels, &a->n_labels);
	a->annotations = reply_map(
		call,
		&runtime__v1__pod_sandbox_attributes__annotations_entry__descriptor,
		p->config->annotations, &a->n_annotations);
	st->attributes = a;
	Runtime__V1__LinuxPodSandboxStats *l =
		reply_new(call, Runtime__V1__LinuxPodSandboxStats,
			  runtime__v1__linux_pod_sandbox_stats__init);
	g_auto(PodSnapshot) snap = {0};
	pod_snapshot(p, &snap);
	cgroup_usage(call, l, snap.cgroup, now);
	l->network = network_usage(call, snap.netns, now);
	container_usage(call, l, ctrs);
	st->linux = l;
	return st;
}

GHashTable *server_containers_by_pod(BerthServer *s)
{
	GHashTable *by_pod =
		g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
				      (GDestroyNotify)g_ptr_array_unref);
	g_autoptr(GPtrArray) all = ctr_manager_list(s->containers);
	for (guint i = 0; i < all->len; i++) {
		Container *c = g_ptr_array_index(all, i);
		GPtrArray *mine = g_hash_table_lookup(by_pod, c->pod_id);
		if (mine == NULL) {
			mine = g_ptr_array_new_with_free_func(
				(GDestroyNotify)container_unref);
			g_hash_table_insert(by_pod, c->pod_id, mine);
		}
		g_ptr_array_add(mine, container_ref(c));
	}
	return by_pod;
}

static gboolean stats_match(Pod *p, const Runtime__V1__PodSandboxStatsFilter *f)
{
	PodState s = pod_get_state(p);
	if (s != POD_READY && s != POD_NOTREADY)
		return FALSE;
	if (f == NULL)
		return TRUE;
	if (f->id[0] != '\0' && !g_str_has_prefix(p->id, f->id))
		return FALSE;
	return labels_match(p->config->labels, (void *const *)f->label_selector,
			    f->n_label_selector);
}

/* The matching pods' stats, each with its containers'. */
static GPtrArray *matching(BerthServer *s, CriCall *call,
			   const Runtime__V1__PodSandboxStatsFilter *f)
{
	g_autoptr(GPtrArray) pods = store_list(pod_manager_store(s->pods));
	g_autoptr(GHashTable) by_pod = server_containers_by_pod(s);
	g_autoptr(GPtrArray) none = g_ptr_array_new();
	GPtrArray *items = g_ptr_array_new();
	for (guint i = 0; i < pods->len; i++) {
		Pod *p = g_ptr_array_index(pods, i);
		GPtrArray *ctrs = g_hash_table_lookup(by_pod, p->id);
		if (stats_match(p, f))
			g_ptr_array_add(items,
					pod_stats(call, p, ctrs ? ctrs : none));
	}
	return items;
}

BERTH_UNARY(server_pod_sandbox_stats)
{
	BerthServer *s = ctx;
	const Runtime__V1__PodSandboxStatsRequest *in =
		(const Runtime__V1__PodSandboxStatsRequest *)req;
	g_autoptr(Pod) p = store_lookup(pod_manager_store(s->pods),
					in->pod_sandbox_id, error);
	if (p == NULL)
		return NULL;
	Runtime__V1__PodSandboxStatsResponse *r =
		reply_new(call, Runtime__V1__PodSandboxStatsResponse,
			  runtime__v1__pod_sandbox_stats_response__init);
	g_autoptr(GPtrArray) ctrs = ctr_manager_list_pod(s->containers, p->id);
	r->stats = pod_stats(call, p, ctrs);
	return &r->base;
}

BERTH_UNARY(server_list_pod_sandbox_stats)
{
	BerthServer *s = ctx;
	(void)error;
	const Runtime__V1__ListPodSandboxStatsRequest *in =
		(const Runtime__V1__ListPodSandboxStatsRequest *)req;
	g_autoptr(GPtrArray) items = matching(s, call, in->filter);
	Runtime__V1__ListPodSandboxStatsResponse *r =
		reply_new(call, Runtime__V1__ListPodSandboxStatsResponse,
			  runtime__v1__list_pod_sandbox_stats_response__init);
	r->stats = reply_items(call, items, &r->n_stats);
	return &r->base;
}

BERTH_STREAM(server_stream_pod_sandbox_stats)
{
	BerthServer *s = ctx;
	const Runtime__V1__StreamPodSandboxStatsRequest *in =
		(const Runtime__V1__StreamPodSandboxStatsRequest *)req;
	g_autoptr(GPtrArray) items = matching(s, call, in->filter);
	Runtime__V1__StreamPodSandboxStatsResponse page =
		RUNTIME__V1__STREAM_POD_SANDBOX_STATS_RESPONSE__INIT;
	return reply_stream_pages(call, &page.base,
				  (void ***)&page.pod_sandbox_stats,
				  &page.n_pod_sandbox_stats, items, error);
}
