/* Every config key: section, name, type, flag, help and constraints. */
#include "config/keys.h"
#include "util/error.h"
#include "util/log.h"

#include <stddef.h>
#include <string.h>

#define OFF(f) offsetof(BerthConfig, f)

static const char *const log_levels[] = {"fatal", "panic",   "error",
					 "warn",  "warning", "info",
					 "debug", "trace",   NULL};
static const char *const cgroup_managers[] = {"cgroupfs", "systemd", NULL};

const char *const config_sections[] = {
	"berth",	 "berth.runtime",   "berth.image", "berth.network",
	"berth.metrics", "berth.streaming", NULL};

/* clang-format off */
const ConfigKey config_keys[] = {
	{"berth", "root", CK_STRING, OFF(root), "root",
	 "persistent state: images, pods, containers", .absolute_path = TRUE},
	{"berth", "runroot", CK_STRING, OFF(runroot), "runroot",
	 "volatile state: sockets, namespace pins, exit files", .absolute_path = TRUE},
	{"berth", "listen", CK_STRING, OFF(listen), "listen",
	 "CRI socket: a path or unix:// URL", .absolute_path = TRUE},
	{"berth", "listen_group", CK_STRING, OFF(listen_group), "listen-group",
	 "group (name or id) owning the CRI socket, mode 0660 (\"\": root)"},
	{"berth", "log_level", CK_STRING, OFF(log_level), "log-level",
	 "error, warn, info, debug or trace", .choices = log_levels},
	{"berth", "grpc_max_recv_msg_size", CK_INT, OFF(grpc_max_recv_msg_size),
	 "grpc-max-recv-msg-size", "largest request in bytes", 1024, G_MAXINT32},
	{"berth", "grpc_max_send_msg_size", CK_INT, OFF(grpc_max_send_msg_size),
	 "grpc-max-send-msg-size", "largest reply in bytes", 1024, G_MAXINT32},
	{"berth", "shutdown_grace", CK_INT, OFF(shutdown_grace),
	 "shutdown-grace", "seconds calls in flight get on SIGTERM", 0, 3600},
	{"berth.runtime", "default_runtime", CK_STRING, OFF(default_runtime),
	 "default-runtime", "runtime handler for an empty runtime_handler "
	 "(\"\": crun when it works here, else runc)"},
	{"berth.runtime", "conmon", CK_STRING, OFF(conmon), "conmon",
	 "monitor binary (\"\": berth-conmon beside berthd)", .absolute_path = TRUE},
	{"berth.runtime", "cgroup_manager", CK_STRING, OFF(cgroup_manager),
	 "cgroup-manager",
	 "cgroupfs or systemd (default: systemd when PID 1 is systemd)",
	 .choices = cgroup_managers, .empty_auto = TRUE},
	{"berth.runtime", "default_cgroup_parent", CK_STRING,
	 OFF(default_cgroup_parent), "default-cgroup-parent",
	 "cgroup parent of pods whose config has none: a path (cgroupfs, "
	 "default /berth) or a slice (systemd, default berth.slice)"},
	{"berth.runtime", "conmon_cgroup", CK_STRING, OFF(conmon_cgroup),
	 "conmon-cgroup",
	 "systemd driver: slice of the monitors' scopes, or \"pod\" for the "
	 "pod's slice"},
	{"berth.runtime", "default_capabilities", CK_STRINGS,
	 OFF(default_capabilities), "default-capabilities",
	 "capabilities every container gets"},
	{"berth.runtime", "default_sysctls", CK_STRINGS, OFF(default_sysctls),
	 "default-sysctls", "name=value sysctls of every pod"},
	{"berth.runtime", "pids_limit", CK_INT, OFF(pids_limit), "pids-limit",
	 "default container pids limit (0: none)", 0, G_MAXINT32},
	{"berth.runtime", "stop_timeout", CK_INT, OFF(stop_timeout),
	 "stop-timeout", "seconds a stop waits before SIGKILL when not given",
	 0, 86400},
	{"berth.runtime", "runtime_timeout", CK_INT, OFF(runtime_timeout),
	 "runtime-timeout", "seconds one OCI runtime command may take before "
	 "it is killed", 1, 3600},
	{"berth.runtime", "cdi_spec_dirs", CK_STRINGS, OFF(cdi_spec_dirs),
	 "cdi-spec-dir", "CDI spec dirs; a later dir's device wins",
	 .absolute_path = TRUE},
	{"berth.image", "registries_conf", CK_STRING, OFF(registries_conf),
	 "registries-conf", "containers-registries.conf(5) file",
	 .absolute_path = TRUE},
	{"berth.image", "auth_file", CK_STRING, OFF(auth_file), "auth-file",
	 "registry credentials in auth.json format", .absolute_path = TRUE},
	{"berth.image", "insecure_registries", CK_STRINGS,
	 OFF(insecure_registries), "insecure-registry",
	 "registries reached over plain HTTP or without TLS verification"},
	{"berth.image", "max_parallel_downloads", CK_INT,
	 OFF(max_parallel_downloads), "max-parallel-downloads",
	 "layers one pull downloads at once", 1, 64},
	{"berth.image", "pull_progress_timeout", CK_INT,
	 OFF(pull_progress_timeout), "pull-progress-timeout",
	 "seconds a registry may send nothing before a download is retried",
	 1, 3600},
	{"berth.image", "pinned_images", CK_STRINGS, OFF(pinned_images),
	 "pinned-image", "images kubelet's GC keeps: exact names or prefix* globs"},
	{"berth.network", "cni_conf_dir", CK_STRING, OFF(cni_conf_dir),
	 "cni-config-dir", "CNI network configs", .absolute_path = TRUE},
	{"berth.network", "cni_plugin_dirs", CK_STRINGS, OFF(cni_plugin_dirs),
	 "cni-plugin-dir", "where CNI plugin binaries are", .absolute_path = TRUE},
	{"berth.network", "cni_default_network", CK_STRING,
	 OFF(cni_default_network), "cni-default-network",
	 "network name to use (\"\": the first config in lexical order)"},
	{"berth.network", "cni_timeout", CK_INT, OFF(cni_timeout),
	 "cni-timeout", "seconds one CNI plugin call may take before it is "
	 "killed", 1, 3600},
	{"berth.metrics", "enable_metrics", CK_BOOL, OFF(enable_metrics),
	 "enable-metrics", "serve Prometheus metrics"},
	{"berth.metrics", "metrics_address", CK_STRING, OFF(metrics_address),
	 "metrics-address", "host:port of the metrics endpoint"},
	{"berth.metrics", "metrics_cert", CK_STRING, OFF(metrics_cert),
	 "metrics-cert", "PEM certificate: serve /metrics over HTTPS (with "
	 "metrics_key)", .absolute_path = TRUE},
	{"berth.metrics", "metrics_key", CK_STRING, OFF(metrics_key),
	 "metrics-key", "PEM private key of metrics_cert",
	 .absolute_path = TRUE},
	{"berth.metrics", "stats_collection_period", CK_INT,
	 OFF(stats_collection_period), "stats-collection-period",
	 "seconds between collections of container and pod stats, which the "
	 "stats and metrics RPCs then answer from (0: read on each call)",
	 0, 3600},
	{"berth.streaming", "address", CK_STRING, OFF(stream_address),
	 "stream-address", "IP address the streaming server binds"},
	{"berth.streaming", "port", CK_INT, OFF(stream_port), "stream-port",
	 "port of the streaming server (0: a random free port)", 0, 65535},
	{"berth.streaming", "tls_cert", CK_STRING, OFF(stream_tls_cert),
	 "stream-tls-cert", "PEM certificate: serve HTTPS (with tls_key)",
	 .absolute_path = TRUE},
	{"berth.streaming", "tls_key", CK_STRING, OFF(stream_tls_key),
	 "stream-tls-key", "PEM private key of tls_cert", .absolute_path = TRUE},
	{"berth.streaming", "idle_timeout", CK_INT, OFF(stream_idle_timeout),
	 "stream-idle-timeout",
	 "seconds a streaming session may pass without traffic (0: no limit)",
	 0, 30 * 86400},
	{"berth.streaming", "token_lifetime", CK_INT,
	 OFF(stream_token_lifetime), "stream-token-lifetime",
	 "seconds an Exec/Attach/PortForward URL stays usable", 1, 3600},
	{NULL},
};
/* clang-format on */

