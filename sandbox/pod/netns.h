/* A pod's network, IPC and UTS namespaces (and user namespace, for a pod
 * with one of its own), created and pinned by berthd itself: no pause
 * image, and no helper process beyond the moment of creation (a user
 * namespace needs one, see userns.h). Each namespace is held alive by a
 * bind mount of its nsfs file onto <pin_dir>/{net,ipc,uts,user}.
 *
 * Mount propagation: the directory that holds the pod pin dirs (the parent
 * of pin_dir, e.g. <runroot>/ns) is made a private bind mount of itself on
 * first use. Pins made there never propagate into other mount namespaces
 * (containers, other daemons' private namespaces), so no foreign copy of a
 * pin outlives pod_ns_release and keeps a namespace alive unseen. A mount
 * namespace cloned from berthd's while a pin exists still copies it; runc
 * and crun drop such copies when they pivot_root. */
#pragma once

#include <glib.h>

#include "sandbox/pod/userns.h"

typedef struct {
	gboolean new_net, new_ipc, new_uts; /* FALSE: the host's is used */
	const char *hostname; /* set in the new UTS ns; required with new_uts */
	const char *const *sysctls; /* NULL-terminated "name=value" */
	const char *pin_dir;	    /* e.g. <runroot>/ns/<pod id> */
	/* Non-NULL: a new user namespace with these mappings, which then
	 * owns the new network, IPC and UTS namespaces (all three needed). */
	const UsernsMap *userns;
} PodNsSpec;

typedef struct {
	char *net, *ipc, *uts, *user; /* pin paths; NULL: not created */
} PodNs;

/* Create the namespaces the spec asks for, set the hostname, bring `lo`
 * up, apply the sysctls (each checked with pod_sysctl_check_ns: only those
 * of a namespace created here), and pin each namespace under pin_dir.
 * All or nothing: on failure nothing created here is left behind. The
 * work happens on a short-lived thread of its own, so no thread of the
 * daemon ever runs in a pod's namespaces. A sysctl the pod's namespace
 * lacks, or a value the kernel refuses, is INVALID_ARGUMENT; an existing
 * pin is ALREADY_EXISTS. */
gboolean pod_ns_create(const PodNsSpec *spec, PodNs *out, GError **error);

/* Unmount and unlink every pin in pin_dir, then remove it. Idempotent:
 * succeeds when pin_dir is gone, and finishes a create or a release that
 * was interrupted half-way (pins unmounted or not, files or not). */
gboolean pod_ns_release(const char *pin_dir, GError **error);

/* Free the paths in ns and zero it. */
void pod_ns_clear(PodNs *ns);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(PodNs, pod_ns_clear)

/* Whether pin_path is still a mounted nsfs file (after a reboot /run is
 * empty; after a crash a pin may be a plain empty file). */
gboolean pod_ns_exists(const char *pin_path);

/* Make dir (created if needed) a private mount point, once per process:
 * pod_ns_create calls this for the parent of pin_dir. */
gboolean pod_ns_prepare_root(const char *dir, GError **error);
