/* Pod sandbox RPCs: RunPodSandbox, StopPodSandbox, RemovePodSandbox,
 * PodSandboxStatus, ListPodSandbox, StreamPodSandboxes. Converts CRI
 * messages to PodConfig and Pod to CRI replies; the work is in sandbox/. */
#include "sandbox/pod/podlife.h"
#include "server/reply.h"
#include "server/server.h"
#include "util/error.h"

#include "util/jsonutil.h"
#include <string.h>

/* --- request -> PodConfig ------------------------------------------------ */

static const char *protocol_name(Runtime__V1__Protocol p)
{
	switch (p) {
	case RUNTIME__V1__PROTOCOL__UDP:
		return "udp";
	case RUNTIME__V1__PROTOCOL__SCTP:
		return "sctp";
	default:
		return "tcp";
	}
}

static gboolean take_linux(PodConfig *c,
			   const Runtime__V1__LinuxPodSandboxConfig *l,
			   GError **error)
{
	request_set(&c->cgroup_parent, l->cgroup_parent);
	request_map(c->sysctls, (void *const *)l->sysctls, l->n_sysctls);
	const Runtime__V1__LinuxSandboxSecurityContext *sc =
		l->security_context;
	if (sc == NULL)
		return TRUE;
	/* The proto: run_as_group only with run_as_user, else fail. */
	if (sc->run_as_group != NULL && sc->run_as_user == NULL)
		return berth_throw(error, INVALID_ARGUMENT,
				   "config.linux.security_context.run_as_group "
				   "is set without run_as_user");
	c->privileged = sc->privileged;
	const Runtime__V1__NamespaceOption *ns = sc->namespace_options;
	if (ns != NULL) {
		c->ns_network = (PodNsMode)ns->network;
		c->ns_pid = (PodNsMode)ns->pid;
		c->ns_ipc = (PodNsMode)ns->ipc;
		request_set(&c->ns_target_id, ns->target_id);
		if (!request_userns(ns->userns_options, USERNS_FIELD,
				    &c->userns, &c->userns_map, error))
			return FALSE;
	}
	return TRUE;
}

static PodConfig *
pod_config_from_request(const Runtime__V1__RunPodSandboxRequest *r,
			GError **error)
{
	const Runtime__V1__PodSandboxConfig *in = r->config;
	if (in == NULL || in->metadata == NULL) {
		return berth_throw_null(error, INVALID_ARGUMENT,
					"config.metadata is required");
	}
	const Runtime__V1__PodSandboxMetadata *md = in->metadata;
	if (!request_check_name("metadata.name", md->name, error) ||
	    !request_check_name("metadata.namespace", md->namespace_, error) ||
	    !request_check_name("metadata.uid", md->uid, error))
		return NULL;
	g_autoptr(PodConfig) c = pod_config_new();
	request_set(&c->name, md->name);
	request_set(&c->namespace_, md->namespace_);
	request_set(&c->uid, md->uid);
	c->attempt = md->attempt;
	request_set(&c->hostname, in->hostname);
	request_set(&c->log_directory, in->log_directory);
	if (in->dns_config) {
		const Runtime__V1__DNSConfig *d = in->dns_config;
		g_strfreev(c->dns_servers);
		g_strfreev(c->dns_searches);
		g_strfreev(c->dns_options);
		c->dns_servers = request_strv(d->servers, d->n_servers);
		c->dns_searches = request_strv(d->searches, d->n_searches);
		c->dns_options = request_strv(d->options, d->n_options);
	}
	for (size_t i = 0; i < in->n_port_mappings; i++) {
		const Runtime__V1__PortMapping *pm = in->port_mappings[i];
		PodPort *p = g_new0(PodPort, 1);
		p->protocol = g_strdup(protocol_name(pm->protocol));
		p->container_port = pm->container_port;
		p->host_port = pm->host_port;
		p->host_ip = g_strdup(pm->host_ip);
		g_ptr_array_add(c->ports, p);
	}
	request_map(c->labels, (void *const *)in->labels, in->n_labels);
	request_map(c->annotations, (void *const *)in->annotations,
		    in->n_annotations);
	if (in->linux && !take_linux(c, in->linux, error))
		return NULL;
	request_set(&c->runtime_handler, r->runtime_handler);
	return g_steal_pointer(&c);
}

