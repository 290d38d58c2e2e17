/* Container RPCs: CreateContainer, StartContainer, StopContainer,
 * RemoveContainer, ContainerStatus, ListContainers, StreamContainers,
 * ExecSync, ReopenContainerLog, GetContainerEvents. Converts CRI messages
 * to CtrConfig and containers to replies; the work is in sandbox/. */
#include "sandbox/container/ctrlife.h"
#include "server/reply.h"
#include "server/server.h"
#include "server/signal.h"
#include "util/error.h"

#include "util/jsonutil.h"
#include <signal.h>
#include <string.h>

/* --- request -> CtrConfig ------------------------------------------------ */

static gboolean take_envs(CtrConfig *c, Runtime__V1__KeyValue **kvs, size_t n,
			  GError **error)
{
	for (size_t i = 0; i < n; i++) {
		const ProtobufCBinaryData *v = &kvs[i]->value;
		if (kvs[i]->key[0] == '\0' || strchr(kvs[i]->key, '='))
			return berth_throw(
				error, INVALID_ARGUMENT,
				"envs[%zu]: \"%s\" is not a variable "
				"name",
				i, kvs[i]->key);
		if (memchr(v->data, '\0', v->len) != NULL)
			return berth_throw(error, INVALID_ARGUMENT,
					   "envs[%zu] (%s): the value holds a "
					   "NUL byte",
					   i, kvs[i]->key);
		g_autofree char *value =
			g_strndup((const char *)v->data, v->len);
		kv_list_add(c->envs, kvs[i]->key, value);
	}
	return TRUE;
}

static gboolean take_mounts(CtrConfig *c, Runtime__V1__Mount **ms, size_t n,
			    GError **error)
{
	for (size_t i = 0; i < n; i++) {
		const Runtime__V1__Mount *m = ms[i];
		if (m->image != NULL && m->image->image[0] != '\0') {
			if (m->container_path[0] != '/')
				return berth_throw(
					error, INVALID_ARGUMENT,
					"mounts[%zu]: container_path "
					"must be absolute",
					i);
			/* The image id is filled in by resolve_image_mounts. */
			ctr_config_add_image_mount(
				c, m->container_path, m->image->image, "",
				m->image_sub_path, m->readonly);
			continue;
		}
		if (m->container_path[0] != '/' || m->host_path[0] != '/')
			return berth_throw(error, INVALID_ARGUMENT,
					   "mounts[%zu]: container_path and "
					   "host_path must be absolute",
					   i);
		ctr_config_add_mount(c, m->container_path, m->host_path,
				     m->readonly,
				     (CtrPropagation)m->propagation);
		CtrMount *last =
			g_ptr_array_index(c->mounts, c->mounts->len - 1);
		last->selinux_relabel = m->selinux_relabel;
		last->recursive_read_only = m->recursive_read_only;
	}
	return TRUE;
}

static void take_profile(const Runtime__V1__SecurityProfile *p, CtrProfile *out)
{
	if (p == NULL)
		return;
	ctr_profile_clear(out);
	out->kind = (CtrProfileKind)p->profile_type;
	out->localhost_ref = g_strdup(p->localhost_ref);
}

