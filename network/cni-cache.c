/* The on-disk cache of ADD results, one JSON file per sandbox under
 * cache_dir (layout in network/cni.h): what DEL and CHECK pass as
 * prevResult, and what a restarted berthd reads the pod IPs from. */
#include "network/cni-private.h"
#include "util/error.h"
#include "util/fs.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#define CACHE_KIND "berth-cni-cache"
#define CACHE_VERSION 1

char *cni_cache_path(const char *cache_dir, const char *sandbox_id)
{
	g_autofree char *name = g_strconcat(sandbox_id, ".json", NULL);
	return g_build_filename(cache_dir, name, NULL);
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *ports_json(const CniPortMapping *ports, guint n)
{
	json_t *a = json_array();
	for (guint i = 0; i < n; i++) {
		const CniPortMapping *p = &ports[i];
		json_array_append_new(
			a, json_pack("{s:I, s:I, s:o, s:o}", "hostPort",
				     (json_int_t)p->host_port, "containerPort",
				     (json_int_t)p->container_port, "protocol",
				     str_or_null(p->protocol), "hostIP",
				     str_or_null(p->host_ip)));
	}
	return a;
}

gboolean cni_cache_write(const char *cache_dir, const CniPodArgs *pod,
			 const char *ifname, const CniNetwork *net,
			 const char *result_json, GError **error)
{
	json_error_t jerr;
	json_t *config = json_loads(net->conf_json, 0, &jerr);
	json_t *result = json_loads(result_json, 0, &jerr);
	if (config == NULL || result == NULL) {
		json_decref(config);
		json_decref(result);
		return berth_throw(error, INTERNAL,
				   "CNI cache: cannot encode %s: %s",
				   pod->sandbox_id, jerr.text);
	}
	json_t *podj =
		json_pack("{s:o, s:o, s:o, s:o, s:I, s:I, s:I, s:I}", "name",
			  str_or_null(pod->pod_name), "namespace",
			  str_or_null(pod->pod_namespace), "uid",
			  str_or_null(pod->pod_uid), "portMappings",
			  ports_json(pod->ports, pod->n_ports), "ingressBps",
			  (json_int_t)pod->ingress_bps, "egressBps",
			  (json_int_t)pod->egress_bps, "ingressBurst",
			  (json_int_t)pod->ingress_burst, "egressBurst",
			  (json_int_t)pod->egress_burst);
	g_autoptr(json_t) root = json_pack(
		"{s:s, s:i, s:s, s:s, s:s, s:o, s:o, s:o, s:o}", "kind",
		CACHE_KIND, "version", CACHE_VERSION, "sandboxId",
		pod->sandbox_id, "network", net->name, "ifname", ifname,
		"netns", str_or_null(pod->netns_path), "pod", podj, "config",
		config, "result", result);
	if (root == NULL)
		return berth_throw(error, INTERNAL,
				   "CNI cache: cannot encode %s",
				   pod->sandbox_id);
	g_autofree char *text =
		cni_json_dump(root, JSON_INDENT(1) | JSON_SORT_KEYS);
	g_autofree char *path = cni_cache_path(cache_dir, pod->sandbox_id);
	gboolean ok =
		berth_write_file_atomic(path, text, strlen(text), 0600, error);
	if (!ok)
		g_prefix_error(error, "CNI cache: ");
	return ok;
}

void cni_cache_entry_free(CniCacheEntry *e)
{
	if (e == NULL)
		return;
	g_free(e->sandbox_id);
	g_free(e->network);
	g_free(e->ifname);
	g_free(e->netns);
	g_free(e->pod_name);
	g_free(e->pod_namespace);
	g_free(e->pod_uid);
	if (e->ports) {
		for (guint i = 0; i < e->ports->len; i++) {
			CniPortMapping *p =
				&g_array_index(e->ports, CniPortMapping, i);
			g_free(p->protocol);
			g_free(p->host_ip);
		}
		g_array_unref(e->ports);
	}
	g_free(e->config_json);
	g_free(e->result_json);
	g_free(e);
}

static char *dup_str(json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));
	return s ? g_strdup(s) : NULL;
}

static void read_pod(CniCacheEntry *e, json_t *pod)
{
	e->pod_name = dup_str(pod, "name");
	e->pod_namespace = dup_str(pod, "namespace");
	e->pod_uid = dup_str(pod, "uid");
	e->ingress_bps = json_integer_value(json_object_get(pod, "ingressBps"));
	e->egress_bps = json_integer_value(json_object_get(pod, "egressBps"));
	e->ingress_burst =
		json_integer_value(json_object_get(pod, "ingressBurst"));
	e->egress_burst =
		json_integer_value(json_object_get(pod, "egressBurst"));
	e->ports = g_array_new(FALSE, TRUE, sizeof(CniPortMapping));
	gsize i;
	json_t *p;
	json_array_foreach(json_object_get(pod, "portMappings"), i, p)
	{
		CniPortMapping m = {
			.host_port = json_integer_value(
				json_object_get(p, "hostPort")),
			.container_port = json_integer_value(
				json_object_get(p, "containerPort")),
			.protocol = dup_str(p, "protocol"),
			.host_ip = dup_str(p, "hostIP"),
		};
		g_array_append_val(e->ports, m);
	}
}