/* --- Pod -> reply pieces ------------------------------------------------- */

static Runtime__V1__PodSandboxMetadata *metadata(CriCall *call, const Pod *p)
{
	Runtime__V1__PodSandboxMetadata *md =
		reply_new(call, Runtime__V1__PodSandboxMetadata,
			  runtime__v1__pod_sandbox_metadata__init);
	md->name = reply_str(call, p->config->name);
	md->uid = reply_str(call, p->config->uid);
	md->namespace_ = reply_str(call, p->config->namespace_);
	md->attempt = p->config->attempt;
	return md;
}

static Runtime__V1__PodSandboxState cri_state(PodState s)
{
	return s == POD_READY
		       ? RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY
		       : RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
}

static gboolean listed(Pod *p)
{
	PodState s = pod_get_state(p);
	return s == POD_READY || s == POD_NOTREADY;
}

static Runtime__V1__PodSandbox *summary(CriCall *call, Pod *p)
{
	Runtime__V1__PodSandbox *s = reply_new(call, Runtime__V1__PodSandbox,
					       runtime__v1__pod_sandbox__init);
	s->id = reply_str(call, p->id);
	s->metadata = metadata(call, p);
	s->state = cri_state(pod_get_state(p));
	s->created_at = p->created_at;
	s->labels = reply_map(
		call, &runtime__v1__pod_sandbox__labels_entry__descriptor,
		p->config->labels, &s->n_labels);
	s->annotations = reply_map(
		call, &runtime__v1__pod_sandbox__annotations_entry__descriptor,
		p->config->annotations, &s->n_annotations);
	s->runtime_handler = reply_str(call, p->config->runtime_handler);
	return s;
}

static gboolean filter_match(Pod *p, const Runtime__V1__PodSandboxFilter *f)
{
	if (!listed(p))
		return FALSE;
	if (f == NULL)
		return TRUE;
	if (f->id[0] != '\0' && !g_str_has_prefix(p->id, f->id))
		return FALSE;
	if (f->state != NULL && cri_state(pod_get_state(p)) != f->state->state)
		return FALSE;
	return labels_match(p->config->labels, (void *const *)f->label_selector,
			    f->n_label_selector);
}

/* --- handlers ------------------------------------------------------------ */

BERTH_UNARY(server_run_pod_sandbox)
{
	BerthServer *s = ctx;
	const Runtime__V1__RunPodSandboxRequest *in =
		(const Runtime__V1__RunPodSandboxRequest *)req;
	PodConfig *c = pod_config_from_request(in, error);
	if (c == NULL)
		return NULL;
	if (!pod_manager_validate(s->pods, c, error)) {
		pod_config_free(c);
		return NULL;
	}
	g_autoptr(Pod) p = pod_manager_run(s->pods, c, error);
	if (p == NULL)
		return NULL;
	/* A client that gave up will retry: its retry gets this pod. */
	pod_manager_mark_answered(s->pods, p, !cri_call_cancelled(call));
	Runtime__V1__RunPodSandboxResponse *r =
		reply_new(call, Runtime__V1__RunPodSandboxResponse,
			  runtime__v1__run_pod_sandbox_response__init);
	r->pod_sandbox_id = reply_str(call, p->id);
	return &r->base;
}

BERTH_UNARY(server_stop_pod_sandbox)
{
	BerthServer *s = ctx;
	const Runtime__V1__StopPodSandboxRequest *in =
		(const Runtime__V1__StopPodSandboxRequest *)req;
	if (!pod_manager_stop(s->pods, in->pod_sandbox_id, error))
		return NULL;
	Runtime__V1__StopPodSandboxResponse *r =
		reply_new(call, Runtime__V1__StopPodSandboxResponse,
			  runtime__v1__stop_pod_sandbox_response__init);
	return &r->base;
}

