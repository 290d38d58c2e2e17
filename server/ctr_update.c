/* UpdateContainerResources and UpdatePodSandboxResources: the CRI's
 * LinuxContainerResources converted to CtrResources; the work is in
 * sandbox/ctrupdate.c (the runtime) and sandbox/cgroup-update.c (the pod
 * cgroup). */
#include "sandbox/cgroup/cgroup.h"
#include "sandbox/container/ctrlife.h"
#include "server/reply.h"
#include "server/server.h"
#include "util/error.h"

/* Only the fields an update applies; strings point into the request. */
static CtrResources resources_of(const Runtime__V1__LinuxContainerResources *r)
{
	CtrResources o = {0};
	o.cpu_period = r->cpu_period;
	o.cpu_quota = r->cpu_quota;
	o.cpu_shares = r->cpu_shares;
	o.memory_limit = r->memory_limit_in_bytes;
	o.memory_swap_limit = r->memory_swap_limit_in_bytes;
	o.oom_score_adj = r->oom_score_adj;
	o.cpuset_cpus = r->cpuset_cpus;
	o.cpuset_mems = r->cpuset_mems;
	return o;
}

BERTH_UNARY(server_update_container_resources)
{
	BerthServer *s = ctx;
	const Runtime__V1__UpdateContainerResourcesRequest *in =
		(const Runtime__V1__UpdateContainerResourcesRequest *)req;
	if (in->windows != NULL)
		return berth_throw_null(error, INVALID_ARGUMENT,
					"windows resources are not supported "
					"on Linux");
	if (in->linux == NULL)
		return berth_throw_null(error, INVALID_ARGUMENT,
					"linux resources are required");
	CtrResources r = resources_of(in->linux);
	if (!ctr_manager_update_resources(s->containers, in->container_id, &r,
					  error))
		return NULL;
	Runtime__V1__UpdateContainerResourcesResponse *out = reply_new(
		call, Runtime__V1__UpdateContainerResourcesResponse,
		runtime__v1__update_container_resources_response__init);
	return &out->base;
}

/* The pod cgroup holds the containers and the pod's overhead. */
static void add_overhead(CtrResources *r,
			 const Runtime__V1__LinuxContainerResources *o)
{
	if (r->memory_limit > 0 && o->memory_limit_in_bytes > 0)
		r->memory_limit += o->memory_limit_in_bytes;
	if (r->cpu_quota > 0 && o->cpu_quota > 0)
		r->cpu_quota += o->cpu_quota;
	if (r->cpu_shares > 0 && o->cpu_shares > 0)
		r->cpu_shares += o->cpu_shares;
}

BERTH_UNARY(server_update_pod_sandbox_resources)
{
	BerthServer *s = ctx;
	const Runtime__V1__UpdatePodSandboxResourcesRequest *in =
		(const Runtime__V1__UpdatePodSandboxResourcesRequest *)req;
	if (in->resources == NULL)
		return berth_throw_null(error, INVALID_ARGUMENT,
					"resources are required");
	g_autoptr(Pod) p = store_lookup(pod_manager_store(s->pods),
					in->pod_sandbox_id, error);
	if (p == NULL)
		return NULL;
	g_auto(PodSnapshot) now = {0};
	pod_snapshot(p, &now);
	const char *cgroup = now.state == POD_READY ? now.cgroup : NULL;
	if (cgroup == NULL)
		return berth_throw_null(error, FAILED_PRECONDITION,
					"pod sandbox %s is not ready: it has "
					"no cgroup to update",
					p->id);
	CtrResources r = resources_of(in->resources);
	if (in->overhead != NULL)
		add_overhead(&r, in->overhead);
	if (!cgroup_set_resources(cgroup, &r, error)) {
		g_prefix_error(error,
			       "update resources of pod sandbox %s: ", p->id);
		return NULL;
	}
	Runtime__V1__UpdatePodSandboxResourcesResponse *out = reply_new(
		call, Runtime__V1__UpdatePodSandboxResourcesResponse,
		runtime__v1__update_pod_sandbox_resources_response__init);
	return &out->base;
}