void *config_key_slot(BerthConfig *c, const ConfigKey *k)
{
	return (char *)c + k->offset;
}

const void *config_key_cslot(const BerthConfig *c, const ConfigKey *k)
{
	return (const char *)c + k->offset;
}

const ConfigKey *config_key_find(const char *section, const char *key)
{
	for (const ConfigKey *k = config_keys; k->key != NULL; k++) {
		if (strcmp(k->section, section) == 0 &&
		    strcmp(k->key, key) == 0)
			return k;
	}
	return NULL;
}

gboolean config_section_known(const char *section)
{
	return g_strv_contains(config_sections, section);
}

static gboolean check_path(const ConfigKey *k, const char *v, GError **error)
{
	if (v[0] == '\0' || v[0] == '/')
		return TRUE;
	return berth_throw(error, INVALID_ARGUMENT,
			   "%s.%s must be an absolute path, not \"%s\"",
			   k->section, k->key, v);
}

gboolean config_key_check(BerthConfig *c, const ConfigKey *k, GError **error)
{
	void *slot = config_key_slot(c, k);
	if (k->type == CK_INT) {
		gint64 v = *(gint64 *)slot;
		if (v < k->min || v > k->max)
			return berth_throw(
				error, INVALID_ARGUMENT,
				"%s.%s must be between %" G_GINT64_FORMAT
				" and %" G_GINT64_FORMAT
				", not %" G_GINT64_FORMAT,
				k->section, k->key, k->min, k->max, v);
		return TRUE;
	}
	if (k->type == CK_STRINGS) {
		for (char **p = *(char ***)slot; *p != NULL; p++) {
			if ((*p)[0] == '\0')
				return berth_throw(error, INVALID_ARGUMENT,
						   "%s.%s has an empty entry",
						   k->section, k->key);
			if (k->absolute_path && !check_path(k, *p, error))
				return FALSE;
		}
		return TRUE;
	}
	if (k->type != CK_STRING)
		return TRUE;
	char **sp = slot;
	/* listen takes a unix:// URL too; keep the path only. */
	if (k->offset == offsetof(BerthConfig, listen) &&
	    g_str_has_prefix(*sp, "unix://")) {
		char *path = g_strdup(*sp + strlen("unix://"));
		g_free(*sp);
		*sp = path;
	}
	if (k->choices != NULL && !(k->empty_auto && **sp == '\0') &&
	    !g_strv_contains(k->choices, *sp)) {
		g_autofree char *list = g_strjoinv(", ", (char **)k->choices);
		return berth_throw(error, INVALID_ARGUMENT,
				   "%s.%s must be one of %s, not \"%s\"",
				   k->section, k->key, list, *sp);
	}
	if (k->absolute_path && !check_path(k, *sp, error))
		return FALSE;
	if (k->absolute_path && (*sp)[0] == '\0' &&
	    k->offset != offsetof(BerthConfig, conmon) &&
	    k->offset != offsetof(BerthConfig, auth_file) &&
	    k->offset != offsetof(BerthConfig, metrics_cert) &&
	    k->offset != offsetof(BerthConfig, metrics_key) &&
	    k->offset != offsetof(BerthConfig, stream_tls_cert) &&
	    k->offset != offsetof(BerthConfig, stream_tls_key))
		return berth_throw(error, INVALID_ARGUMENT,
				   "%s.%s must not be empty", k->section,
				   k->key);
	return TRUE;
}

gboolean config_runtime_name_valid(const char *name)
{
	if (name[0] == '\0' || strlen(name) > 63)
		return FALSE;
	for (const char *p = name; *p; p++) {
		if (!g_ascii_islower(*p) && !g_ascii_isdigit(*p) && *p != '-' &&
		    *p != '_')
			return FALSE;
	}
	return TRUE;
}

gint config_runtime_cmp(gconstpointer a, gconstpointer b)
{
	const BerthRuntimeHandler *x = *(BerthRuntimeHandler *const *)a;
	const BerthRuntimeHandler *y = *(BerthRuntimeHandler *const *)b;
	return strcmp(x->name, y->name);
}
