/* Pod networking through CNI plugin binaries: loads the network configs from
 * a directory (and follows changes to it), runs the plugin chain for ADD, DEL
 * and CHECK, and caches each ADD result on disk so that DEL and a restarted
 * berthd find it again. No protobuf here: server/ converts CRI messages.
 *
 * Threads: every function may be called from any thread at the same time.
 * Calls for one sandbox id are serialized inside (the CNI spec forbids
 * parallel operations on one container); calls for different sandboxes run
 * in parallel.
 *
 * Config: `conf_dir` holds `*.conflist`, `*.conf` and `*.json` files (dot
 * files are ignored), read in lexical order of the file name. A file with a
 * `plugins` array is a list; one without it is a single plugin config and
 * is wrapped as a one-plugin list. A file is valid when it parses, has a
 * supported `cniVersion` (0.3.0, 0.3.1, 0.4.0, 1.0.0, 1.1.0), a `name`, a
 * non-empty `plugins` array whose entries each have a plain `type` (no '/')
 * naming an executable in one of `plugin_dirs`. Invalid files are skipped
 * with a log line. The default network is the first valid file, or the
 * first one named `default_network` when that is set (no fallback then).
 *
 * Watching: cni_manager_new() starts one thread that blocks on an inotify
 * fd watching conf_dir and the plugin dirs; any change (a config added,
 * rewritten or removed, a plugin binary installed) reloads the whole set,
 * coalescing bursts of events over 100 ms. No polling. conf_dir is created
 * (0755) when missing so it can be watched.
 *
 * Invocation: plugins are run with posix_spawn, a clean fd set (stdin is a
 * memfd holding the config, stdout/stderr are pipes, nothing
 * else is inherited), an empty signal mask, default signal dispositions and
 * their own process group, so that a plugin that overruns `timeout_sec`
 * (per plugin call) is SIGKILLed together with the helpers it spawned.
 * The caller must not reap children it did not start (no waitpid(-1)).
 *
 * ADD runs the list in order, chaining prevResult. When plugin i fails, DEL
 * runs for plugins i..0 in reverse (the failed one included: a plugin that
 * failed or was killed half-way may hold an IPAM lease), with the last good
 * result as prevResult, and the ADD error is returned. DEL runs the list in
 * reverse with the cached result as prevResult, continues past a failing
 * plugin (to free as much as it can) and reports the first failure. DEL
 * succeeds, logging why, when the cache is missing (the current config of
 * the default network is used without prevResult, or nothing is run when
 * there is none), when a plugin binary is gone, or when the netns is gone
 * (CNI_NETNS is then passed empty, which the spec allows for DEL and the
 * reference plugins handle by releasing IPAM and host-side state only).
 * CHECK needs cniVersion >= 0.4.0 and a cached result; for older versions
 * or a list with `disableCheck` it is skipped (logged) and succeeds.
 *
 * Order matters for the caller: call cni_teardown() while the netns still
 * exists. The bridge plugin (1.1.1, Debian 12) finds the addresses whose
 * ipMasq rules it must delete through the interface in the netns; a DEL
 * without the netns releases the IP but leaves its nat chain behind.
 * Known plugin bug: portmap 1.1.1 CHECK fails on a pod with port mappings
 * and no IPv6 ("could not check ipv6 dnat", containernetworking/plugins
 * #819); kubelet does not call CHECK, berth only on demand.
 *
 * Environment of a plugin: CNI_COMMAND, CNI_CONTAINERID (the sandbox id),
 * CNI_NETNS, CNI_IFNAME (default "eth0"), CNI_PATH (plugin_dirs joined by
 * ':'), PATH (berthd's, or a standard one), and CNI_ARGS =
 * "IgnoreUnknown=1;K8S_POD_NAMESPACE=..;K8S_POD_NAME=..;
 * K8S_POD_INFRA_CONTAINER_ID=<sandbox id>;K8S_POD_UID=.." (keys with an
 * empty value are left out). stdin carries the plugin's own object plus the
 * list's `name` and `cniVersion`, `prevResult`, and a `runtimeConfig` with
 * only the capability args the plugin declares in `capabilities`:
 * `portMappings` ([{hostPort, containerPort, protocol (lower case, default
 * tcp), hostIP (when set)}], host port 0 entries dropped) and `bandwidth`
 * ({ingressRate, ingressBurst, egressRate, egressBurst} in bits and bits/s;
 * a burst left at 0 becomes one second of the rate, clamped to
 * [12000, 2^32-1] bits).
 *
 * Cache layout: one file per sandbox, `<cache_dir>/<sandbox id>.json`
 * (berth attaches a pod to exactly one network), written atomically after
 * every successful ADD and removed after a successful DEL:
 *   { "kind": "berth-cni-cache", "version": 1,
 *     "sandboxId": "...", "network": "<name>", "ifname": "eth0",
 *     "netns": "/run/berth/ns/...",
 *     "pod": { "name", "namespace", "uid",
 *              "portMappings": [...], "ingressBps", "egressBps", ... },
 *     "config": { the network list exactly as used for ADD },
 *     "result": { the final plugin's result, as it returned it } }
 *
 * Errors (BERTH_ERROR): INVALID_ARGUMENT for bad pod args,
 * FAILED_PRECONDITION when no network is configured or a plugin binary is
 * missing at ADD, DEADLINE_EXCEEDED when a plugin timed out, INTERNAL when
 * a plugin reported an error (the message carries the plugin's msg and
 * details: "CNI plugin bridge ADD failed: <msg>: <details>"), NOT_FOUND
 * from cni_cache_load when nothing is cached. */
