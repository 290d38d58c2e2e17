/* The infra process of a pod whose containers share one PID namespace:
 * berth-pause, run through the OCI runtime as PID 1 of that namespace,
 * joining the pod's pinned network, IPC and UTS namespaces. Its rootfs is
 * a directory berth assembles itself (just the static berth-pause). */
#pragma once

#include <glib.h>

#include "sandbox/pod/userns.h"

#include "sandbox/runtime.h"

typedef struct {
	const char *id;	    /* runtime container id */
	const char *bundle; /* directory for config.json (created) */
	const char *rootfs; /* the shared pause rootfs */
	const char *netns;  /* pin paths; NULL: the host's */
	const char *ipcns;
	const char *utsns;
	const char *cgroup;   /* cgroupsPath; NULL: the runtime's default */
	gboolean systemd;     /* cgroup is systemd's (slice:prefix:name) */
	const char *hostname; /* for a new UTS namespace */
	const char *userns;   /* user namespace pin; NULL: the host's */
	const UsernsMap *userns_map;
} InfraSpec;

/* Assemble <dir> with berth-pause in it (idempotent). */
gboolean infra_rootfs_prepare(const char *dir, const char *pause_path,
			      GError **error);

/* `run --detach`; *pid is the pause process's host pid. On failure
 * nothing is left with the runtime. */
gboolean infra_start(const OciRuntime *rt, const InfraSpec *spec, int *pid,
		     GError **error);

/* Kill and delete; success when the runtime no longer knows the id.
 * pid (0: unknown) is the infra's host pid, killed first when it is still
 * the infra (in the network namespace pinned at netns, if not NULL). */
gboolean infra_stop(const OciRuntime *rt, const char *id, gboolean systemd,
		    int pid, const char *netns, GError **error);

/* TRUE when the runtime reports the container running (one runtime call:
 * used at recovery only, never on a read path). */
gboolean infra_running(const OciRuntime *rt, const char *id);
