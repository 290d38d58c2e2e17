/* The container model's configuration: berth's own plain-C copy of what a
 * CRI ContainerConfig carries (server/ converts the protobuf). Everything
 * the OCI spec generator (sandbox/spec.h) needs, nothing of gRPC. */
#pragma once

#include "sandbox/pod/pod.h"

#include <glib.h>

/* MountPropagation of the CRI, same numbers. */
typedef enum {
	CTR_PROPAGATION_PRIVATE = 0,	       /* rprivate */
	CTR_PROPAGATION_HOST_TO_CONTAINER = 1, /* rslave */
	CTR_PROPAGATION_BIDIRECTIONAL = 2,     /* rshared */
} CtrPropagation;

/* SecurityProfile.ProfileType of the CRI, same numbers. */
typedef enum {
	CTR_PROFILE_RUNTIME_DEFAULT = 0,
	CTR_PROFILE_UNCONFINED = 1,
	CTR_PROFILE_LOCALHOST = 2,
} CtrProfileKind;

/* SupplementalGroupsPolicy of the CRI, same numbers. */
typedef enum {
	CTR_GROUPS_MERGE = 0,
	CTR_GROUPS_STRICT = 1,
} CtrGroupsPolicy;

/* A bind mount of host_path, or an image volume (image set, host_path
 * ""): that image's root filesystem, or image_sub_path of it, always
 * read-only. */
typedef struct {
	char *container_path;
	char *host_path;
	char *image;	      /* as requested; "" for a host path mount */
	char *image_id;	      /* image resolved by server/, "sha256:..." */
	char *image_sub_path; /* relative; "" for the whole image */
	gboolean readonly;
	gboolean selinux_relabel; /* ignored, with a log line */
	gboolean recursive_read_only;
	CtrPropagation propagation;
} CtrMount;

typedef struct {
	char *container_path;
	char *host_path;
	char *permissions; /* "r", "w", "m" combined; "" means "rwm" */
} CtrDevice;

typedef struct {
	char *page_size; /* "2MB", "1GB" */
	guint64 limit;
} CtrHugepageLimit;

typedef struct {
	CtrProfileKind kind;
	char *localhost_ref; /* Localhost: seccomp file path / AppArmor name */
} CtrProfile;

/* Optional int64: the CRI's Int64Value, absent vs zero. */
typedef struct {
	gboolean set;
	gint64 value;
} CtrOptInt;

typedef struct {
	/* Zero or empty means not set, as in the CRI. */
	gint64 cpu_period;
	gint64 cpu_quota;
	gint64 cpu_shares;
	gint64 memory_limit;
	gint64 memory_swap_limit; /* memory + swap, memsw semantics */
	gint64 oom_score_adj;	  /* always applied (0 is a value) */
	char *cpuset_cpus;
	char *cpuset_mems;
	GPtrArray *hugepage_limits; /* CtrHugepageLimit* */
	GPtrArray *unified;	    /* KeyValue*: cgroup v2 file -> value */
} CtrResources;

typedef struct {
	char **cap_add; /* NULL-terminated names, "CAP_X", "X" or "ALL" */
	char **cap_drop;
	char **cap_add_ambient;
	gboolean privileged;
	PodNsMode ns_pid; /* network and IPC always follow the pod */
	char *ns_target_id;
	/* userns_options as sent (checked against the pod's at create; the
	 * container then lives in its pod's user namespace). */
	gboolean userns_given;
	gboolean userns; /* mode POD */
	UsernsMap userns_map;
	CtrOptInt run_as_user;
	CtrOptInt run_as_group;
	char *run_as_username; /* "" when not set */
	gboolean readonly_rootfs;
	GArray *supplemental_groups; /* gint64 */
	CtrGroupsPolicy supplemental_groups_policy;
	gboolean no_new_privs;
	/* NULL: not given, the runtime's defaults apply. A non-NULL list
	 * replaces the defaults, an empty one masks nothing. */
	char **masked_paths;
	char **readonly_paths;
	CtrProfile seccomp;
	CtrProfile apparmor;
	char *selinux_user, *selinux_role, *selinux_type, *selinux_level;
} CtrSecurity;

typedef struct CtrConfig {
	char *name;
	guint32 attempt;
	char *image;	/* as requested; informational here */
	char **command; /* NULL-terminated, possibly empty */
	char **args;
	char *working_dir;  /* "" when not set */
	GPtrArray *envs;    /* KeyValue*, in request order */
	GPtrArray *mounts;  /* CtrMount* */
	GPtrArray *devices; /* CtrDevice* */
	/* CDI device names as the request's CDI_devices gave them (the
	 * cdi.k8s.io/ annotations name more), NULL-terminated. */
	char **cdi_devices;
	GPtrArray *labels;	/* KeyValue*, as given */
	GPtrArray *annotations; /* KeyValue*, as given */
	char *log_path;
	gboolean stdin_;
	gboolean stdin_once;
	gboolean tty;
	int stop_signal; /* POSIX number; 0 = the image's, else SIGTERM */
	CtrResources resources;
	CtrSecurity security;
} CtrConfig;

/* Every string "" and every list empty (never NULL, except the two path
 * lists of CtrSecurity), pid namespace POD. Profiles are what the CRI
 * means when the request has no SecurityProfile message: seccomp
 * Unconfined, AppArmor RuntimeDefault. */
CtrConfig *ctr_config_new(void);
void ctr_config_free(CtrConfig *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CtrConfig, ctr_config_free)

/* Appenders that copy their arguments. */
void ctr_config_add_mount(CtrConfig *c, const char *container_path,
			  const char *host_path, gboolean readonly,
			  CtrPropagation propagation);
/* An image volume: image as requested, image_id as resolved. */
void ctr_config_add_image_mount(CtrConfig *c, const char *container_path,
				const char *image, const char *image_id,
				const char *sub_path, gboolean readonly);
void ctr_config_add_device(CtrConfig *c, const char *container_path,
			   const char *host_path, const char *permissions);
void ctr_config_add_hugepage_limit(CtrConfig *c, const char *page_size,
				   guint64 limit);

/* The deprecated string form of a profile ("runtime/default",
 * "docker/default", "unconfined", "localhost/<ref>"). "" means unconfined,
 * as the CRI says. Anything else is INVALID_ARGUMENT. */
gboolean ctr_profile_parse_legacy(const char *text, CtrProfile *out,
				  GError **error);
void ctr_profile_clear(CtrProfile *p);

/* A signal by name or number ("SIGTERM", "TERM", "15", "SIGRTMIN+3",
 * "RTMAX-1"), as image configs write STOPSIGNAL; 0 when unknown. */
int ctr_signal_parse(const char *text);

/* The signal that stops the container: the request's, else the image's
 * StopSignal (image_stop_signal may be NULL), else SIGTERM. An image
 * signal that does not parse is logged and SIGTERM used. */
int ctr_config_stop_signal(const CtrConfig *c, const char *image_stop_signal);
