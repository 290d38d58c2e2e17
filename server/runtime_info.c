/* Version, Status, RuntimeConfig and UpdateRuntimeConfig. */
#include "server/reply.h"
#include "server/server.h"
#include "util/error.h"
#include "util/log.h"

#include <gio/gio.h>
#include <jansson.h>
#include <string.h>

/* The CRI "version" field: the runtime API version kubelet expects. */
#define CRI_KUBELET_API_VERSION "0.1.0"

BERTH_UNARY(server_version)
{
	(void)ctx;
	(void)req;
	(void)error;
	Runtime__V1__VersionResponse *r =
		reply_new(call, Runtime__V1__VersionResponse,
			  runtime__v1__version_response__init);
	r->version = CRI_KUBELET_API_VERSION;
	r->runtime_name = "berth";
	r->runtime_version = BERTH_VERSION;
	r->runtime_api_version = "v1";
	return &r->base;
}

static Runtime__V1__RuntimeCondition *condition(CriCall *call, const char *type,
						gboolean status,
						const char *reason,
						const char *message)
{
	Runtime__V1__RuntimeCondition *c =
		reply_new(call, Runtime__V1__RuntimeCondition,
			  runtime__v1__runtime_condition__init);
	c->type = (char *)type;
	c->status = status;
	c->reason = reply_str(call, reason ? reason : "");
	c->message = reply_str(call, message ? message : "");
	return c;
}

static Runtime__V1__RuntimeCondition *runtime_condition(BerthServer *s,
							CriCall *call)
{
	const OciRuntime *rt = s->runtimes->default_runtime;
	if (rt != NULL && rt->works)
		return condition(call, "RuntimeReady", TRUE, NULL, NULL);
	return condition(call, "RuntimeReady", FALSE, "RuntimeNotReady",
			 s->runtimes->default_why);
}

static Runtime__V1__RuntimeCondition *network_condition(BerthServer *s,
							CriCall *call)
{
	g_autofree char *reason = NULL, *message = NULL;
	gboolean ok = cni_manager_status(s->cni, &reason, &message);
	return condition(call, "NetworkReady", ok, reason, message);
}

/* Handlers offered: "" (the default) and every configured one that works,
 * each with what its start-up probes showed working (recursive read-only
 * mounts; user namespaces with idmapped mounts). */
static void add_handlers(BerthServer *s, CriCall *call,
			 Runtime__V1__StatusResponse *r)
{
	GPtrArray *rts = s->runtimes->runtimes;
	r->runtime_handlers =
		arena_newv(cri_call_arena(call), Runtime__V1__RuntimeHandler *,
			   rts->len + 1);
	for (gint i = -1; i < (gint)rts->len; i++) {
		const OciRuntime *rt = i < 0 ? s->runtimes->default_runtime
					     : g_ptr_array_index(rts, i);
		if (rt == NULL || !rt->works)
			continue;
		Runtime__V1__RuntimeHandler *h =
			reply_new(call, Runtime__V1__RuntimeHandler,
				  runtime__v1__runtime_handler__init);
		h->name = i < 0 ? "" : reply_str(call, rt->name);
		h->features =
			reply_new(call, Runtime__V1__RuntimeHandlerFeatures,
				  runtime__v1__runtime_handler_features__init);
		h->features->recursive_read_only_mounts = rt->rro;
		h->features->user_namespaces = rt->userns;
		r->runtime_handlers[r->n_runtime_handlers++] = h;
	}
}

static char *runtimes_json(BerthServer *s)
{
	json_t *a = json_array();
	for (guint i = 0; i < s->runtimes->runtimes->len; i++) {
		const OciRuntime *rt =
			g_ptr_array_index(s->runtimes->runtimes, i);
		json_t *o = json_pack("{s:s, s:s, s:s, s:b, s:b}", "name",
				      rt->name, "path", rt->path, "root",
				      rt->root, "works", rt->works,
				      "recursiveReadOnlyMounts", rt->rro);
		if (rt->problem)
			json_object_set_new(o, "problem",
					    json_string(rt->problem));
		json_object_set_new(o, "userNamespaces",
				    json_boolean(rt->userns));
		if (rt->userns_problem)
			json_object_set_new(o, "userNamespacesProblem",
					    json_string(rt->userns_problem));
		json_array_append_new(a, o);
	}
	char *text = json_dumps(a, JSON_COMPACT);
	json_decref(a);
	return text;
}

static void add_info(CriCall *call, Runtime__V1__StatusResponse *r,
		     const char *key, char *value_malloced)
{
	Runtime__V1__StatusResponse__InfoEntry *e =
		reply_new(call, Runtime__V1__StatusResponse__InfoEntry,
			  runtime__v1__status_response__info_entry__init);
	e->key = (char *)key;
	e->value = reply_str(call, value_malloced);
	free(value_malloced);
	r->info[r->n_info++] = e;
}

