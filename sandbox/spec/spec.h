/* OCI runtime spec (config.json) generation for a pod's container: the CRI
 * container config merged with the image config, the pod's namespaces and
 * files, and what the host allows. Pure: reads the rootfs's passwd/group,
 * the Localhost seccomp profile, host device nodes and mountinfo, and
 * writes nothing. */
#pragma once

#include "image/manifest.h"
#include "sandbox/spec/ctr-user.h"
#include "sandbox/container/ctrconfig.h"
#include "sandbox/pod/pod.h"

#include <glib.h>
#include <jansson.h>

/* Facts about the host that shape every spec. Probe once at start. */
typedef struct {
	guint64 cap_bounding;	  /* what containers may get at most */
	int oom_score_adj_min;	  /* lowest oomScoreAdj the runtime can set */
	gboolean cgroup_v2;	  /* a pure cgroup v2 (unified) host */
	gboolean swap_accounting; /* memory+swap limits can be set */
	gboolean apparmor;	  /* AppArmor is enabled */
	/* Whether the kernel has an AppArmor profile loaded (the probe sets
	 * apparmor_profile_loaded; NULL: not checked). */
	gboolean (*apparmor_loaded)(const char *name);
	gboolean selinux;    /* SELinux is enabled */
	const char *dev_dir; /* host device nodes for privileged ("/dev") */
} OciHostInfo;

/* Fill in the host facts:
 * - the capability bounding set of berthd (CapBnd);
 * - oom_score_adj_min: without CAP_SYS_RESOURCE in berthd's effective set
 *   the kernel refuses any value below the oom_score_adj_min it recorded
 *   for the process; that value cannot be read, and it is never above the
 *   current oom_score_adj, so the current value is a floor that always
 *   works (the runtime inherits it through conmon). With the capability
 *   it is -1000;
 * - cgroup v2 when /sys/fs/cgroup is cgroup2 itself, swap accounting
 *   (v1: memory.memsw.* exists; v2: always), AppArmor and SELinux. */
gboolean oci_spec_host_probe(OciHostInfo *out, GError **error);

typedef struct {
	const char *id;	      /* the container id */
	const char *rootfs;   /* absolute path of the mounted rootfs */
	const PodConfig *pod; /* hostname, annotations-free here */
	const char *netns;    /* pod namespace pins; NULL: the host's */
	const char *ipcns;
	const char *utsns;
	int infra_pid;		/* the pod's infra process, for pid mode POD */
	int target_pid;		/* the target container's init, for TARGET */
	const char *pod_cgroup; /* the pod's relative cgroup; NULL: none */
	const ImageConfig *image; /* NULL: an image without a config */
	/* char*, per request mount: where its image volume is mounted on
	 * the host; NULL entries for host path mounts. */
	const GPtrArray *image_volumes;
	/* Pod files bind-mounted at /etc/...; NULL: not mounted. */
	const char *resolv_conf;
	const char *hosts;
	const char *hostname_file;
	/* The pod's /dev/shm (see sandbox/shm.h). NULL: the host's /dev/shm
	 * when the pod uses the host IPC namespace, else a private tmpfs. */
	const char *shm_path;
	const char *termination_log;		 /* host file; NULL: none */
	const char *const *default_capabilities; /* config, "CHOWN", ... */
	gint64 pids_limit;			 /* config; <= 0: none */
	/* The AppArmor profile RuntimeDefault means; NULL: none loaded. */
	const char *apparmor_default;
	const OciHostInfo *host;
	/* The container's runtime handler, and whether it and the kernel do
	 * recursive read-only mounts (its start-up probe). */
	const char *runtime;
	gboolean rro_mounts;
	/* The pod's user namespace pin and mappings; NULL: the host's. */
	const char *userns;
	const UsernsMap *userns_map;
} CtrSpecContext;

/* The default maskedPaths and readonlyPaths (what kubelet sends for the
 * Default proc mount type), NULL-terminated. */
extern const char *const oci_spec_default_masked_paths[];
extern const char *const oci_spec_default_readonly_paths[];

typedef struct {
	json_t *spec;	 /* the config.json document */
	CtrUser user;	 /* whom the process runs as (for ContainerStatus) */
	int stop_signal; /* request, else image StopSignal, else SIGTERM */
} OciSpecResult;

void oci_spec_result_clear(OciSpecResult *r);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(OciSpecResult, oci_spec_result_clear)

/* Build the spec. Errors carry the code kubelet should see:
 * INVALID_ARGUMENT for a bad request (relative paths, unknown user or
 * capability, bad seccomp profile, no command, ...), NOT_FOUND for a
 * Localhost seccomp file that does not exist, FAILED_PRECONDITION when
 * the pod cannot give what is asked (no infra process for pid mode POD,
 * a bidirectional mount whose source is not on a shared mount). */
gboolean oci_spec_build(const CtrConfig *c, const CtrSpecContext *ctx,
			OciSpecResult *out, GError **error);

/* oci_spec_build, returned as config.json text. */
char *oci_spec_generate(const CtrConfig *c, const CtrSpecContext *ctx,
			GError **error);
