/* CNI operations on a pod: ADD (with rollback), DEL (idempotent), CHECK,
 * the loopback helper, and the builders of what a plugin is handed: its
 * stdin (runtimeConfig from capabilities, prevResult) and CNI_ARGS. */
#include "network/cni-private.h"
#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

/* tbf needs a bucket of at least one MTU-sized packet; the bandwidth
 * plugin takes bursts in bits and refuses more than 4 GiB of bytes. */
#define MIN_BURST_BITS 12000
#define MAX_BURST_BITS G_MAXUINT32

static const char loopback_conf[] =
	"{\"cniVersion\":\"0.3.1\",\"name\":\"berth-loopback\","
	"\"type\":\"loopback\"}";

/* --- what a plugin is handed ------------------------------------------- */

static gboolean arg_value_ok(const char *v)
{
	for (const char *p = v; *p; p++) {
		if (*p == ';' || *p == '=' || g_ascii_iscntrl(*p))
			return FALSE;
	}
	return TRUE;
}

char *cni_build_args(const CniPodArgs *pod, GError **error)
{
	const struct {
		const char *key;
		const char *value;
	} kv[] = {
		{"K8S_POD_NAMESPACE", pod->pod_namespace},
		{"K8S_POD_NAME", pod->pod_name},
		{"K8S_POD_INFRA_CONTAINER_ID", pod->sandbox_id},
		{"K8S_POD_UID", pod->pod_uid},
	};
	g_autoptr(GString) s = g_string_new("IgnoreUnknown=1");
	for (gsize i = 0; i < G_N_ELEMENTS(kv); i++) {
		if (kv[i].value == NULL || kv[i].value[0] == '\0')
			continue;
		if (!arg_value_ok(kv[i].value))
			return berth_throw_null(
				error, INVALID_ARGUMENT,
				"CNI_ARGS: %s \"%s\" contains "
				"';', '=' or a control character",
				kv[i].key, kv[i].value);
		g_string_append_printf(s, ";%s=%s", kv[i].key, kv[i].value);
	}
	return g_string_free(g_steal_pointer(&s), FALSE);
}

static json_t *port_mappings_json(const CniPodArgs *pod)
{
	json_t *a = json_array();
	for (guint i = 0; i < pod->n_ports; i++) {
		const CniPortMapping *p = &pod->ports[i];
		if (p->host_port == 0) /* CRI: 0 means no host port */
			continue;
		g_autofree char *proto = g_ascii_strdown(
			p->protocol && p->protocol[0] ? p->protocol : "tcp",
			-1);
		json_t *e = json_pack("{s:I, s:I, s:s}", "hostPort",
				      (json_int_t)p->host_port, "containerPort",
				      (json_int_t)p->container_port, "protocol",
				      proto);
		if (p->host_ip && p->host_ip[0])
			json_object_set_new(e, "hostIP",
					    json_string(p->host_ip));
		json_array_append_new(a, e);
	}
	return a;
}

static json_int_t burst_for(gint64 rate, gint64 burst)
{
	if (burst > 0)
		return burst;
	return CLAMP(rate, MIN_BURST_BITS, (gint64)MAX_BURST_BITS);
}

static json_t *bandwidth_json(const CniPodArgs *pod)
{
	json_t *o = json_object();
	if (pod->ingress_bps > 0) {
		json_object_set_new(o, "ingressRate",
				    json_integer(pod->ingress_bps));
		json_object_set_new(
			o, "ingressBurst",
			json_integer(burst_for(pod->ingress_bps,
					       pod->ingress_burst)));
	}
	if (pod->egress_bps > 0) {
		json_object_set_new(o, "egressRate",
				    json_integer(pod->egress_bps));
		json_object_set_new(o, "egressBurst",
				    json_integer(burst_for(pod->egress_bps,
							   pod->egress_burst)));
	}
	return o;
}

json_t *cni_build_runtime_config(json_t *plugin, const CniPodArgs *pod)
{
	json_t *caps = json_object_get(plugin, "capabilities");
	g_autoptr(json_t) rc = json_object();
	if (json_is_true(json_object_get(caps, "portMappings"))) {
		json_t *pm = port_mappings_json(pod);
		if (json_array_size(pm) > 0)
			json_object_set_new(rc, "portMappings", pm);
		else
			json_decref(pm);
	}
	if (json_is_true(json_object_get(caps, "bandwidth"))) {
		json_t *bw = bandwidth_json(pod);
		if (json_object_size(bw) > 0)
			json_object_set_new(rc, "bandwidth", bw);
		else
			json_decref(bw);
	}
	if (json_object_size(rc) == 0)
		return NULL;
	return g_steal_pointer(&rc);
}