BERTH_UNARY(server_remove_pod_sandbox)
{
	BerthServer *s = ctx;
	const Runtime__V1__RemovePodSandboxRequest *in =
		(const Runtime__V1__RemovePodSandboxRequest *)req;
	if (in->pod_sandbox_id[0] == '\0') {
		return berth_throw_null(error, INVALID_ARGUMENT,
					"pod_sandbox_id is required");
	}
	if (!pod_manager_remove(s->pods, in->pod_sandbox_id, error))
		return NULL;
	Runtime__V1__RemovePodSandboxResponse *r =
		reply_new(call, Runtime__V1__RemovePodSandboxResponse,
			  runtime__v1__remove_pod_sandbox_response__init);
	return &r->base;
}

static Runtime__V1__IDMapping **id_mapping(CriCall *call, const UsernsRange *r,
					   size_t *n)
{
	Runtime__V1__IDMapping **v =
		arena_alloc(cri_call_arena(call), sizeof *v);
	v[0] = reply_new(call, Runtime__V1__IDMapping,
			 runtime__v1__idmapping__init);
	v[0]->container_id = r->container_id;
	v[0]->host_id = r->host_id;
	v[0]->length = r->length;
	*n = 1;
	return v;
}

static Runtime__V1__UserNamespace *userns_options(CriCall *call, const Pod *p)
{
	Runtime__V1__UserNamespace *u =
		reply_new(call, Runtime__V1__UserNamespace,
			  runtime__v1__user_namespace__init);
	u->mode = RUNTIME__V1__NAMESPACE_MODE__NODE;
	if (!p->config->userns)
		return u;
	u->mode = RUNTIME__V1__NAMESPACE_MODE__POD;
	u->uids = id_mapping(call, &p->config->userns_map.uid, &u->n_uids);
	u->gids = id_mapping(call, &p->config->userns_map.gid, &u->n_gids);
	return u;
}

static Runtime__V1__NamespaceOption *ns_options(CriCall *call, const Pod *p)
{
	Runtime__V1__NamespaceOption *o =
		reply_new(call, Runtime__V1__NamespaceOption,
			  runtime__v1__namespace_option__init);
	o->network = (Runtime__V1__NamespaceMode)p->config->ns_network;
	o->pid = (Runtime__V1__NamespaceMode)p->config->ns_pid;
	o->ipc = (Runtime__V1__NamespaceMode)p->config->ns_ipc;
	o->target_id = reply_str(call, p->config->ns_target_id);
	o->userns_options = userns_options(call, p);
	return o;
}

static Runtime__V1__PodSandboxNetworkStatus *network(CriCall *call,
						     const PodSnapshot *p)
{
	Runtime__V1__PodSandboxNetworkStatus *n =
		reply_new(call, Runtime__V1__PodSandboxNetworkStatus,
			  runtime__v1__pod_sandbox_network_status__init);
	guint count = g_strv_length(p->ips);
	if (count == 0)
		return n;
	n->ip = reply_str(call, p->ips[0]);
	n->additional_ips =
		arena_newv(cri_call_arena(call), Runtime__V1__PodIP *, count);
	for (guint i = 1; i < count; i++) {
		Runtime__V1__PodIP *ip = reply_new(call, Runtime__V1__PodIP,
						   runtime__v1__pod_ip__init);
		ip->ip = reply_str(call, p->ips[i]);
		n->additional_ips[n->n_additional_ips++] = ip;
	}
	return n;
}

static char *verbose_info(const Pod *p, const PodSnapshot *now)
{
	g_autoptr(json_t) o = json_pack(
		"{s:s, s:s, s:s, s:I, s:s?, s:s?, s:s?, s:s?, s:s?}", "id",
		p->id, "name", p->full_name, "runtime", p->runtime, "pid",
		(json_int_t)now->infra_pid, "netns", now->netns, "ipcns",
		now->ipcns, "utsns", now->utsns, "cgroup", now->cgroup,
		"infra_id", now->infra_id);
	return json_dumps(o, JSON_COMPACT);
}

