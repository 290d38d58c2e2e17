/* Internals shared by network/cni-*.c and their unit test: the loaded
 * network type, plugin execution, stdin/env builders, result parsing and
 * the cache file. Nothing outside network/ and tests/ includes this. */
#pragma once

#include "network/cni.h"
#include "util/jsonutil.h"

#include <jansson.h>

#define CNI_DEFAULT_IFNAME "eth0"
#define CNI_DEFAULT_TIMEOUT_SEC 60

/* One validated network list. Immutable once loaded and shared between
 * threads by reference count; plugin configs are kept as JSON text and
 * parsed afresh per call, so no json_t is ever shared across threads. */
typedef struct {
	char *name;
	char *cni_version;
	char *path; /* file it came from; "<cache>" when rebuilt from cache */
	char *conf_json; /* the whole list (a wrapped .conf becomes a list) */
	gboolean disable_check;
	guint n_plugins;
	char **plugin_types; /* n_plugins entries */
	char **plugin_confs; /* each plugin's object as JSON text */
} CniNetwork;

CniNetwork *cni_network_ref(CniNetwork *net);
void cni_network_unref(CniNetwork *net);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CniNetwork, cni_network_unref)

struct CniManager {
	char *conf_dir;
	char **plugin_dirs;
	char *cni_path;	       /* plugin_dirs joined by ':' */
	char *default_network; /* NULL = first valid */
	char *cache_dir;
	guint timeout_sec;

	GRWLock lock;	     /* guards current and not_ready */
	CniNetwork *current; /* the default network, or NULL */
	char *not_ready;     /* why current is NULL */
	GMutex reload_mutex; /* one reload at a time, so the last one wins */

	GMutex pod_locks_mutex;
	GHashTable *pod_locks; /* sandbox id -> CniPodLock */

	int inotify_fd;
	int conf_wd;
	int wake_fd; /* eventfd that stops the watcher */
	GThread *watcher;
};

/* The default network with a reference, or NULL. */
CniNetwork *cni_manager_current(CniManager *m);

/* Parse and validate one list object (already wrapped); plugin_dirs NULL
 * skips the binary check (DEL from a cached config checks per call). */
CniNetwork *cni_network_from_json(json_t *list, const char *path,
				  const char *const *plugin_dirs,
				  GError **error);
/* Read, wrap when needed and validate one config file. */
CniNetwork *cni_network_load_file(const char *path,
				  const char *const *plugin_dirs,
				  GError **error);
/* All valid networks of dir in lexical file order (CniNetwork*, owned);
 * invalid files are logged and skipped. Never NULL. */
GPtrArray *cni_networks_load_dir(const char *dir,
				 const char *const *plugin_dirs);

/* json_dumps into GLib-allocated memory (jansson's is malloc'd). */
char *cni_json_dump(json_t *j, size_t flags);

gboolean cni_version_supported(const char *version);
/* strcmp-like on "a.b.c"; unparsable parts count as 0. */
int cni_version_cmp(const char *a, const char *b);

/* Full path of an executable `type` in dirs, or NULL. */
char *cni_find_plugin(const char *const *dirs, const char *type);

/* One plugin call. */
typedef struct {
	const char *type;    /* for messages */
	const char *path;    /* executable */
	const char *command; /* ADD, DEL, CHECK, VERSION */
	const char *container_id;
	const char *netns; /* "" allowed */
	const char *ifname;
	const char *cni_args; /* may be NULL */
	const char *cni_path;
	const char *stdin_data;
	guint timeout_sec;
} CniExecRequest;

/* Run the plugin; on success *out is its stdout (NUL-terminated, maybe
 * empty). On failure the error carries the plugin's own msg/details, the
 * exit status and stderr, or the timeout. */
gboolean cni_exec_plugin(const CniExecRequest *req, char **out, GError **error);

/* The message for a plugin failure: from a CNI error object on stdout when
 * there is one, else from stderr. Exposed for the tests. */
char *cni_exec_error_message(const char *type, const char *command,
			     int wait_status, const char *out, const char *err);

/* "IgnoreUnknown=1;K8S_POD_NAMESPACE=..;..." ; INVALID_ARGUMENT when a
 * value carries ';' '=' or a control character. */
char *cni_build_args(const CniPodArgs *pod, GError **error);

/* runtimeConfig for one plugin object: only the capabilities it declares
 * true and the pod has values for. NULL when there is nothing to pass. */
json_t *cni_build_runtime_config(json_t *plugin, const CniPodArgs *pod);

/* stdin for one plugin: its object plus name, cniVersion, prevResult
 * (borrowed; NULL = none) and runtimeConfig. */
char *cni_build_stdin(const char *plugin_conf, const char *net_name,
		      const char *cni_version, json_t *prev_result,
		      const CniPodArgs *pod, GError **error);

gboolean cni_validate_pod(const CniPodArgs *pod, gboolean need_netns,
			  GError **error);

/* Parse a result of any supported version into the domain struct. */
CniResult *cni_result_parse(const char *json, const char *network,
			    GError **error);

/* Cache. The entry keeps everything DEL needs after a restart. */
typedef struct {
	char *sandbox_id;
	char *network;
	char *ifname;
	char *netns;
	char *pod_name, *pod_namespace, *pod_uid;
	GArray *ports; /* CniPortMapping, strings owned */
	gint64 ingress_bps, egress_bps, ingress_burst, egress_burst;
	char *config_json; /* the list used for ADD */
	char *result_json; /* the final result */
} CniCacheEntry;

void cni_cache_entry_free(CniCacheEntry *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CniCacheEntry, cni_cache_entry_free)

char *cni_cache_path(const char *cache_dir, const char *sandbox_id);
gboolean cni_cache_write(const char *cache_dir, const CniPodArgs *pod,
			 const char *ifname, const CniNetwork *net,
			 const char *result_json, GError **error);
/* NOT_FOUND when absent; INTERNAL when unreadable or malformed. */
CniCacheEntry *cni_cache_read(const char *cache_dir, const char *sandbox_id,
			      GError **error);
gboolean cni_cache_remove(const char *cache_dir, const char *sandbox_id,
			  GError **error);
/* Pod args view over a cache entry, with caller's non-NULL fields first. */
void cni_cache_entry_merge_pod(const CniCacheEntry *e, const CniPodArgs *in,
			       CniPodArgs *out);