char *cni_build_stdin(const char *plugin_conf, const char *net_name,
		      const char *cni_version, json_t *prev_result,
		      const CniPodArgs *pod, GError **error)
{
	json_error_t jerr;
	g_autoptr(json_t) conf = json_loads(plugin_conf, 0, &jerr);
	if (!json_is_object(conf))
		return berth_throw_null(error, INTERNAL,
					"CNI plugin config: %s", jerr.text);
	json_object_set_new(conf, "name", json_string(net_name));
	json_object_set_new(conf, "cniVersion", json_string(cni_version));
	if (prev_result)
		json_object_set(conf, "prevResult", prev_result);
	json_t *rc = cni_build_runtime_config(conf, pod);
	if (rc) {
		json_t *have = json_object_get(conf, "runtimeConfig");
		if (json_is_object(have)) {
			json_object_update(have, rc);
			json_decref(rc);
		} else {
			json_object_set_new(conf, "runtimeConfig", rc);
		}
	}
	return cni_json_dump(conf, JSON_COMPACT);
}

/* CNI_CONTAINERID: an alphanumeric, then alphanumerics, '_', '.', '-'. */
static gboolean container_id_ok(const char *id)
{
	if (id == NULL || !g_ascii_isalnum(id[0]))
		return FALSE;
	for (const char *p = id; *p; p++) {
		if (!g_ascii_isalnum(*p) && *p != '_' && *p != '.' && *p != '-')
			return FALSE;
	}
	return TRUE;
}

static gboolean ifname_ok(const char *n)
{
	gsize len = strlen(n);
	if (len == 0 || len >= 16 || strcmp(n, ".") == 0 ||
	    strcmp(n, "..") == 0)
		return FALSE;
	for (const char *p = n; *p; p++) {
		if (*p == '/' || *p == ':' || g_ascii_isspace(*p))
			return FALSE;
	}
	return TRUE;
}

gboolean cni_validate_pod(const CniPodArgs *pod, gboolean need_netns,
			  GError **error)
{
	if (!container_id_ok(pod->sandbox_id))
		return berth_throw(error, INVALID_ARGUMENT,
				   "CNI: bad sandbox id \"%s\"",
				   pod->sandbox_id ? pod->sandbox_id : "");
	if (pod->ifname && !ifname_ok(pod->ifname))
		return berth_throw(error, INVALID_ARGUMENT,
				   "CNI: bad interface name \"%s\"",
				   pod->ifname);
	if (need_netns &&
	    (pod->netns_path == NULL || pod->netns_path[0] != '/'))
		return berth_throw(error, INVALID_ARGUMENT,
				   "CNI: sandbox %s: netns path must be "
				   "absolute",
				   pod->sandbox_id);
	return TRUE;
}

/* --- per-sandbox serialization ----------------------------------------- */

typedef struct {
	GMutex mutex;
	guint users;
} CniPodLock;

static CniPodLock *pod_lock(CniManager *m, const char *id)
{
	g_mutex_lock(&m->pod_locks_mutex);
	CniPodLock *l = g_hash_table_lookup(m->pod_locks, id);
	if (l == NULL) {
		l = g_new0(CniPodLock, 1);
		g_mutex_init(&l->mutex);
		g_hash_table_insert(m->pod_locks, g_strdup(id), l);
	}
	l->users++;
	g_mutex_unlock(&m->pod_locks_mutex);
	g_mutex_lock(&l->mutex);
	return l;
}

static void pod_unlock(CniManager *m, const char *id, CniPodLock *l)
{
	g_mutex_unlock(&l->mutex);
	g_mutex_lock(&m->pod_locks_mutex);
	if (--l->users == 0) {
		g_hash_table_remove(m->pod_locks, id);
		g_mutex_clear(&l->mutex);
		g_free(l);
	}
	g_mutex_unlock(&m->pod_locks_mutex);
}

/* --- running the chain ------------------------------------------------- */

/* What stays the same for every plugin of one operation. */
typedef struct {
	CniManager *m;
	CniNetwork *net;
	const CniPodArgs *pod;
	const char *netns;
	const char *ifname;
	const char *cni_args;
} CniOp;

