/* Container lifecycle: create (every step undone on failure), start,
 * stop, remove, exec-sync, exits as events, and recovery at start-up.
 * Each step leaves the container's record saying how far it got. */
#pragma once

#include <glib.h>

#include "config/config.h"
#include "image/store.h"
#include "sandbox/container/container.h"
#include "sandbox/container/events.h"
#include "sandbox/pod/podlife.h"
#include "sandbox/runtime.h"
#include "sandbox/spec/cdi.h"

typedef struct CtrManager CtrManager;

typedef struct {
	const BerthConfig *config;
	PodManager *pods;
	ImageStore *images;
	OciRuntimes *runtimes;
	EventBus *events;
	CdiRegistry *cdi; /* the daemon's CDI specs (config cdi_spec_dirs) */
	const char *conmon_path;
} CtrManagerDeps;

CtrManager *ctr_manager_new(const CtrManagerDeps *deps, GError **error);
void ctr_manager_free(CtrManager *m);

/* Load records, undo half-made work, pick up exits that happened while
 * berthd was down, then start watching the exits dir. */
gboolean ctr_manager_recover(CtrManager *m, GError **error);

/* Create in pod pod_id. image names the image as the request did; img
 * is the image it resolved to (short names and a missing tag resolved by
 * the caller as ImageStatus does), NULL when none is present. When
 * kubelet retries a request whose first attempt it gave up on, returns
 * that attempt's container. */
Container *ctr_manager_create(CtrManager *m, const char *pod_id,
			      CtrConfig *config /* taken */, const char *image,
			      ImageRecord *img, GError **error);
void ctr_manager_mark_answered(CtrManager *m, Container *c, gboolean answered);
gboolean ctr_manager_start(CtrManager *m, const char *id, GError **error);
/* timeout_s 0 kills at once. Idempotent on a stopped container; an
 * unknown or removed id is success (the CRI contract). */
gboolean ctr_manager_stop(CtrManager *m, const char *id, gint64 timeout_s,
			  GError **error);
/* Idempotent; kills a running one first. */
gboolean ctr_manager_remove(CtrManager *m, const char *id, GError **error);

typedef struct {
	int exit_code;
	GString *out;
	GString *err;
} ExecResult;
void exec_result_clear(ExecResult *r);
/* Runs cmd in the container; DEADLINE_EXCEEDED when it overran timeout_s
 * (0: none) and was killed. */
gboolean ctr_manager_exec_sync(CtrManager *m, const char *id, char *const *cmd,
			       gint64 timeout_s, ExecResult *out,
			       GError **error);
gboolean ctr_manager_reopen_log(CtrManager *m, const char *id, GError **error);

Container *ctr_manager_lookup(CtrManager *m, const char *id, GError **error);
/* Snapshot of every listed container (creation order), new refs. */
GPtrArray *ctr_manager_list(CtrManager *m);
/* The same for the containers of one pod (pod_id in full), those being
 * created or removed left out. */
GPtrArray *ctr_manager_list_pod(CtrManager *m, const char *pod_id);

/* For pods: stop (timeout 0) or remove every container of a pod. */
gboolean ctr_manager_stop_pod(CtrManager *m, const char *pod_id,
			      GError **error);
gboolean ctr_manager_remove_pod(CtrManager *m, const char *pod_id,
				GError **error);
/* The pod manager the containers' pods are in (for streaming, which
 * needs a pod's network namespace). */
PodManager *ctr_manager_pods(CtrManager *m);

/* `<runtime> update --resources` for a created or running container
 * (FAILED_PRECONDITION when it has exited); on success r replaces the
 * container's cpu, cpuset and memory resources in its config and record.
 * Pids, hugepages and unified settings are left as they are. */
gboolean ctr_manager_update_resources(CtrManager *m, const char *id,
				      const CtrResources *r, GError **error);

/* TRUE when some container uses image_id (for RemoveImage). */
gboolean ctr_manager_image_in_use(CtrManager *m, const char *image_id);
