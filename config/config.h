/* berthd's configuration: built-in defaults, then the main file, then
 * drop-ins in lexical order, then command-line flags. One key table drives
 * loading, flags, validation and printing, so a key cannot exist in one and
 * be missing from another. */
#pragma once

#include <glib.h>

#define BERTH_DEFAULT_CONFIG "/etc/berth/berth.conf"
#define BERTH_DEFAULT_CONFIG_DIR "/etc/berth/berth.conf.d"

typedef struct {
	char *name;
	char *runtime_path; /* the OCI runtime binary */
	char *runtime_root; /* its --root; "" = <runroot>/runtimes/<name> */
} BerthRuntimeHandler;

typedef struct BerthConfig {
	/* [berth] */
	char *root;
	char *runroot;
	char *listen;	    /* a filesystem path (unix:// stripped on input) */
	char *listen_group; /* the socket's group: a name or id; "" = 0 */
	char *log_level;
	gint64 grpc_max_recv_msg_size;
	gint64 grpc_max_send_msg_size;
	gint64 shutdown_grace; /* seconds in-flight calls get on SIGTERM */
	/* [berth.runtime] */
	char *default_runtime; /* "" = crun when it works here, else runc */
	char *conmon;	       /* "" = berth-conmon beside berthd */
	/* "cgroupfs" or "systemd"; "" until berth_config_resolve: systemd
	 * when PID 1 is systemd, else cgroupfs (cgroup_manager_auto). */
	char *cgroup_manager;
	gboolean cgroup_manager_auto;
	gboolean systemd_is_pid1; /* as berth_config_resolve found it */
	/* For pods that bring none: a path (cgroupfs) or a slice (systemd);
	 * "" until berth_config_resolve: /berth or berth.slice. */
	char *default_cgroup_parent;
	/* systemd driver: the slice of the monitors' scopes, or "pod" (the
	 * pod's own slice). */
	char *conmon_cgroup;
	char **default_capabilities;
	char **default_sysctls; /* "name=value" */
	gint64 pids_limit;	/* 0 = no limit */
	gint64 stop_timeout;	/* seconds, when a caller gives none */
	gint64 runtime_timeout; /* seconds one runtime command may take */
	char **cdi_spec_dirs;	/* CDI spec dirs, lowest priority first */
	GPtrArray *runtimes;	/* BerthRuntimeHandler*, in name order */
	/* [berth.image] */
	char *registries_conf;
	char *auth_file;
	char **insecure_registries;
	gint64 max_parallel_downloads;
	gint64 pull_progress_timeout; /* seconds with no bytes: a failed try */
	/* Images kubelet's GC must leave (Image.pinned): exact names or
	 * "prefix*" globs, matched against repo tags and digests. */
	char **pinned_images;
	/* [berth.network] */
	char *cni_conf_dir;
	char **cni_plugin_dirs;
	char *cni_default_network;
	gint64 cni_timeout; /* seconds one plugin call may take */
	/* [berth.metrics] */
	gboolean enable_metrics;
	gint64 stats_collection_period; /* seconds; 0: stats read per call */
	char *metrics_address;
	char *metrics_cert; /* both or neither; "" = plain HTTP */
	char *metrics_key;
	/* [berth.streaming] (Exec, Attach, PortForward URLs point here) */
	char *stream_address;  /* an IP literal to bind */
	gint64 stream_port;    /* 0 = a random free port */
	char *stream_tls_cert; /* both or neither; "" = plain HTTP */
	char *stream_tls_key;
	gint64 stream_idle_timeout;   /* seconds without traffic; 0 = none */
	gint64 stream_token_lifetime; /* seconds a streaming URL stays valid */

	/* Where each key got its value: "section.key" -> "file:line:col",
	 * "--flag" or "default". */
	GHashTable *origins;
} BerthConfig;

BerthConfig *berth_config_new_default(void);
void berth_config_free(BerthConfig *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(BerthConfig, berth_config_free)

/* Merge one TOML document over c. Unknown keys, wrong types and bad
 * values are INVALID_ARGUMENT "file:line:col: ...". */
gboolean berth_config_merge_toml(BerthConfig *c, const char *text, gsize len,
				 const char *filename, GError **error);

/* Merge a file; a missing file is NOT_FOUND. */
gboolean berth_config_merge_file(BerthConfig *c, const char *path,
				 GError **error);

/* Merge every *.conf of dir in lexical order; a missing dir is fine. */
gboolean berth_config_merge_dir(BerthConfig *c, const char *dir,
				GError **error);

/* Whole-config checks after all sources are merged. */
/* Fill what the defaults left to the host: the cgroup manager (systemd
 * when PID 1 is systemd) and the default cgroup parent that suits it;
 * remember whether PID 1 is systemd (checked once, at start). */
void berth_config_resolve(BerthConfig *c, gboolean systemd_is_pid1);

gboolean berth_config_validate(const BerthConfig *c, GError **error);

/* Look up a runtime handler by name (NULL if none). */
const BerthRuntimeHandler *berth_config_runtime(const BerthConfig *c,
						const char *name);
/* The runtime root of h: its own, or <runroot>/runtimes/<name>. */
char *berth_config_runtime_root(const BerthConfig *c,
				const BerthRuntimeHandler *h);

/* The effective configuration as TOML that berth_config_merge_toml accepts
 * back unchanged, and as JSON (for Status verbose info). */
char *berth_config_to_toml(const BerthConfig *c);
char *berth_config_to_json(const BerthConfig *c);

/* Command line (CRI-O's flag names where they exist). Parses argv in
 * place: on return argv holds the program name and the non-flag words
 * (a subcommand such as "config"). Reads --config/--config-dir first, merges
 * files, then applies the other flags. *exit_now is set for --help and
 * --version, which print and want exit 0. */
BerthConfig *berth_config_from_args(int *argc, char ***argv, gboolean *exit_now,
				    GError **error);