/* The status as of now; also sent with every container event. */
Runtime__V1__PodSandboxStatus *server_pod_status(CriCall *call, Pod *p)
{
	Runtime__V1__PodSandboxStatus *st =
		reply_new(call, Runtime__V1__PodSandboxStatus,
			  runtime__v1__pod_sandbox_status__init);
	st->id = reply_str(call, p->id);
	st->metadata = metadata(call, p);
	st->created_at = p->created_at;
	st->runtime_handler = reply_str(call, p->config->runtime_handler);
	st->labels = reply_map(
		call,
		&runtime__v1__pod_sandbox_status__labels_entry__descriptor,
		p->config->labels, &st->n_labels);
	st->annotations = reply_map(
		call,
		&runtime__v1__pod_sandbox_status__annotations_entry__descriptor,
		p->config->annotations, &st->n_annotations);
	st->linux = reply_new(call, Runtime__V1__LinuxPodSandboxStatus,
			      runtime__v1__linux_pod_sandbox_status__init);
	st->linux->namespaces = reply_new(call, Runtime__V1__Namespace,
					  runtime__v1__namespace__init);
	st->linux->namespaces->options = ns_options(call, p);
	g_auto(PodSnapshot) now = {0};
	pod_snapshot(p, &now);
	st->state = cri_state(now.state);
	st->network = network(call, &now);
	return st;
}

BERTH_UNARY(server_pod_sandbox_status)
{
	BerthServer *s = ctx;
	const Runtime__V1__PodSandboxStatusRequest *in =
		(const Runtime__V1__PodSandboxStatusRequest *)req;
	g_autoptr(Pod) p = store_lookup(pod_manager_store(s->pods),
					in->pod_sandbox_id, error);
	if (p == NULL)
		return NULL;
	Runtime__V1__PodSandboxStatusResponse *r =
		reply_new(call, Runtime__V1__PodSandboxStatusResponse,
			  runtime__v1__pod_sandbox_status_response__init);
	r->status = server_pod_status(call, p);
	/* The timestamp tells an evented-PLEG kubelet that the list of
	 * containers is complete: the two are set together. */
	r->containers_statuses = server_pod_container_statuses(
		s, call, p->id, &r->n_containers_statuses);
	if (in->verbose) {
		g_auto(PodSnapshot) now = {0};
		pod_snapshot(p, &now);
		char *text = verbose_info(p, &now);
		r->info = reply_info(
			call,
			&runtime__v1__pod_sandbox_status_response__info_entry__descriptor,
			"info", text, &r->n_info);
	}
	r->timestamp = g_get_real_time() * 1000;
	return &r->base;
}

BERTH_UNARY(server_list_pod_sandbox)
{
	BerthServer *s = ctx;
	(void)error;
	const Runtime__V1__ListPodSandboxRequest *in =
		(const Runtime__V1__ListPodSandboxRequest *)req;
	g_autoptr(GPtrArray) pods = store_list(pod_manager_store(s->pods));
	Runtime__V1__ListPodSandboxResponse *r =
		reply_new(call, Runtime__V1__ListPodSandboxResponse,
			  runtime__v1__list_pod_sandbox_response__init);
	r->items = arena_newv(cri_call_arena(call), Runtime__V1__PodSandbox *,
			      pods->len + 1);
	for (guint i = 0; i < pods->len; i++) {
		Pod *p = g_ptr_array_index(pods, i);
		if (filter_match(p, in->filter))
			r->items[r->n_items++] = summary(call, p);
	}
	return &r->base;
}

BERTH_STREAM(server_stream_pod_sandboxes)
{
	BerthServer *s = ctx;
	const Runtime__V1__StreamPodSandboxesRequest *in =
		(const Runtime__V1__StreamPodSandboxesRequest *)req;
	g_autoptr(GPtrArray) pods = store_list(pod_manager_store(s->pods));
	g_autoptr(GPtrArray) items = g_ptr_array_new();
	for (guint i = 0; i < pods->len; i++) {
		Pod *p = g_ptr_array_index(pods, i);
		if (filter_match(p, in->filter))
			g_ptr_array_add(items, summary(call, p));
	}
	Runtime__V1__StreamPodSandboxesResponse page =
		RUNTIME__V1__STREAM_POD_SANDBOXES_RESPONSE__INIT;
	return reply_stream_pages(call, &page.base,
				  (void ***)&page.pod_sandboxes,
				  &page.n_pod_sandboxes, items, error);
}