static gboolean run_plugin(const CniOp *op, guint idx, const char *command,
			   json_t *prev, char **out, GError **error)
{
	const char *type = op->net->plugin_types[idx];
	g_autofree char *path =
		cni_find_plugin((const char *const *)op->m->plugin_dirs, type);
	if (path == NULL)
		return berth_throw(error, FAILED_PRECONDITION,
				   "CNI plugin %s %s: binary not found in %s",
				   type, command, op->m->cni_path);
	g_autofree char *in =
		cni_build_stdin(op->net->plugin_confs[idx], op->net->name,
				op->net->cni_version, prev, op->pod, error);
	if (in == NULL)
		return FALSE;
	CniExecRequest req = {
		.type = type,
		.path = path,
		.command = command,
		.container_id = op->pod->sandbox_id,
		.netns = op->netns,
		.ifname = op->ifname,
		.cni_args = op->cni_args,
		.cni_path = op->m->cni_path,
		.stdin_data = in,
		.timeout_sec = op->m->timeout_sec,
	};
	g_autofree char *output = NULL;
	if (!cni_exec_plugin(&req, &output, error))
		return FALSE;
	if (out)
		*out = g_steal_pointer(&output);
	return TRUE;
}

/* DEL plugins from..0; failures are logged, never returned. */
static void rollback(const CniOp *op, guint from, json_t *prev)
{
	for (guint i = from + 1; i-- > 0;) {
		g_autoptr(GError) err = NULL;
		if (!run_plugin(op, i, "DEL", prev, NULL, &err))
			log_warn("CNI rollback of %s: %s", op->pod->sandbox_id,
				 err->message);
	}
}

static char *join_ips(const CniResult *r)
{
	if (r->ips->len == 0)
		return g_strdup("none");
	g_autoptr(GPtrArray) a = g_ptr_array_new();
	for (guint i = 0; i < r->ips->len; i++)
		g_ptr_array_add(a, r->ips->pdata[i]);
	g_ptr_array_add(a, NULL);
	return g_strjoinv(",", (char **)a->pdata);
}

/* The chain in order, each plugin given the previous one's result. On
 * failure everything run so far (the failing plugin too) is undone. */
static char *add_chain(const CniOp *op, GError **error)
{
	g_autoptr(json_t) prev = NULL;
	g_autofree char *last = NULL;
	for (guint i = 0; i < op->net->n_plugins; i++) {
		g_autofree char *out = NULL;
		if (!run_plugin(op, i, "ADD", prev, &out, error)) {
			log_info("CNI ADD %s failed at plugin %s; undoing the "
				 "%u plugin(s) run so far",
				 op->pod->sandbox_id, op->net->plugin_types[i],
				 i + 1);
			rollback(op, i, prev);
			return NULL;
		}
		g_strstrip(out);
		if (out[0] == '\0') {
			/* Not per spec, but harmless: pass the last one on. */
			log_debug("CNI plugin %s ADD printed no result",
				  op->net->plugin_types[i]);
			continue;
		}
		json_error_t jerr;
		json_t *res = json_loads(out, 0, &jerr);
		if (!json_is_object(res)) {
			json_decref(res);
			berth_throw(error, INTERNAL,
				    "CNI plugin %s ADD: result is not "
				    "a JSON object: %s",
				    op->net->plugin_types[i], jerr.text);
			rollback(op, i, prev);
			return NULL;
		}
		json_decref(prev);
		prev = res;
		g_free(last);
		last = g_steal_pointer(&out);
	}
	if (last == NULL) {
		berth_throw(error, INTERNAL,
			    "CNI network %s: no plugin returned a result",
			    op->net->name);
		rollback(op, op->net->n_plugins - 1, NULL);
		return NULL;
	}
	return g_steal_pointer(&last);
}

static CniResult *setup_locked(CniManager *m, const CniPodArgs *pod,
			       GError **error)
{
	g_autoptr(CniNetwork) net = cni_manager_current(m);
	if (net == NULL) {
		g_autofree char *msg = NULL;
		cni_manager_status(m, NULL, &msg);
		return berth_throw_null(error, FAILED_PRECONDITION,
					"CNI network not ready: %s", msg);
	}
	if (access(pod->netns_path, F_OK) < 0)
		return berth_throw_null(error, FAILED_PRECONDITION,
					"CNI ADD: netns %s: %s",
					pod->netns_path, g_strerror(errno));
	g_autofree char *args = cni_build_args(pod, error);
	if (args == NULL)
		return NULL;
	CniOp op = {
		.m = m,
		.net = net,
		.pod = pod,
		.netns = pod->netns_path,
		.ifname = pod->ifname ? pod->ifname : CNI_DEFAULT_IFNAME,
		.cni_args = args,
	};

	g_autofree char *raw = add_chain(&op, error);
	if (raw == NULL)
		return NULL;
	g_autoptr(json_t) final = json_loads(raw, 0, NULL);
	g_autoptr(CniResult) r = cni_result_parse(raw, net->name, error);
	if (r == NULL ||
	    !cni_cache_write(m->cache_dir, pod, op.ifname, net, raw, error)) {
		rollback(&op, net->n_plugins - 1, final);
		return NULL;
	}
	r->ifname = g_strdup(op.ifname);
	g_autofree char *ips = join_ips(r);
	log_info("CNI ADD %s (pod %s/%s) to network %s: IPs %s",
		 pod->sandbox_id, pod->pod_namespace ? pod->pod_namespace : "",
		 pod->pod_name ? pod->pod_name : "", net->name, ips);
	return g_steal_pointer(&r);
}