BERTH_UNARY(server_status)
{
	(void)error;
	BerthServer *s = ctx;
	const Runtime__V1__StatusRequest *in =
		(const Runtime__V1__StatusRequest *)req;
	Arena *a = cri_call_arena(call);
	Runtime__V1__StatusResponse *r =
		reply_new(call, Runtime__V1__StatusResponse,
			  runtime__v1__status_response__init);
	r->status = reply_new(call, Runtime__V1__RuntimeStatus,
			      runtime__v1__runtime_status__init);
	r->status->conditions =
		arena_newv(a, Runtime__V1__RuntimeCondition *, 2);
	r->status->conditions[0] = runtime_condition(s, call);
	r->status->conditions[1] = network_condition(s, call);
	r->status->n_conditions = 2;
	add_handlers(s, call, r);
	r->features = reply_new(call, Runtime__V1__RuntimeFeatures,
				runtime__v1__runtime_features__init);
	/* Merge and Strict: sandbox/spec/ctr-user.c. */
	r->features->supplemental_groups_policy = TRUE;
	if (in->verbose) {
		r->info = arena_newv(
			a, Runtime__V1__StatusResponse__InfoEntry *, 3);
		add_info(call, r, "config", berth_config_to_json(s->config));
		add_info(call, r, "runtimes", runtimes_json(s));
		g_mutex_lock(&s->lock);
		json_t *net = json_pack("{s:s}", "podCIDR", s->pod_cidr);
		g_mutex_unlock(&s->lock);
		add_info(call, r, "network", json_dumps(net, JSON_COMPACT));
		json_decref(net);
	}
	return &r->base;
}

BERTH_UNARY(server_runtime_config)
{
	(void)req;
	(void)error;
	BerthServer *s = ctx;
	Runtime__V1__RuntimeConfigResponse *r =
		reply_new(call, Runtime__V1__RuntimeConfigResponse,
			  runtime__v1__runtime_config_response__init);
	r->linux = reply_new(call, Runtime__V1__LinuxRuntimeConfiguration,
			     runtime__v1__linux_runtime_configuration__init);
	r->linux->cgroup_driver =
		strcmp(s->config->cgroup_manager, "systemd") == 0
			? RUNTIME__V1__CGROUP_DRIVER__SYSTEMD
			: RUNTIME__V1__CGROUP_DRIVER__CGROUPFS;
	return &r->base;
}

static gboolean valid_cidr(const char *cidr)
{
	g_auto(GStrv) parts = g_strsplit(cidr, "/", 2);
	if (parts[0] == NULL || parts[1] == NULL)
		return FALSE;
	g_autoptr(GInetAddress) addr = g_inet_address_new_from_string(parts[0]);
	guint64 bits;
	if (addr == NULL ||
	    !g_ascii_string_to_unsigned(parts[1], 10, 0,
					g_inet_address_get_family(addr) ==
							G_SOCKET_FAMILY_IPV4
						? 32
						: 128,
					&bits, NULL))
		return FALSE;
	return TRUE;
}

/* kubelet sends the node's pod CIDR here; berth keeps it (CNI plugins get
 * their ranges from their own config, as with CRI-O). Dual-stack CIDRs
 * come comma-separated. */
BERTH_UNARY(server_update_runtime_config)
{
	BerthServer *s = ctx;
	const Runtime__V1__UpdateRuntimeConfigRequest *in =
		(const Runtime__V1__UpdateRuntimeConfigRequest *)req;
	const char *cidr = "";
	if (in->runtime_config && in->runtime_config->network_config)
		cidr = in->runtime_config->network_config->pod_cidr;
	if (cidr[0] != '\0') {
		g_auto(GStrv) list = g_strsplit(cidr, ",", -1);
		for (char **p = list; *p; p++) {
			if (!valid_cidr(g_strstrip(*p))) {
				return berth_throw_null(
					error, INVALID_ARGUMENT,
					"pod_cidr \"%s\" is not a CIDR "
					"like 10.244.0.0/24",
					*p);
			}
		}
		g_mutex_lock(&s->lock);
		g_free(s->pod_cidr);
		s->pod_cidr = g_strdup(cidr);
		g_mutex_unlock(&s->lock);
		log_info("pod CIDR is now %s", cidr);
	}
	Runtime__V1__UpdateRuntimeConfigResponse *r =
		reply_new(call, Runtime__V1__UpdateRuntimeConfigResponse,
			  runtime__v1__update_runtime_config_response__init);
	return &r->base;
}
