/* OCI runtime handlers as berthd sees them: which configured runtimes
 * really run a container on this host, and which one is the default. */
#pragma once

#include <glib.h>

#include "config/config.h"

typedef struct {
	char *name;
	char *path;
	char *root;
	gboolean works;
	char *problem; /* why it does not work, NULL when it does */
	/* Recursive read-only mounts work: the runtime lists "rro" in its
	 * `features` mountOptions and the kernel has mount_setattr(2). */
	gboolean rro;
	/* Pods with a user namespace of their own work: the start-up probe
	 * ran a container in one, its rootfs an idmapped mount; else why
	 * not. */
	gboolean userns;
	char *userns_problem;
	/* How long one command (run, kill, delete, update, state) may take:
	 * the config's runtime_timeout. */
	guint timeout_ms;
} OciRuntime;

typedef struct {
	GPtrArray *runtimes;	     /* OciRuntime*, config order */
	OciRuntime *default_runtime; /* NULL when none works */
	char *default_why;	     /* a sentence for the log and Status */
} OciRuntimes;

/* Probe every configured handler by running a minimal container (a static
 * berth-pause in an otherwise empty rootfs) under workdir, then choose the
 * default: the configured one, or crun when it works, else runc. With
 * cache_path (in the runroot), what an earlier start of this boot found
 * for a working runtime whose binary is unchanged is taken from there
 * instead of probed again. */
OciRuntimes *oci_runtimes_probe(const BerthConfig *c, const char *pause_path,
				const char *workdir, const char *cache_path);
void oci_runtimes_free(OciRuntimes *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(OciRuntimes, oci_runtimes_free)

/* The runtime's `features` output lists the mount option opt; FALSE with
 * *why saying so when it does not, or has no `features` command. */
gboolean oci_runtime_has_mount_option(const char *path, const char *opt,
				      char **why);
/* The kernel has mount_setattr(2) (Linux 5.12), probed with a real call. */
gboolean oci_kernel_has_mount_setattr(void);

const OciRuntime *oci_runtimes_get(const OciRuntimes *r, const char *name);

/* Run `<runtime> --root <root> [--log log] args...` (output: a file for
 * the child's stdout and stderr, for commands whose container inherits
 * them; NULL: pipes). On failure the error carries the runtime's own
 * message (its log, else its output); a command that outlives
 * rt->timeout_ms is killed with all it started, DEADLINE_EXCEEDED. */
gboolean oci_runtime_run(const OciRuntime *rt, const char *log,
			 const char *const *args, const char *output,
			 GError **error);
/* The runtime's global options for a container whose cgroup systemd
 * manages (systemd: {"--systemd-cgroup", NULL}; else {NULL}). */
const char *const *oci_runtime_cgroup_args(gboolean systemd);

/* oci_runtime_run with oci_runtime_cgroup_args(systemd) before args. */
gboolean oci_runtime_run_in(const OciRuntime *rt, gboolean systemd,
			    const char *log, const char *const *args,
			    const char *output, GError **error);

/* The runtime's error says the container does not exist (any more). */
gboolean oci_runtime_gone(const GError *e);

/* The probe of one runtime: TRUE when it ran the container, else FALSE
 * with *problem saying why (the runtime's own message where it has one). */
gboolean oci_runtime_probe_one(const char *path, const char *root,
			       const char *pause_path, const char *workdir,
			       char **problem);