CniResult *cni_setup(CniManager *m, const CniPodArgs *pod, GError **error)
{
	if (!cni_validate_pod(pod, TRUE, error))
		return NULL;
	CniPodLock *l = pod_lock(m, pod->sandbox_id);
	CniResult *r = setup_locked(m, pod, error);
	pod_unlock(m, pod->sandbox_id, l);
	if (r == NULL)
		g_prefix_error(error, "set up network of sandbox %s: ",
			       pod->sandbox_id);
	return r;
}

/* The network and prevResult DEL/CHECK should use: the cached ones, or
 * for DEL without a usable cache the current default network. */
static CniNetwork *network_from_cache(const CniCacheEntry *e, GError **error)
{
	g_autoptr(json_t) list = json_loads(e->config_json, 0, NULL);
	return cni_network_from_json(list, "<cache>", NULL, error);
}

static gboolean teardown_chain(const CniOp *op, json_t *prev, GError **error)
{
	g_autoptr(GError) first = NULL;
	guint failed = 0;
	for (guint i = op->net->n_plugins; i-- > 0;) {
		const char *type = op->net->plugin_types[i];
		g_autofree char *path = cni_find_plugin(
			(const char *const *)op->m->plugin_dirs, type);
		if (path == NULL) {
			log_warn("CNI DEL %s: plugin %s is gone from %s; "
				 "skipped",
				 op->pod->sandbox_id, type, op->m->cni_path);
			continue;
		}
		g_autoptr(GError) err = NULL;
		if (!run_plugin(op, i, "DEL", prev, NULL, &err)) {
			log_warn("CNI DEL %s: %s", op->pod->sandbox_id,
				 err->message);
			failed++;
			if (first == NULL)
				first = g_steal_pointer(&err);
		}
	}
	if (first == NULL)
		return TRUE;
	if (failed > 1)
		g_prefix_error(&first,
			       "%u plugins failed; the last one: ", failed);
	g_propagate_error(error, g_steal_pointer(&first));
	return FALSE;
}

static gboolean teardown_locked(CniManager *m, const CniPodArgs *in,
				GError **error)
{
	g_autoptr(GError) cerr = NULL;
	g_autoptr(CniCacheEntry) e =
		cni_cache_read(m->cache_dir, in->sandbox_id, &cerr);
	g_autoptr(CniNetwork) net = NULL;
	g_autoptr(json_t) prev = NULL;
	CniPodArgs pod = *in;
	if (e) {
		net = network_from_cache(e, &cerr);
		if (net) {
			prev = json_loads(e->result_json, 0, NULL);
			cni_cache_entry_merge_pod(e, in, &pod);
		}
	}
	if (net == NULL) {
		net = cni_manager_current(m);
		gboolean absent = cerr && cerr->domain == BERTH_ERROR &&
				  cerr->code == BERTH_ERROR_NOT_FOUND;
		log_info("CNI DEL %s: %s%s; %s", in->sandbox_id,
			 absent ? "no cached result" : "unusable cache: ",
			 absent ? "" : (cerr ? cerr->message : "?"),
			 net ? "using the current network config without "
			       "prevResult"
			     : "no network configured, nothing to run");
		if (net == NULL)
			return cni_cache_remove(m->cache_dir, in->sandbox_id,
						error);
	}
	const char *netns = pod.netns_path ? pod.netns_path : "";
	if (netns[0] && access(netns, F_OK) < 0) {
		log_info("CNI DEL %s: netns %s is gone; CNI_NETNS left empty",
			 in->sandbox_id, netns);
		netns = "";
	}
	g_autofree char *args = cni_build_args(&pod, error);
	if (args == NULL)
		return FALSE;
	CniOp op = {
		.m = m,
		.net = net,
		.pod = &pod,
		.netns = netns,
		.ifname = pod.ifname ? pod.ifname : CNI_DEFAULT_IFNAME,
		.cni_args = args,
	};
	if (!teardown_chain(&op, prev, error))
		return FALSE; /* the cache stays for a retry */
	if (!cni_cache_remove(m->cache_dir, in->sandbox_id, error))
		return FALSE;
	log_info("CNI DEL %s from network %s", in->sandbox_id, net->name);
	return TRUE;
}