CniCacheEntry *cni_cache_read(const char *cache_dir, const char *sandbox_id,
			      GError **error)
{
	g_autofree char *path = cni_cache_path(cache_dir, sandbox_id);
	g_autofree char *data = NULL;
	gsize len = 0;
	if (!berth_read_file(path, &data, &len, error))
		return NULL;
	json_error_t jerr;
	g_autoptr(json_t) root = json_loadb(data, len, 0, &jerr);
	if (!json_is_object(root))
		return berth_throw_null(error, INTERNAL,
					"CNI cache %s: bad JSON: %s", path,
					root ? "not an object" : jerr.text);
	const char *kind = json_string_value(json_object_get(root, "kind"));
	json_int_t version =
		json_integer_value(json_object_get(root, "version"));
	if (g_strcmp0(kind, CACHE_KIND) != 0 || version != CACHE_VERSION)
		return berth_throw_null(
			error, INTERNAL,
			"CNI cache %s: not a version %d berth CNI "
			"cache file",
			path, CACHE_VERSION);
	json_t *config = json_object_get(root, "config");
	json_t *result = json_object_get(root, "result");
	const char *network =
		json_string_value(json_object_get(root, "network"));
	if (!json_is_object(config) || !json_is_object(result) ||
	    network == NULL)
		return berth_throw_null(
			error, INTERNAL,
			"CNI cache %s: config, result or network "
			"missing",
			path);

	g_autoptr(CniCacheEntry) e = g_new0(CniCacheEntry, 1);
	e->sandbox_id = g_strdup(sandbox_id);
	e->network = g_strdup(network);
	e->ifname = dup_str(root, "ifname");
	e->netns = dup_str(root, "netns");
	read_pod(e, json_object_get(root, "pod"));
	e->config_json = cni_json_dump(config, JSON_COMPACT | JSON_SORT_KEYS);
	e->result_json = cni_json_dump(result, JSON_COMPACT);
	return g_steal_pointer(&e);
}

gboolean cni_cache_remove(const char *cache_dir, const char *sandbox_id,
			  GError **error)
{
	g_autofree char *path = cni_cache_path(cache_dir, sandbox_id);
	if (unlink(path) < 0) {
		if (errno == ENOENT)
			return TRUE;
		return berth_throw_errno(error, errno, "CNI cache: remove %s",
					 path);
	}
	return berth_fsync_dir(cache_dir, error);
}

void cni_cache_entry_merge_pod(const CniCacheEntry *e, const CniPodArgs *in,
			       CniPodArgs *out)
{
	*out = *in;
#define PICK(field, cached)                                                    \
	do {                                                                   \
		if (out->field == NULL || out->field[0] == '\0')               \
			out->field = (cached);                                 \
	} while (0)
	PICK(pod_name, e->pod_name);
	PICK(pod_namespace, e->pod_namespace);
	PICK(pod_uid, e->pod_uid);
	PICK(netns_path, e->netns);
	PICK(ifname, e->ifname);
#undef PICK
	if (out->n_ports == 0 && e->ports && e->ports->len > 0) {
		out->ports = (const CniPortMapping *)e->ports->data;
		out->n_ports = e->ports->len;
	}
	if (out->ingress_bps == 0 && out->egress_bps == 0) {
		out->ingress_bps = e->ingress_bps;
		out->egress_bps = e->egress_bps;
		out->ingress_burst = e->ingress_burst;
		out->egress_burst = e->egress_burst;
	}
}

CniResult *cni_cache_load(CniManager *m, const char *sandbox_id, GError **error)
{
	if (sandbox_id == NULL || sandbox_id[0] == '\0' ||
	    strchr(sandbox_id, '/') != NULL)
		return berth_throw_null(error, INVALID_ARGUMENT,
					"CNI: bad sandbox id");
	g_autoptr(CniCacheEntry) e =
		cni_cache_read(m->cache_dir, sandbox_id, error);
	if (e == NULL)
		return NULL;
	CniResult *r = cni_result_parse(e->result_json, e->network, error);
	if (r == NULL) {
		g_prefix_error(error, "CNI cache of %s: ", sandbox_id);
		return NULL;
	}
	r->ifname = g_strdup(e->ifname);
	return r;
}