#pragma once

#include <glib.h>

typedef struct {
	guint32 host_port;
	guint32 container_port;
	char *protocol; /* "TCP", "udp", ...: lower-cased on the wire */
	char *host_ip;	/* NULL or "" = any */
} CniPortMapping;

/* One pod's arguments. Strings are borrowed for the duration of the call.
 * For DEL, fields left NULL are taken from the cache. */
typedef struct {
	const char *sandbox_id; /* CNI_CONTAINERID; required */
	const char *pod_name;
	const char *pod_namespace;
	const char *pod_uid;
	const char *netns_path; /* required for ADD and CHECK */
	const char *ifname;	/* NULL = "eth0" */
	const CniPortMapping *ports;
	guint n_ports;
	gint64 ingress_bps; /* bits per second; 0 = no limit */
	gint64 egress_bps;
	gint64 ingress_burst; /* bits; 0 = derived from the rate */
	gint64 egress_burst;
} CniPodArgs;

typedef struct {
	char *name;
	char *mac;     /* may be NULL */
	char *sandbox; /* netns path for a container-side interface, else NULL
			*/
} CniInterface;

typedef struct {
	int family;	/* 4 or 6 */
	char *address;	/* CIDR, as the plugin gave it */
	char *gateway;	/* NULL when none */
	gint interface; /* index into interfaces, -1 when not given */
} CniIpConfig;

typedef struct CniResult {
	char *network;	   /* network name */
	char *cni_version; /* the result's cniVersion */
	char *ifname;	   /* CNI_IFNAME used; NULL when parsed bare */
	char *raw_json;	   /* the result exactly as the plugin returned it */
	GPtrArray *interfaces; /* CniInterface* */
	GPtrArray *ip_configs; /* CniIpConfig*, in result order */
	/* Pod IPs (char*, no prefix length): addresses on container-side
	 * interfaces (or on no interface), the first IPv4 first, then the
	 * rest in result order. Falls back to all addresses when none is on
	 * a container-side interface. */
	GPtrArray *ips;
} CniResult;

typedef struct CniManager CniManager;

/* plugin_dirs: NULL-terminated; NULL = { "/usr/lib/cni", "/opt/cni/bin" }.
 * default_network: NULL or "" = the first valid config. timeout_sec: per
 * plugin call, 0 = 60. cache_dir is created when missing. */
CniManager *cni_manager_new(const char *conf_dir,
			    const char *const *plugin_dirs,
			    const char *default_network, const char *cache_dir,
			    guint timeout_sec, GError **error);
/* Stops the watch thread; waits for nothing else (no call may be running). */
void cni_manager_free(CniManager *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CniManager, cni_manager_free)

/* TRUE when a default network is loaded. Otherwise FALSE with *reason =
 * "NetworkPluginNotReady" and *message saying why, e.g. "no valid CNI
 * network config in /etc/cni/net.d". Out params may be NULL; on TRUE they
 * are set to NULL. Cheap: no I/O. */
gboolean cni_manager_status(CniManager *m, char **reason, char **message);

/* Name of the current default network (free it), or NULL. */
char *cni_manager_default_network(CniManager *m);

/* Force a reload of conf_dir now (the watch thread does this on changes). */
void cni_manager_reload(CniManager *m);

/* ADD the pod to the default network; returns the parsed final result
 * after caching it. On failure nothing stays attached and nothing is
 * cached. */
CniResult *cni_setup(CniManager *m, const CniPodArgs *pod, GError **error);

/* DEL; idempotent (see above). On success the cache entry is gone. */
gboolean cni_teardown(CniManager *m, const CniPodArgs *pod, GError **error);

/* CHECK against the cached result; see above for when it is skipped. */
gboolean cni_check(CniManager *m, const CniPodArgs *pod, GError **error);

/* The cached result of a sandbox, without running anything (berthd uses it
 * after a restart). NOT_FOUND when there is none. */
CniResult *cni_cache_load(CniManager *m, const char *sandbox_id,
			  GError **error);

/* Bring `lo` up in netns by running the `loopback` plugin (ADD, cniVersion
 * 0.3.1, found in plugin_dirs). Nothing to undo: lo goes with the netns. */
gboolean cni_setup_loopback(CniManager *m, const char *sandbox_id,
			    const char *netns_path, GError **error);

void cni_result_free(CniResult *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CniResult, cni_result_free)
