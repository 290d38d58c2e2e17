/* PodSandboxStats, ListPodSandboxStats, StreamPodSandboxStats: CPU and
 * memory from the pod's cgroup, network from the host end of its veth
 * (the pod's receive is the veth's transmit). Reads kernel files only. */
#include "sandbox/cgroup/cgroup.h"
#include "sandbox/pod/podlife.h"
#include "server/reply.h"
#include "server/server.h"
#include "util/error.h"

#include <stdio.h>
#include <string.h>

static gboolean read_u64(const char *dev, const char *name, guint64 *out)
{
	g_autofree char *path =
		g_strdup_printf("/sys/class/net/%s/statistics/%s", dev, name);
	g_autofree char *text = NULL;
	if (!g_file_get_contents(path, &text, NULL, NULL))
		return FALSE;
	*out = g_ascii_strtoull(text, NULL, 10);
	return TRUE;
}

static Runtime__V1__NetworkUsage *network_usage(CriCall *call, const char *veth,
						gint64 now)
{
	guint64 rx, tx, rxe, txe;
	if (veth == NULL || !read_u64(veth, "tx_bytes", &rx) ||
	    !read_u64(veth, "rx_bytes", &tx) ||
	    !read_u64(veth, "tx_errors", &rxe) ||
	    !read_u64(veth, "rx_errors", &txe))
		return NULL;
	Runtime__V1__NetworkUsage *n =
		reply_new(call, Runtime__V1__NetworkUsage,
			  runtime__v1__network_usage__init);
	Runtime__V1__NetworkInterfaceUsage *i =
		reply_new(call, Runtime__V1__NetworkInterfaceUsage,
			  runtime__v1__network_interface_usage__init);
	i->name = "eth0";
	i->rx_bytes = reply_u64(call, rx);
	i->tx_bytes = reply_u64(call, tx);
	i->rx_errors = reply_u64(call, rxe);
	i->tx_errors = reply_u64(call, txe);
	n->timestamp = now;
	n->default_interface = i;
	n->interfaces = arena_new0(cri_call_arena(call),
				   Runtime__V1__NetworkInterfaceUsage *);
	n->interfaces[0] = i;
	n->n_interfaces = 1;
	return n;
}

static void cgroup_usage(CriCall *call, Runtime__V1__LinuxPodSandboxStats *l,
			 const char *cgroup, gint64 now)
{
	CgroupStats cs;
	if (cgroup == NULL || !cgroup_stats(cgroup, &cs, NULL))
		return;
	reply_cgroup_usage(call, &cs, &l->cpu, &l->memory);
	if (cs.has_pids) {
		l->process = reply_new(call, Runtime__V1__ProcessUsage,
				       runtime__v1__process_usage__init);
		l->process->timestamp = now;
		l->process->process_count = reply_u64(call, cs.pids);
	}
}

static Runtime__V1__PodSandboxStats *pod_stats(CriCall *call, Pod *p)
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
	l->network = network_usage(call, snap.host_veth, now);
	st->linux = l;
	return st;
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
	r->stats = pod_stats(call, p);
	return &r->base;
}

BERTH_UNARY(server_list_pod_sandbox_stats)
{
	BerthServer *s = ctx;
	(void)error;
	const Runtime__V1__ListPodSandboxStatsRequest *in =
		(const Runtime__V1__ListPodSandboxStatsRequest *)req;
	g_autoptr(GPtrArray) pods = store_list(pod_manager_store(s->pods));
	Runtime__V1__ListPodSandboxStatsResponse *r =
		reply_new(call, Runtime__V1__ListPodSandboxStatsResponse,
			  runtime__v1__list_pod_sandbox_stats_response__init);
	r->stats = arena_newv(cri_call_arena(call),
			      Runtime__V1__PodSandboxStats *, pods->len + 1);
	for (guint i = 0; i < pods->len; i++) {
		Pod *p = g_ptr_array_index(pods, i);
		if (stats_match(p, in->filter))
			r->stats[r->n_stats++] = pod_stats(call, p);
	}
	return &r->base;
}

BERTH_STREAM(server_stream_pod_sandbox_stats)
{
	BerthServer *s = ctx;
	const Runtime__V1__StreamPodSandboxStatsRequest *in =
		(const Runtime__V1__StreamPodSandboxStatsRequest *)req;
	g_autoptr(GPtrArray) pods = store_list(pod_manager_store(s->pods));
	g_autoptr(GPtrArray) items = g_ptr_array_new();
	for (guint i = 0; i < pods->len; i++) {
		Pod *p = g_ptr_array_index(pods, i);
		if (stats_match(p, in->filter))
			g_ptr_array_add(items, pod_stats(call, p));
	}
	Runtime__V1__StreamPodSandboxStatsResponse page =
		RUNTIME__V1__STREAM_POD_SANDBOX_STATS_RESPONSE__INIT;
	return reply_stream_pages(call, &page.base,
				  (void ***)&page.pod_sandbox_stats,
				  &page.n_pod_sandbox_stats, items, error);
}
