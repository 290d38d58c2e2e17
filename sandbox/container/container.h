/* The container model: what berth keeps of a container (its config as the
 * spec module holds it, the image it runs, where its bundle, rootfs, log
 * and monitor sockets are) and its run-time state, with its record on disk
 * (<root>/containers/<id>/container.json, rewritten atomically). */
#pragma once

#include <glib.h>

#include "sandbox/container/ctrconfig.h"

typedef enum {
	CTR_CREATING, /* CreateContainer in progress: never listed */
	CTR_CREATED,
	CTR_RUNNING,
	CTR_EXITED,
	CTR_REMOVING, /* RemoveContainer in progress: never listed */
} CtrState;

typedef struct Container {
	gint refs;
	char *id; /* 64 lowercase hex */
	char *pod_id;
	char *full_name; /* name_podname_podns_poduid_attempt */
	char *config_hash;
	CtrConfig *config;
	char *image_name; /* the image as the request named it */
	char *image_id;	  /* "sha256:<config digest hex>" */
	char *runtime;	  /* runtime handler name */
	char *dir;	  /* <root>/containers/<id>: bundle, rootfs, upper */
	char *socket_dir; /* <runroot>/containers/<id>: monitor sockets */
	char *log_path;	  /* absolute; "" when the pod has no log dir */
	char *cgroup;	  /* relative cgroup path */
	int stop_signal;
	gint64 created_at;
	/* Whom the first process runs as, from the spec (has_user FALSE for
	 * records written before it was kept). */
	gboolean has_user;
	guint32 uid, gid;
	GArray *groups; /* guint32, the primary gid first */

	GMutex op_lock; /* serialises create/start/stop/remove */
	GMutex lock;	/* guards what follows */
	GCond cond;	/* state changes (exits) */
	CtrState state;
	int pid;
	gint64 started_at;
	gint64 finished_at;
	int exit_code;
	char *reason;  /* Completed, Error, OOMKilled, ... */
	char *message; /* termination message */
	gboolean answered;
	char *failure;
	/* StartContainer is between `runtime start` and its STARTED event:
	 * an exit seen meanwhile waits, so STOPPED never precedes STARTED. */
	gboolean starting;
	/* The list entry of container_list_entry, as it was for
	 * list_state. */
	GBytes *list_entry;
	CtrState list_state;
} Container;

Container *container_new(const char *id, const char *pod_id,
			 CtrConfig *config /* taken */);
Container *container_ref(Container *c);
void container_unref(Container *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Container, container_unref)

CtrState container_get_state(Container *c);
void container_set_state(Container *c, CtrState s);

/* Call fn with c's lock held, so that it sees one consistent state (state,
 * exit, resources as last updated, user): replies are built this way, and
 * nothing outside sandbox/ takes a container's lock. fn must not block. */
typedef void (*ContainerReadFn)(const Container *c, gpointer data);
void container_read(Container *c, ContainerReadFn fn, gpointer data);

/* A list entry of c in state st (for ListContainers, c's summary packed
 * as the server sends it), made by make on first use and kept until the
 * state changes: nothing else in a summary ever changes. A new ref. */
typedef GBytes *(*ContainerEntryFn)(Container *c, CtrState st, gpointer data);
GBytes *container_list_entry(Container *c, CtrState st, ContainerEntryFn make,
			     gpointer data);

char *container_to_json(Container *c); /* caller holds c->lock */
Container *container_from_json(const char *text, gsize len, GError **error);
