/* Pod lifecycle: run (every step undone on failure), stop, remove, and
 * recovery at start-up. Each step leaves the pod's record saying how far it
 * got, so a berthd killed half-way finishes or undoes the work on restart. */
#pragma once

#include <glib.h>

#include "config/config.h"
#include "network/cni.h"
#include "sandbox/pod/pod.h"
#include "sandbox/pod/podstore.h"
#include "sandbox/runtime.h"

typedef struct PodManager PodManager;

typedef struct {
	const BerthConfig *config;
	CniManager *cni;
	OciRuntimes *runtimes;
	const char *pause_path; /* the static berth-pause */
} PodManagerDeps;

PodManager *pod_manager_new(const PodManagerDeps *deps, GError **error);
void pod_manager_free(PodManager *m);
Store *pod_manager_store(PodManager *m);

/* Load the records on disk; finish or undo what a killed berthd left half
 * done; mark pods whose namespaces vanished (a reboot) NOTREADY. */
void pod_manager_recover(PodManager *m);

/* Check what can be checked before anything is made: names, sysctls,
 * namespace modes, the runtime handler, DNS entries. */
gboolean pod_manager_validate(PodManager *m, const PodConfig *c,
			      GError **error);

/* Run a pod. Returns a ref. When kubelet retries a request whose first
 * attempt it gave up on (same name, same config, first reply never
 * delivered), returns that attempt's pod, waiting for it if needed. */
Pod *pod_manager_run(PodManager *m, PodConfig *config /* taken */,
		     GError **error);

/* Record whether the reply of the RunPodSandbox that made p reached its
 * client (FALSE when the call was cancelled or past its deadline). */
void pod_manager_mark_answered(PodManager *m, Pod *p, gboolean answered);

/* What a pod's containers need when the pod stops or goes away; set by
 * whoever manages containers (called with the pod's op lock held). */
typedef struct {
	gboolean (*stop_all)(const char *pod_id, gpointer data, GError **error);
	gboolean (*remove_all)(const char *pod_id, gpointer data,
			       GError **error);
	gpointer data;
} PodContainerHooks;
void pod_manager_set_container_hooks(PodManager *m,
				     const PodContainerHooks *hooks);

/* The pod's /dev/shm tmpfs, or NULL when it uses the host IPC namespace. */
char *pod_manager_shm_path(PodManager *m, const Pod *p);

/* Idempotent: an unknown or removed id is success (the CRI contract). */
gboolean pod_manager_stop(PodManager *m, const char *id, GError **error);
/* Idempotent: an unknown or removed id is success. */
gboolean pod_manager_remove(PodManager *m, const char *id, GError **error);