gboolean cni_teardown(CniManager *m, const CniPodArgs *pod, GError **error)
{
	if (!cni_validate_pod(pod, FALSE, error))
		return FALSE;
	CniPodLock *l = pod_lock(m, pod->sandbox_id);
	gboolean ok = teardown_locked(m, pod, error);
	pod_unlock(m, pod->sandbox_id, l);
	if (!ok)
		g_prefix_error(error, "tear down network of sandbox %s: ",
			       pod->sandbox_id);
	return ok;
}

static gboolean check_locked(CniManager *m, const CniPodArgs *in,
			     GError **error)
{
	g_autoptr(GError) cerr = NULL;
	g_autoptr(CniCacheEntry) e =
		cni_cache_read(m->cache_dir, in->sandbox_id, &cerr);
	if (e == NULL)
		return berth_throw(error, FAILED_PRECONDITION,
				   "CNI CHECK needs the ADD result: %s",
				   cerr->message);
	g_autoptr(CniNetwork) net = network_from_cache(e, error);
	if (net == NULL)
		return FALSE;
	if (cni_version_cmp(net->cni_version, "0.4.0") < 0) {
		log_info("CNI CHECK %s skipped: network %s has cniVersion %s "
			 "(CHECK exists from 0.4.0)",
			 in->sandbox_id, net->name, net->cni_version);
		return TRUE;
	}
	if (net->disable_check) {
		log_info("CNI CHECK %s skipped: network %s sets disableCheck",
			 in->sandbox_id, net->name);
		return TRUE;
	}
	CniPodArgs pod;
	cni_cache_entry_merge_pod(e, in, &pod);
	if (pod.netns_path == NULL || access(pod.netns_path, F_OK) < 0)
		return berth_throw(error, FAILED_PRECONDITION,
				   "CNI CHECK: netns %s is gone",
				   pod.netns_path ? pod.netns_path : "(none)");
	g_autofree char *args = cni_build_args(&pod, error);
	if (args == NULL)
		return FALSE;
	g_autoptr(json_t) prev = json_loads(e->result_json, 0, NULL);
	CniOp op = {
		.m = m,
		.net = net,
		.pod = &pod,
		.netns = pod.netns_path,
		.ifname = pod.ifname ? pod.ifname : CNI_DEFAULT_IFNAME,
		.cni_args = args,
	};
	for (guint i = 0; i < net->n_plugins; i++) {
		if (!run_plugin(&op, i, "CHECK", prev, NULL, error))
			return FALSE;
	}
	return TRUE;
}

gboolean cni_check(CniManager *m, const CniPodArgs *pod, GError **error)
{
	if (!cni_validate_pod(pod, FALSE, error))
		return FALSE;
	CniPodLock *l = pod_lock(m, pod->sandbox_id);
	gboolean ok = check_locked(m, pod, error);
	pod_unlock(m, pod->sandbox_id, l);
	if (!ok)
		g_prefix_error(error, "check network of sandbox %s: ",
			       pod->sandbox_id);
	return ok;
}

gboolean cni_setup_loopback(CniManager *m, const char *sandbox_id,
			    const char *netns_path, GError **error)
{
	CniPodArgs pod = {.sandbox_id = sandbox_id, .netns_path = netns_path};
	if (!cni_validate_pod(&pod, TRUE, error))
		return FALSE;
	g_autofree char *path = cni_find_plugin(
		(const char *const *)m->plugin_dirs, "loopback");
	if (path == NULL)
		return berth_throw(error, FAILED_PRECONDITION,
				   "CNI plugin loopback not found in %s",
				   m->cni_path);
	CniExecRequest req = {
		.type = "loopback",
		.path = path,
		.command = "ADD",
		.container_id = sandbox_id,
		.netns = netns_path,
		.ifname = "lo",
		.cni_path = m->cni_path,
		.stdin_data = loopback_conf,
		.timeout_sec = m->timeout_sec,
	};
	g_autofree char *out = NULL;
	if (!cni_exec_plugin(&req, &out, error)) {
		g_prefix_error(error,
			       "bring up lo of sandbox %s: ", sandbox_id);
		return FALSE;
	}
	return TRUE;
}
