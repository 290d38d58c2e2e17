/* Pod and PodConfig: lifetime, naming, hashing and the JSON record. */
#include "sandbox/pod/pod.h"
#include "util/error.h"
#include "util/ids.h"
#include "util/jsonutil.h"

#include <jansson.h>
#include <string.h>

static void port_free(gpointer p)
{
	PodPort *port = p;
	g_free(port->protocol);
	g_free(port->host_ip);
	g_free(port);
}

PodConfig *pod_config_new(void)
{
	PodConfig *c = g_new0(PodConfig, 1);
	c->name = g_strdup("");
	c->uid = g_strdup("");
	c->namespace_ = g_strdup("");
	c->hostname = g_strdup("");
	c->log_directory = g_strdup("");
	c->dns_servers = g_new0(char *, 1);
	c->dns_searches = g_new0(char *, 1);
	c->dns_options = g_new0(char *, 1);
	c->ports = g_ptr_array_new_with_free_func(port_free);
	c->labels = kv_list_new();
	c->annotations = kv_list_new();
	c->sysctls = kv_list_new();
	c->cgroup_parent = g_strdup("");
	c->ns_target_id = g_strdup("");
	c->runtime_handler = g_strdup("");
	return c;
}

void pod_config_free(PodConfig *c)
{
	if (c == NULL)
		return;
	g_free(c->name);
	g_free(c->uid);
	g_free(c->namespace_);
	g_free(c->hostname);
	g_free(c->log_directory);
	g_strfreev(c->dns_servers);
	g_strfreev(c->dns_searches);
	g_strfreev(c->dns_options);
	g_ptr_array_unref(c->ports);
	g_ptr_array_unref(c->labels);
	g_ptr_array_unref(c->annotations);
	g_ptr_array_unref(c->sysctls);
	g_free(c->cgroup_parent);
	g_free(c->ns_target_id);
	g_free(c->runtime_handler);
	g_free(c);
}

char *pod_config_full_name(const PodConfig *c)
{
	return g_strdup_printf("%s_%s_%s_%u", c->name, c->namespace_, c->uid,
			       c->attempt);
}

/* --- JSON ---------------------------------------------------------------- */

static json_t *kv_json(GPtrArray *list)
{
	json_t *o = json_object();
	for (guint i = 0; i < list->len; i++) {
		const KeyValue *kv = g_ptr_array_index(list, i);
		json_object_set_new(o, kv->key, json_string(kv->value));
	}
	return o;
}

static void json_kv(json_t *o, GPtrArray *list)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
	{
		if (json_is_string(v))
			kv_list_add(list, k, json_string_value(v));
	}
}

static json_t *range_json(const UsernsRange *r)
{
	return json_pack("{s:I, s:I, s:I}", "container_id",
			 (json_int_t)r->container_id, "host_id",
			 (json_int_t)r->host_id, "length",
			 (json_int_t)r->length);
}

static void json_range(json_t *o, UsernsRange *r)
{
	r->container_id =
		json_integer_value(json_object_get(o, "container_id"));
	r->host_id = json_integer_value(json_object_get(o, "host_id"));
	r->length = json_integer_value(json_object_get(o, "length"));
}

static json_t *config_json(const PodConfig *c)
{
	json_t *ports = json_array();
	for (guint i = 0; i < c->ports->len; i++) {
		const PodPort *p = g_ptr_array_index(c->ports, i);
		json_array_append_new(
			ports, json_pack("{s:s, s:i, s:i, s:s}", "protocol",
					 p->protocol, "container_port",
					 p->container_port, "host_port",
					 p->host_port, "host_ip", p->host_ip));
	}
	json_t *o = json_pack(
		"{s:s, s:s, s:s, s:I, s:s, s:s, s:{s:o, s:o, s:o}, s:o, s:o,"
		" s:o, s:o, s:s, s:{s:i, s:i, s:i, s:s}, s:b, s:s}",
		"name", c->name, "uid", c->uid, "namespace", c->namespace_,
		"attempt", (json_int_t)c->attempt, "hostname", c->hostname,
		"log_directory", c->log_directory, "dns", "servers",
		berth_json_from_strv(c->dns_servers), "searches",
		berth_json_from_strv(c->dns_searches), "options",
		berth_json_from_strv(c->dns_options), "ports", ports, "labels",
		kv_json(c->labels), "annotations", kv_json(c->annotations),
		"sysctls", kv_json(c->sysctls), "cgroup_parent",
		c->cgroup_parent, "namespaces", "network", c->ns_network, "pid",
		c->ns_pid, "ipc", c->ns_ipc, "target_id", c->ns_target_id,
		"privileged", c->privileged, "runtime_handler",
		c->runtime_handler);
	/* Only when set: the hash of a pod without one stays what it was. */
	if (c->userns)
		json_object_set_new(o, "userns",
				    json_pack("{s:o, s:o}", "uids",
					      range_json(&c->userns_map.uid),
					      "gids",
					      range_json(&c->userns_map.gid)));
	return o;
}