static gboolean
take_security(CtrConfig *c, const Runtime__V1__LinuxContainerSecurityContext *s,
	      GError **error)
{
	CtrSecurity *o = &c->security;
	if (s->run_as_group != NULL && s->run_as_user == NULL &&
	    s->run_as_username[0] == '\0')
		return berth_throw(error, INVALID_ARGUMENT,
				   "config.linux.security_context.run_as_group "
				   "is set without run_as_user or "
				   "run_as_username");
	if (s->capabilities) {
		g_strfreev(o->cap_add);
		g_strfreev(o->cap_drop);
		g_strfreev(o->cap_add_ambient);
		o->cap_add = request_strv(s->capabilities->add_capabilities,
					  s->capabilities->n_add_capabilities);
		o->cap_drop =
			request_strv(s->capabilities->drop_capabilities,
				     s->capabilities->n_drop_capabilities);
		o->cap_add_ambient = request_strv(
			s->capabilities->add_ambient_capabilities,
			s->capabilities->n_add_ambient_capabilities);
	}
	o->privileged = s->privileged;
	if (s->namespace_options) {
		o->ns_pid = (PodNsMode)s->namespace_options->pid;
		request_set(&o->ns_target_id, s->namespace_options->target_id);
		o->userns_given = s->namespace_options->userns_options != NULL;
		if (!request_userns(s->namespace_options->userns_options,
				    USERNS_FIELD, &o->userns, &o->userns_map,
				    error))
			return FALSE;
	}
	if (s->run_as_user)
		o->run_as_user = (CtrOptInt){TRUE, s->run_as_user->value};
	if (s->run_as_group)
		o->run_as_group = (CtrOptInt){TRUE, s->run_as_group->value};
	request_set(&o->run_as_username, s->run_as_username);
	o->readonly_rootfs = s->readonly_rootfs;
	for (size_t i = 0; i < s->n_supplemental_groups; i++)
		g_array_append_val(o->supplemental_groups,
				   s->supplemental_groups[i]);
	o->supplemental_groups_policy =
		(CtrGroupsPolicy)s->supplemental_groups_policy;
	o->no_new_privs = s->no_new_privs;
	/* proto3 cannot tell an empty list from an unset one: an empty list
	 * keeps berth's defaults (kubelet sends its own lists explicitly). */
	if (s->n_masked_paths > 0) {
		g_strfreev(o->masked_paths);
		o->masked_paths =
			request_strv(s->masked_paths, s->n_masked_paths);
	}
	if (s->n_readonly_paths > 0) {
		g_strfreev(o->readonly_paths);
		o->readonly_paths =
			request_strv(s->readonly_paths, s->n_readonly_paths);
	}
	/* The deprecated string fields still come from older kubelets. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
	const char *legacy_seccomp = s->seccomp_profile_path;
	const char *legacy_apparmor = s->apparmor_profile;
#pragma GCC diagnostic pop
	if (s->seccomp)
		take_profile(s->seccomp, &o->seccomp);
	else if (legacy_seccomp[0] != '\0' &&
		 !ctr_profile_parse_legacy(legacy_seccomp, &o->seccomp, error))
		return FALSE;
	if (s->apparmor)
		take_profile(s->apparmor, &o->apparmor);
	else if (legacy_apparmor[0] != '\0' &&
		 !ctr_profile_parse_legacy(legacy_apparmor, &o->apparmor,
					   error))
		return FALSE;
	if (s->selinux_options) {
		request_set(&o->selinux_user, s->selinux_options->user);
		request_set(&o->selinux_role, s->selinux_options->role);
		request_set(&o->selinux_type, s->selinux_options->type);
		request_set(&o->selinux_level, s->selinux_options->level);
	}
	return TRUE;
}

static void take_resources(CtrConfig *c,
			   const Runtime__V1__LinuxContainerResources *r)
{
	CtrResources *o = &c->resources;
	o->cpu_period = r->cpu_period;
	o->cpu_quota = r->cpu_quota;
	o->cpu_shares = r->cpu_shares;
	o->memory_limit = r->memory_limit_in_bytes;
	o->memory_swap_limit = r->memory_swap_limit_in_bytes;
	o->oom_score_adj = r->oom_score_adj;
	request_set(&o->cpuset_cpus, r->cpuset_cpus);
	request_set(&o->cpuset_mems, r->cpuset_mems);
	for (size_t i = 0; i < r->n_hugepage_limits; i++)
		ctr_config_add_hugepage_limit(c,
					      r->hugepage_limits[i]->page_size,
					      r->hugepage_limits[i]->limit);
	request_map(o->unified, (void *const *)r->unified, r->n_unified);
}

static CtrConfig *
ctr_config_from_request(const Runtime__V1__ContainerConfig *in, GError **error)
{
	if (in == NULL || in->metadata == NULL)
		return berth_throw_null(error, INVALID_ARGUMENT,
					"config.metadata.name is required");
	if (!request_check_name("config.metadata.name", in->metadata->name,
				error))
		return NULL;
	if (in->image == NULL || in->image->image[0] == '\0')
		return berth_throw_null(error, INVALID_ARGUMENT,
					"config.image.image is required");
	g_autoptr(CtrConfig) c = ctr_config_new();
	request_set(&c->name, in->metadata->name);
	c->attempt = in->metadata->attempt;
	request_set(&c->image, in->image->image);
	g_strfreev(c->command);
	g_strfreev(c->args);
	c->command = request_strv(in->command, in->n_command);
	c->args = request_strv(in->args, in->n_args);
	request_set(&c->working_dir, in->working_dir);
	if (in->log_path[0] == '/' || strstr(in->log_path, "..")) {
		return berth_throw_null(
			error, INVALID_ARGUMENT,
			"log_path \"%s\" must be relative to the pod's "
			"log_directory",
			in->log_path);
	}
	request_set(&c->log_path, in->log_path);
	c->stdin_ = in->stdin;
	c->stdin_once = in->stdin_once;
	c->tty = in->tty;
	c->stop_signal = server_signal_from_cri(in->stop_signal);
	request_map(c->labels, (void *const *)in->labels, in->n_labels);
	request_map(c->annotations, (void *const *)in->annotations,
		    in->n_annotations);
	g_strfreev(c->cdi_devices);
	c->cdi_devices = g_new0(char *, in->n_cdi_devices + 1);
	for (size_t i = 0; i < in->n_cdi_devices; i++)
		c->cdi_devices[i] = g_strdup(in->cdi_devices[i]->name);
	for (size_t i = 0; i < in->n_devices; i++)
		ctr_config_add_device(c, in->devices[i]->container_path,
				      in->devices[i]->host_path,
				      in->devices[i]->permissions);
	if (!take_envs(c, in->envs, in->n_envs, error) ||
	    !take_mounts(c, in->mounts, in->n_mounts, error))
		return NULL;
	if (in->linux && in->linux->resources)
		take_resources(c, in->linux->resources);
	if (in->linux && in->linux->security_context &&
	    !take_security(c, in->linux->security_context, error))
		return NULL;
	return g_steal_pointer(&c);
}

/* --- Container -> reply pieces ------------------------------------------- */

static Runtime__V1__ContainerState cri_state(CtrState s)
{
	switch (s) {
	case CTR_CREATED:
		return RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED;
	case CTR_RUNNING:
		return RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
	case CTR_EXITED:
		return RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED;
	default:
		return RUNTIME__V1__CONTAINER_STATE__CONTAINER_UNKNOWN;
	}
}

static Runtime__V1__ContainerMetadata *ctr_metadata(CriCall *call,
						    const Container *c)
{
	Runtime__V1__ContainerMetadata *md =
		reply_new(call, Runtime__V1__ContainerMetadata,
			  runtime__v1__container_metadata__init);
	md->name = reply_str(call, c->config->name);
	md->attempt = c->config->attempt;
	return md;
}

static Runtime__V1__ImageSpec *image_spec(CriCall *call, const Container *c)
{
	Runtime__V1__ImageSpec *s = reply_new(call, Runtime__V1__ImageSpec,
					      runtime__v1__image_spec__init);
	s->image = reply_str(call, c->image_name);
	s->image_ref = reply_str(call, c->image_id);
	s->user_specified_image = reply_str(call, c->image_name);
	return s;
}

static Runtime__V1__Container *ctr_summary(CriCall *call, Container *c,
					   CtrState state)
{
	Runtime__V1__Container *r = reply_new(call, Runtime__V1__Container,
					      runtime__v1__container__init);
	r->id = reply_str(call, c->id);
	r->pod_sandbox_id = reply_str(call, c->pod_id);
	r->metadata = ctr_metadata(call, c);
	r->image = image_spec(call, c);
	r->image_ref = reply_str(call, c->image_id);
	r->image_id = reply_str(call, c->image_id);
	r->state = cri_state(state);
	r->created_at = c->created_at;
	r->labels = reply_map(call,
			      &runtime__v1__container__labels_entry__descriptor,
			      c->config->labels, &r->n_labels);
	r->annotations = reply_map(
		call, &runtime__v1__container__annotations_entry__descriptor,
		c->config->annotations, &r->n_annotations);
	return r;
}

static Runtime__V1__Mount *mount_reply(CriCall *call, const CtrMount *m)
{
	Runtime__V1__Mount *r =
		reply_new(call, Runtime__V1__Mount, runtime__v1__mount__init);
	r->container_path = reply_str(call, m->container_path);
	r->host_path = reply_str(call, m->host_path);
	r->readonly = m->readonly;
	r->selinux_relabel = m->selinux_relabel;
	r->recursive_read_only = m->recursive_read_only;
	r->propagation = (Runtime__V1__MountPropagation)m->propagation;
	if (m->image[0] != '\0') {
		r->image = reply_new(call, Runtime__V1__ImageSpec,
				     runtime__v1__image_spec__init);
		r->image->image = reply_str(call, m->image);
		r->image_sub_path = reply_str(call, m->image_sub_path);
	}
	return r;
}

/* The resources as last applied; read under container_read (an update
 * rewrites them). */
static Runtime__V1__ContainerResources *resources_reply(CriCall *call,
							const Container *c)
{
	const CtrResources *r = &c->config->resources;
	Runtime__V1__LinuxContainerResources *l =
		reply_new(call, Runtime__V1__LinuxContainerResources,
			  runtime__v1__linux_container_resources__init);
	l->cpu_period = r->cpu_period;
	l->cpu_quota = r->cpu_quota;
	l->cpu_shares = r->cpu_shares;
	l->memory_limit_in_bytes = r->memory_limit;
	l->memory_swap_limit_in_bytes = r->memory_swap_limit;
	l->oom_score_adj = r->oom_score_adj;
	l->cpuset_cpus = reply_str(call, r->cpuset_cpus);
	l->cpuset_mems = reply_str(call, r->cpuset_mems);
	l->hugepage_limits =
		arena_newv(cri_call_arena(call), Runtime__V1__HugepageLimit *,
			   r->hugepage_limits->len + 1);
	for (guint i = 0; i < r->hugepage_limits->len; i++) {
		const CtrHugepageLimit *h =
			g_ptr_array_index(r->hugepage_limits, i);
		Runtime__V1__HugepageLimit *o =
			reply_new(call, Runtime__V1__HugepageLimit,
				  runtime__v1__hugepage_limit__init);
		o->page_size = reply_str(call, h->page_size);
		o->limit = h->limit;
		l->hugepage_limits[l->n_hugepage_limits++] = o;
	}
	l->unified = reply_map(
		call,
		&runtime__v1__linux_container_resources__unified_entry__descriptor,
		r->unified, &l->n_unified);
	Runtime__V1__ContainerResources *out =
		reply_new(call, Runtime__V1__ContainerResources,
			  runtime__v1__container_resources__init);
	out->linux = l;
	return out;
}

/* Unset for records older than the field. Read under container_read. */
static Runtime__V1__ContainerUser *user_reply(CriCall *call, const Container *c)
{
	if (!c->has_user)
		return NULL;
	Runtime__V1__LinuxContainerUser *l =
		reply_new(call, Runtime__V1__LinuxContainerUser,
			  runtime__v1__linux_container_user__init);
	l->uid = c->uid;
	l->gid = c->gid;
	l->supplemental_groups =
		arena_newv(cri_call_arena(call), int64_t, c->groups->len + 1);
	for (guint i = 0; i < c->groups->len; i++)
		l->supplemental_groups[l->n_supplemental_groups++] =
			g_array_index(c->groups, guint32, i);
	Runtime__V1__ContainerUser *u =
		reply_new(call, Runtime__V1__ContainerUser,
			  runtime__v1__container_user__init);
	u->linux = l;
	return u;
}

typedef struct {
	CriCall *call;
	Runtime__V1__ContainerStatus *st;
} StatusRead;

/* What of a status can change, read in one go (container_read). */
static void read_status(const Container *c, gpointer data)
{
	StatusRead *r = data;
	Runtime__V1__ContainerStatus *st = r->st;
	st->state = cri_state(c->state);
	st->started_at = c->started_at;
	st->finished_at = c->finished_at;
	st->exit_code = c->exit_code;
	st->reason = reply_str(r->call, c->reason);
	st->message = reply_str(r->call, c->message);
	st->resources = resources_reply(r->call, c);
	st->user = user_reply(r->call, c);
	/* The signal in effect: config, else the image's, else SIGTERM. */
	st->stop_signal = (Runtime__V1__Signal)server_signal_to_cri(
		c->stop_signal > 0 ? c->stop_signal : SIGTERM);
}

/* The status as of now; caller holds nothing. */
Runtime__V1__ContainerStatus *server_container_status(CriCall *call,
						      Container *c)
{
	Runtime__V1__ContainerStatus *st =
		reply_new(call, Runtime__V1__ContainerStatus,
			  runtime__v1__container_status__init);
	st->id = reply_str(call, c->id);
	st->metadata = ctr_metadata(call, c);
	st->image = image_spec(call, c);
	st->image_ref = reply_str(call, c->image_id);
	st->image_id = reply_str(call, c->image_id);
	st->created_at = c->created_at;
	st->log_path = reply_str(call, c->log_path);
	st->labels = reply_map(
		call, &runtime__v1__container_status__labels_entry__descriptor,
		c->config->labels, &st->n_labels);
	st->annotations = reply_map(
		call,
		&runtime__v1__container_status__annotations_entry__descriptor,
		c->config->annotations, &st->n_annotations);
	GPtrArray *mounts = c->config->mounts;
	st->mounts = arena_newv(cri_call_arena(call), Runtime__V1__Mount *,
				mounts->len + 1);
	for (guint i = 0; i < mounts->len; i++)
		st->mounts[st->n_mounts++] =
			mount_reply(call, g_ptr_array_index(mounts, i));
	StatusRead r = {.call = call, .st = st};
	container_read(c, read_status, &r);
	return st;
}

static void read_info(const Container *c, gpointer data)
{
	*(json_t **)data = json_pack(
		"{s:s, s:s, s:i, s:s, s:s, s:s, s:s}", "id", c->id, "sandboxID",
		c->pod_id, "pid", c->pid, "runtime", c->runtime, "bundle",
		c->dir, "cgroup", c->cgroup, "name", c->full_name);
}

Runtime__V1__ContainerStatus **server_pod_container_statuses(BerthServer *s,
							     CriCall *call,
							     const char *pod_id,
							     size_t *n_out)
{
	g_autoptr(GPtrArray) ctrs = ctr_manager_list_pod(s->containers, pod_id);
	Runtime__V1__ContainerStatus **out =
		arena_newv(cri_call_arena(call), Runtime__V1__ContainerStatus *,
			   ctrs->len + 1);
	*n_out = 0;
	for (guint i = 0; i < ctrs->len; i++)
		out[(*n_out)++] = server_container_status(
			call, g_ptr_array_index(ctrs, i));
	return out;
}

static char *ctr_info(Container *c)
{
	g_autoptr(json_t) o = NULL;
	container_read(c, read_info, &o);
	return json_dumps(o, JSON_COMPACT);
}

/* st is c's state, read once by the caller: the one its summary shows.
 * A container still being created or removed is never listed. */
static gboolean filter_match(Container *c, CtrState st,
			     const Runtime__V1__ContainerFilter *f)
{
	if (st == CTR_CREATING || st == CTR_REMOVING)
		return FALSE;
	if (f == NULL)
		return TRUE;
	if (f->id[0] != '\0' && !g_str_has_prefix(c->id, f->id))
		return FALSE;
	if (f->pod_sandbox_id[0] != '\0' &&
	    !g_str_has_prefix(c->pod_id, f->pod_sandbox_id))
		return FALSE;
	if (f->state != NULL && cri_state(st) != f->state->state)
		return FALSE;
	return labels_match(c->config->labels, (void *const *)f->label_selector,
			    f->n_label_selector);
}

/* --- handlers ------------------------------------------------------------ */

/* Image volumes name their image as kubelet pulled it (tag, digest or
 * id): resolved here as the container's own image is. */
static gboolean resolve_image_mounts(BerthServer *s, CtrConfig *cfg,
				     GError **error)
{
	for (guint i = 0; i < cfg->mounts->len; i++) {
		CtrMount *m = g_ptr_array_index(cfg->mounts, i);
		if (m->image[0] == '\0')
			continue;
		g_autoptr(ImageRecord) img =
			image_puller_lookup(s->puller, m->image, NULL);
		if (img == NULL)
			return berth_throw(error, NOT_FOUND,
					   "mounts[%u] (%s): image %s is not "
					   "present: pull it first",
					   i, m->container_path, m->image);
		g_free(m->image_id);
		m->image_id = g_strdup(img->id);
	}
	return TRUE;
}

BERTH_UNARY(server_create_container)
{
	BerthServer *s = ctx;
	const Runtime__V1__CreateContainerRequest *in =
		(const Runtime__V1__CreateContainerRequest *)req;
	if (in->pod_sandbox_id[0] == '\0') {
		return berth_throw_null(error, INVALID_ARGUMENT,
					"pod_sandbox_id is required");
	}
	CtrConfig *cfg = ctr_config_from_request(in->config, error);
	if (cfg == NULL)
		return NULL;
	if (!resolve_image_mounts(s, cfg, error)) {
		ctr_config_free(cfg);
		return NULL;
	}
	/* The image as ImageStatus finds it: "busybox" is busybox:latest on
	 * the first search registry that has it. */
	const char *image = in->config->image->image;
	g_autoptr(ImageRecord) img =
		image_puller_lookup(s->puller, image, NULL);
	g_autoptr(Container) c = ctr_manager_create(
		s->containers, in->pod_sandbox_id, cfg, image, img, error);
	if (c == NULL)
		return NULL;
	ctr_manager_mark_answered(s->containers, c, !cri_call_cancelled(call));
	Runtime__V1__CreateContainerResponse *r =
		reply_new(call, Runtime__V1__CreateContainerResponse,
			  runtime__v1__create_container_response__init);
	r->container_id = reply_str(call, c->id);
	return &r->base;
}

BERTH_UNARY(server_start_container)
{
	BerthServer *s = ctx;
	const Runtime__V1__StartContainerRequest *in =
		(const Runtime__V1__StartContainerRequest *)req;
	if (!ctr_manager_start(s->containers, in->container_id, error))
		return NULL;
	Runtime__V1__StartContainerResponse *r =
		reply_new(call, Runtime__V1__StartContainerResponse,
			  runtime__v1__start_container_response__init);
	return &r->base;
}

BERTH_UNARY(server_stop_container)
{
	BerthServer *s = ctx;
	const Runtime__V1__StopContainerRequest *in =
		(const Runtime__V1__StopContainerRequest *)req;
	if (in->timeout < 0) {
		return berth_throw_null(error, INVALID_ARGUMENT,
					"timeout must not be negative");
	}
	if (!ctr_manager_stop(s->containers, in->container_id, in->timeout,
			      error))
		return NULL;
	Runtime__V1__StopContainerResponse *r =
		reply_new(call, Runtime__V1__StopContainerResponse,
			  runtime__v1__stop_container_response__init);
	return &r->base;
}

BERTH_UNARY(server_remove_container)
{
	BerthServer *s = ctx;
	const Runtime__V1__RemoveContainerRequest *in =
		(const Runtime__V1__RemoveContainerRequest *)req;
	if (in->container_id[0] == '\0') {
		return berth_throw_null(error, INVALID_ARGUMENT,
					"container_id is required");
	}
	if (!ctr_manager_remove(s->containers, in->container_id, error))
		return NULL;
	Runtime__V1__RemoveContainerResponse *r =
		reply_new(call, Runtime__V1__RemoveContainerResponse,
			  runtime__v1__remove_container_response__init);
	return &r->base;
}

BERTH_UNARY(server_container_status_rpc)
{
	BerthServer *s = ctx;
	const Runtime__V1__ContainerStatusRequest *in =
		(const Runtime__V1__ContainerStatusRequest *)req;
	g_autoptr(Container) c =
		ctr_manager_lookup(s->containers, in->container_id, error);
	if (c == NULL)
		return NULL;
	Runtime__V1__ContainerStatusResponse *r =
		reply_new(call, Runtime__V1__ContainerStatusResponse,
			  runtime__v1__container_status_response__init);
	r->status = server_container_status(call, c);
	if (in->verbose)
		r->info = reply_info(
			call,
			&runtime__v1__container_status_response__info_entry__descriptor,
			"info", ctr_info(c), &r->n_info);
	return &r->base;
}

/* The containers f selects, in creation order (each held by a ref), and
 * in states the state each was matched in. */
static GPtrArray *
matching(BerthServer *s, const Runtime__V1__ContainerFilter *f, GArray *states)
{
	g_autoptr(GPtrArray) all = ctr_manager_list(s->containers);
	GPtrArray *out =
		g_ptr_array_new_full(all->len, (GDestroyNotify)container_unref);
	for (guint i = 0; i < all->len; i++) {
		Container *c = g_ptr_array_index(all, i);
		CtrState st = container_get_state(c);
		if (!filter_match(c, st, f))
			continue;
		g_ptr_array_add(out, container_ref(c));
		g_array_append_val(states, st);
	}
	return out;
}

/* c's summary packed as one element of a repeated message field: its
 * length as a varint, then the message. The container keeps it for the
 * state it shows (container_list_entry), so a list at 1,000 containers
 * packs only what changed since the last one. */
static GBytes *pack_summary(Container *c, CtrState st, gpointer call)
{
	Runtime__V1__Container *r = ctr_summary(call, c, st);
	size_t len = protobuf_c_message_get_packed_size(&r->base);
	guint8 *buf = g_malloc(len + 10);
	size_t n = 0, v = len;
	for (; v >= 0x80; v >>= 7)
		buf[n++] = (guint8)(v | 0x80);
	buf[n++] = (guint8)v;
	protobuf_c_message_pack(&r->base, buf + n);
	return g_bytes_new_take(buf, n + len);
}

/* The reply's containers go out as the packed entries themselves:
 * protobuf-c writes a message's unknown fields verbatim after its known
 * ones, and `containers` is the response's only field. */
BERTH_UNARY(server_list_containers)
{
	BerthServer *s = ctx;
	(void)error;
	const Runtime__V1__ListContainersRequest *in =
		(const Runtime__V1__ListContainersRequest *)req;
	const ProtobufCFieldDescriptor *fd =
		protobuf_c_message_descriptor_get_field_by_name(
			&runtime__v1__list_containers_response__descriptor,
			"containers");
	Arena *a = cri_call_arena(call);
	g_autoptr(GArray) states = g_array_new(FALSE, FALSE, sizeof(CtrState));
	g_autoptr(GPtrArray) items = matching(s, in->filter, states);
	ProtobufCMessageUnknownField *fields =
		arena_newv(a, ProtobufCMessageUnknownField, items->len + 1);
	for (guint i = 0; i < items->len; i++) {
		GBytes *b = container_list_entry(
			g_ptr_array_index(items, i),
			g_array_index(states, CtrState, i), pack_summary, call);
		arena_own(a, b, (GDestroyNotify)g_bytes_unref);
		gsize size = 0;
		fields[i].tag = fd->id;
		fields[i].wire_type = PROTOBUF_C_WIRE_TYPE_LENGTH_PREFIXED;
		fields[i].data = (uint8_t *)g_bytes_get_data(b, &size);
		fields[i].len = size;
	}
	Runtime__V1__ListContainersResponse *r =
		reply_new(call, Runtime__V1__ListContainersResponse,
			  runtime__v1__list_containers_response__init);
	r->base.n_unknown_fields = items->len;
	r->base.unknown_fields = fields;
	return &r->base;
}

BERTH_STREAM(server_stream_containers)
{
	BerthServer *s = ctx;
	const Runtime__V1__StreamContainersRequest *in =
		(const Runtime__V1__StreamContainersRequest *)req;
	g_autoptr(GArray) states = g_array_new(FALSE, FALSE, sizeof(CtrState));
	g_autoptr(GPtrArray) ctrs = matching(s, in->filter, states);
	g_autoptr(GPtrArray) items = g_ptr_array_sized_new(ctrs->len);
	for (guint i = 0; i < ctrs->len; i++)
		g_ptr_array_add(
			items, ctr_summary(call, g_ptr_array_index(ctrs, i),
					   g_array_index(states, CtrState, i)));
	Runtime__V1__StreamContainersResponse page =
		RUNTIME__V1__STREAM_CONTAINERS_RESPONSE__INIT;
	return reply_stream_pages(call, &page.base, (void ***)&page.containers,
				  &page.n_containers, items, error);
}

BERTH_UNARY(server_exec_sync)
{
	BerthServer *s = ctx;
	const Runtime__V1__ExecSyncRequest *in =
		(const Runtime__V1__ExecSyncRequest *)req;
	if (in->n_cmd == 0) {
		return berth_throw_null(error, INVALID_ARGUMENT,
					"cmd is required");
	}
	g_auto(GStrv) cmd = request_strv(in->cmd, in->n_cmd);
	ExecResult res;
	if (!ctr_manager_exec_sync(s->containers, in->container_id, cmd,
				   in->timeout, &res, error))
		return NULL;
	Runtime__V1__ExecSyncResponse *r =
		reply_new(call, Runtime__V1__ExecSyncResponse,
			  runtime__v1__exec_sync_response__init);
	Arena *a = cri_call_arena(call);
	r->stdout.len = res.out->len;
	r->stdout.data = arena_alloc(a, res.out->len + 1);
	memcpy(r->stdout.data, res.out->str, res.out->len);
	r->stderr.len = res.err->len;
	r->stderr.data = arena_alloc(a, res.err->len + 1);
	memcpy(r->stderr.data, res.err->str, res.err->len);
	r->exit_code = res.exit_code;
	exec_result_clear(&res);
	return &r->base;
}

BERTH_UNARY(server_reopen_container_log)
{
	BerthServer *s = ctx;
	const Runtime__V1__ReopenContainerLogRequest *in =
		(const Runtime__V1__ReopenContainerLogRequest *)req;
	if (!ctr_manager_reopen_log(s->containers, in->container_id, error))
		return NULL;
	Runtime__V1__ReopenContainerLogResponse *r =
		reply_new(call, Runtime__V1__ReopenContainerLogResponse,
			  runtime__v1__reopen_container_log_response__init);
	return &r->base;
}
