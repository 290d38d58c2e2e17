/* ContainerStats, ListContainerStats, StreamContainerStats: CPU (with its
 * rate since the previous sample), memory, swap and pressure from the
 * container's cgroup, the writable layer's usage from a walk of its
 * overlay upper dir (once per call per container). Reads only. */
#include "sandbox/cgroup/cgroup.h"
#include "sandbox/container/ctrlife.h"
#include "server/reply.h"
#include "server/server.h"
#include "server/stats_cache.h"
#include "server/usage.h"

#include <string.h>
#include <sys/stat.h>

static Runtime__V1__FilesystemUsage *writable_layer(CriCall *call,
						    const Container *c)
{
	g_autofree char *upper = NULL;
	guint64 bytes, inodes;
	if (!usage_writable_layer(c, &upper, &bytes, &inodes))
		return NULL;
	Runtime__V1__FilesystemUsage *f =
		reply_new(call, Runtime__V1__FilesystemUsage,
			  runtime__v1__filesystem_usage__init);
	f->timestamp = g_get_real_time() * 1000;
	f->fs_id = reply_new(call, Runtime__V1__FilesystemIdentifier,
			     runtime__v1__filesystem_identifier__init);
	f->fs_id->mountpoint = reply_str(call, upper);
	f->used_bytes = reply_u64(call, bytes);
	f->inodes_used = reply_u64(call, inodes);
	return f;
}

/* What the cgroup still has; nothing when it is gone (an exited
 * container whose runtime already removed it). */
static void cgroup_usage(CriCall *call, Runtime__V1__ContainerStats *st,
			 const char *cgroup)
{
	CgroupStats cs;
	UsageReply u;
	if (cgroup[0] == '\0' || !stats_cache_cgroup(cgroup, &cs))
		return;
	usage_reply_cgroup(call, cgroup, &cs, &u);
	st->cpu = u.cpu;
	st->memory = u.memory;
	st->swap = u.swap;
	st->io = u.io;
}

Runtime__V1__ContainerStats *server_ctr_stats(CriCall *call, Container *c)
{
	Runtime__V1__ContainerStats *st =
		reply_new(call, Runtime__V1__ContainerStats,
			  runtime__v1__container_stats__init);
	Runtime__V1__ContainerAttributes *a =
		reply_new(call, Runtime__V1__ContainerAttributes,
			  runtime__v1__container_attributes__init);
	a->id = reply_str(call, c->id);
	a->metadata = reply_new(call, Runtime__V1__ContainerMetadata,
				runtime__v1__container_metadata__init);
	a->metadata->name = reply_str(call, c->config->name);
	a->metadata->attempt = c->config->attempt;
	a->labels = reply_map(
		call,
		&runtime__v1__container_attributes__labels_entry__descriptor,
		c->config->labels, &a->n_labels);
	a->annotations = reply_map(
		call,
		&runtime__v1__container_attributes__annotations_entry__descriptor,
		c->config->annotations, &a->n_annotations);
	st->attributes = a;
	cgroup_usage(call, st, c->cgroup);
	st->writable_layer = writable_layer(call, c);
	return st;
}

static gboolean stats_listed(Container *c)
{
	CtrState s = container_get_state(c);
	return s == CTR_CREATED || s == CTR_RUNNING || s == CTR_EXITED;
}

static gboolean stats_match(Container *c,
			    const Runtime__V1__ContainerStatsFilter *f)
{
	if (!stats_listed(c))
		return FALSE;
	if (f == NULL)
		return TRUE;
	if (f->id[0] != '\0' && !g_str_has_prefix(c->id, f->id))
		return FALSE;
	if (f->pod_sandbox_id[0] != '\0' &&
	    !g_str_has_prefix(c->pod_id, f->pod_sandbox_id))
		return FALSE;
	return labels_match(c->config->labels, (void *const *)f->label_selector,
			    f->n_label_selector);
}

static GPtrArray *matching(BerthServer *s, CriCall *call,
			   const Runtime__V1__ContainerStatsFilter *f)
{
	g_autoptr(GPtrArray) all = ctr_manager_list(s->containers);
	GPtrArray *items = g_ptr_array_new();
	for (guint i = 0; i < all->len; i++) {
		Container *c = g_ptr_array_index(all, i);
		if (stats_match(c, f))
			g_ptr_array_add(items, server_ctr_stats(call, c));
	}
	return items;
}

BERTH_UNARY(server_container_stats)
{
	BerthServer *s = ctx;
	const Runtime__V1__ContainerStatsRequest *in =
		(const Runtime__V1__ContainerStatsRequest *)req;
	g_autoptr(Container) c =
		ctr_manager_lookup(s->containers, in->container_id, error);
	if (c == NULL)
		return NULL;
	Runtime__V1__ContainerStatsResponse *r =
		reply_new(call, Runtime__V1__ContainerStatsResponse,
			  runtime__v1__container_stats_response__init);
	r->stats = server_ctr_stats(call, c);
	return &r->base;
}

BERTH_UNARY(server_list_container_stats)
{
	BerthServer *s = ctx;
	(void)error;
	const Runtime__V1__ListContainerStatsRequest *in =
		(const Runtime__V1__ListContainerStatsRequest *)req;
	g_autoptr(GPtrArray) items = matching(s, call, in->filter);
	Runtime__V1__ListContainerStatsResponse *r =
		reply_new(call, Runtime__V1__ListContainerStatsResponse,
			  runtime__v1__list_container_stats_response__init);
	r->stats = reply_items(call, items, &r->n_stats);
	return &r->base;
}

BERTH_STREAM(server_stream_container_stats)
{
	BerthServer *s = ctx;
	const Runtime__V1__StreamContainerStatsRequest *in =
		(const Runtime__V1__StreamContainerStatsRequest *)req;
	g_autoptr(GPtrArray) items = matching(s, call, in->filter);
	Runtime__V1__StreamContainerStatsResponse page =
		RUNTIME__V1__STREAM_CONTAINER_STATS_RESPONSE__INIT;
	return reply_stream_pages(call, &page.base,
				  (void ***)&page.container_stats,
				  &page.n_container_stats, items, error);
}