static const char *jstr(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static void set_str(char **slot, const char *s)
{
	g_free(*slot);
	*slot = g_strdup(s);
}

static PodConfig *json_config(json_t *o)
{
	PodConfig *c = pod_config_new();
	set_str(&c->name, jstr(o, "name"));
	set_str(&c->uid, jstr(o, "uid"));
	set_str(&c->namespace_, jstr(o, "namespace"));
	c->attempt = json_integer_value(json_object_get(o, "attempt"));
	set_str(&c->hostname, jstr(o, "hostname"));
	set_str(&c->log_directory, jstr(o, "log_directory"));
	json_t *dns = json_object_get(o, "dns");
	g_strfreev(c->dns_servers);
	g_strfreev(c->dns_searches);
	g_strfreev(c->dns_options);
	c->dns_servers = berth_json_to_strv(json_object_get(dns, "servers"));
	c->dns_searches = berth_json_to_strv(json_object_get(dns, "searches"));
	c->dns_options = berth_json_to_strv(json_object_get(dns, "options"));
	size_t i;
	json_t *p;
	json_array_foreach(json_object_get(o, "ports"), i, p)
	{
		PodPort *port = g_new0(PodPort, 1);
		port->protocol = g_strdup(jstr(p, "protocol"));
		port->container_port = json_integer_value(
			json_object_get(p, "container_port"));
		port->host_port =
			json_integer_value(json_object_get(p, "host_port"));
		port->host_ip = g_strdup(jstr(p, "host_ip"));
		g_ptr_array_add(c->ports, port);
	}
	json_kv(json_object_get(o, "labels"), c->labels);
	json_kv(json_object_get(o, "annotations"), c->annotations);
	json_kv(json_object_get(o, "sysctls"), c->sysctls);
	set_str(&c->cgroup_parent, jstr(o, "cgroup_parent"));
	json_t *ns = json_object_get(o, "namespaces");
	c->ns_network = json_integer_value(json_object_get(ns, "network"));
	c->ns_pid = json_integer_value(json_object_get(ns, "pid"));
	c->ns_ipc = json_integer_value(json_object_get(ns, "ipc"));
	set_str(&c->ns_target_id, jstr(ns, "target_id"));
	json_t *userns = json_object_get(o, "userns");
	if (json_is_object(userns)) {
		c->userns = TRUE;
		json_range(json_object_get(userns, "uids"), &c->userns_map.uid);
		json_range(json_object_get(userns, "gids"), &c->userns_map.gid);
	}
	c->privileged = json_is_true(json_object_get(o, "privileged"));
	set_str(&c->runtime_handler, jstr(o, "runtime_handler"));
	return c;
}

char *pod_config_hash(const PodConfig *c)
{
	g_autoptr(json_t) j = config_json(c);
	g_autofree char *text =
		berth_json_text(j, JSON_SORT_KEYS | JSON_COMPACT);
	return g_compute_checksum_for_string(G_CHECKSUM_SHA256, text, -1);
}

/* --- Pod ----------------------------------------------------------------- */

Pod *pod_new(const char *id, PodConfig *config)
{
	Pod *p = g_new0(Pod, 1);
	p->refs = 1;
	p->id = g_strdup(id);
	p->config = config;
	p->full_name = pod_config_full_name(config);
	p->config_hash = pod_config_hash(config);
	p->runtime = g_strdup("");
	p->ips = g_new0(char *, 1);
	g_mutex_init(&p->op_lock);
	g_mutex_init(&p->lock);
	g_cond_init(&p->cond);
	return p;
}

Pod *pod_ref(Pod *p)
{
	g_atomic_int_inc(&p->refs);
	return p;
}

void pod_unref(Pod *p)
{
	if (p == NULL || !g_atomic_int_dec_and_test(&p->refs))
		return;
	g_free(p->id);
	g_free(p->full_name);
	g_free(p->config_hash);
	pod_config_free(p->config);
	g_free(p->runtime);
	g_free(p->ns_dir);
	g_free(p->netns);
	g_free(p->ipcns);
	g_free(p->utsns);
	g_free(p->userns);
	g_strfreev(p->ips);
	g_free(p->host_veth);
	g_free(p->cgroup);
	g_free(p->infra_id);
	g_free(p->failure);
	g_mutex_clear(&p->op_lock);
	g_mutex_clear(&p->lock);
	g_cond_clear(&p->cond);
	g_free(p);
}

PodState pod_get_state(Pod *p)
{
	g_mutex_lock(&p->lock);
	PodState s = p->state;
	g_mutex_unlock(&p->lock);
	return s;
}

void pod_snapshot(Pod *p, PodSnapshot *out)
{
	g_mutex_lock(&p->lock);
	out->state = p->state;
	out->ips = p->ips ? g_strdupv(p->ips) : g_new0(char *, 1);
	out->cgroup = g_strdup(p->cgroup);
	out->host_veth = p->state == POD_READY ? g_strdup(p->host_veth) : NULL;
	out->netns = g_strdup(p->netns);
	out->ipcns = g_strdup(p->ipcns);
	out->utsns = g_strdup(p->utsns);
	out->infra_id = g_strdup(p->infra_id);
	out->infra_pid = p->infra_pid;
	g_mutex_unlock(&p->lock);
}

void pod_snapshot_clear(PodSnapshot *s)
{
	g_strfreev(s->ips);
	g_free(s->cgroup);
	g_free(s->host_veth);
	g_free(s->netns);
	g_free(s->ipcns);
	g_free(s->utsns);
	g_free(s->infra_id);
	memset(s, 0, sizeof *s);
}

static const char *const state_names[] = {"creating", "ready", "notready",
					  "removing"};

static json_t *opt_string(const char *s)
{
	return s ? json_string(s) : json_null();
}

char *pod_to_json(Pod *p)
{
	g_autoptr(json_t) o = json_pack(
		"{s:i, s:s, s:s, s:I, s:s, s:o, s:{s:o, s:o, s:o, s:o, s:o}, "
		"s:o,"
		" s:o, s:o, s:o, s:i, s:b, s:b}",
		"version", 1, "id", p->id, "state", state_names[p->state],
		"created_at", (json_int_t)p->created_at, "runtime", p->runtime,
		"config", config_json(p->config), "namespaces", "dir",
		opt_string(p->ns_dir), "net", opt_string(p->netns), "ipc",
		opt_string(p->ipcns), "uts", opt_string(p->utsns), "user",
		opt_string(p->userns), "ips", berth_json_from_strv(p->ips),
		"host_veth", opt_string(p->host_veth), "cgroup",
		opt_string(p->cgroup), "infra_id", opt_string(p->infra_id),
		"infra_pid", p->infra_pid, "answered", p->answered,
		"net_attached", p->net_attached);
	return berth_json_text(o, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
}

static char *opt_dup(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? g_strdup(s) : NULL;
}

Pod *pod_from_json(const char *text, gsize len, GError **error)
{
	json_error_t jerr;
	g_autoptr(json_t) o = json_loadb(text, len, 0, &jerr);
	if (o == NULL) {
		return berth_throw_null(error, DATA_LOSS, "line %d: %s",
					jerr.line, jerr.text);
	}
	const char *id = json_string_value(json_object_get(o, "id"));
	const char *state = json_string_value(json_object_get(o, "state"));
	json_t *cfg = json_object_get(o, "config");
	if (id == NULL || state == NULL || !json_is_object(cfg)) {
		return berth_throw_null(error, DATA_LOSS,
					"pod record lacks id, state or config");
	}
	Pod *p = pod_new(id, json_config(cfg));
	for (guint i = 0; i < G_N_ELEMENTS(state_names); i++) {
		if (strcmp(state, state_names[i]) == 0)
			p->state = i;
	}
	p->created_at = json_integer_value(json_object_get(o, "created_at"));
	g_free(p->runtime);
	p->runtime = g_strdup(jstr(o, "runtime"));
	json_t *ns = json_object_get(o, "namespaces");
	p->ns_dir = opt_dup(ns, "dir");
	p->netns = opt_dup(ns, "net");
	p->ipcns = opt_dup(ns, "ipc");
	p->utsns = opt_dup(ns, "uts");
	p->userns = opt_dup(ns, "user");
	g_strfreev(p->ips);
	p->ips = berth_json_to_strv(json_object_get(o, "ips"));
	p->host_veth = opt_dup(o, "host_veth");
	p->cgroup = opt_dup(o, "cgroup");
	p->infra_id = opt_dup(o, "infra_id");
	p->infra_pid = json_integer_value(json_object_get(o, "infra_pid"));
	p->answered = json_is_true(json_object_get(o, "answered"));
	p->net_attached = json_is_true(json_object_get(o, "net_attached"));
	return p;
}

char *pod_new_id(void)
{
	return berth_new_id();
}
