/* The pod sandbox model: a pod's configuration as berth keeps it (no
 * protobuf here; server/ converts), its run-time state, and its record on
 * disk (<root>/pods/<id>/pod.json, rewritten atomically on every change). */
#pragma once

#include <glib.h>

#include "sandbox/pod/userns.h"
#include "util/kv.h"

/* NamespaceMode of the CRI, same numbers. */
typedef enum {
	POD_NS_POD = 0,
	POD_NS_CONTAINER = 1,
	POD_NS_NODE = 2,
	POD_NS_TARGET = 3,
} PodNsMode;

typedef enum {
	POD_CREATING, /* RunPodSandbox in progress: never listed */
	POD_READY,
	POD_NOTREADY,
	POD_REMOVING, /* RemovePodSandbox in progress: never listed */
} PodState;

typedef struct {
	char *protocol; /* "tcp", "udp", "sctp" */
	gint32 container_port;
	gint32 host_port; /* 0: none */
	char *host_ip;
} PodPort;

typedef struct PodConfig {
	char *name;
	char *uid;
	char *namespace_;
	guint32 attempt;
	char *hostname;
	char *log_directory;
	char **dns_servers; /* NULL-terminated, possibly empty */
	char **dns_searches;
	char **dns_options;
	GPtrArray *ports;	/* PodPort* */
	GPtrArray *labels;	/* KeyValue*, as given */
	GPtrArray *annotations; /* KeyValue*, as given */
	GPtrArray *sysctls;	/* KeyValue* */
	char *cgroup_parent;
	PodNsMode ns_network;
	PodNsMode ns_pid;
	PodNsMode ns_ipc;
	char *ns_target_id;
	/* userns_options mode POD: a user namespace of the pod's own with
	 * these mappings (FALSE: the host's, mode NODE or unset). */
	gboolean userns;
	UsernsMap userns_map;
	gboolean privileged;
	char *runtime_handler; /* as requested; "" = default */
} PodConfig;

PodConfig *pod_config_new(void);
void pod_config_free(PodConfig *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(PodConfig, pod_config_free)

/* <name>_<namespace>_<uid>_<attempt>, the name kubelet reserves. */
char *pod_config_full_name(const PodConfig *c);

/* A digest of the configuration that does not depend on the order of
 * labels or annotations: equal for kubelet's retry of the same request. */
char *pod_config_hash(const PodConfig *c);

typedef struct Pod {
	gint refs;
	char *id; /* 64 lowercase hex */
	char *full_name;
	char *config_hash;
	PodConfig *config;
	char *runtime;	   /* resolved runtime handler name */
	gint64 created_at; /* ns */

	/* Serialises lifecycle operations (run, stop, remove) on this pod. */
	GMutex op_lock;

	/* Guarded by lock; read by List/Status. */
	GMutex lock;
	GCond cond; /* signalled when state leaves POD_CREATING */
	PodState state;
	char *ns_dir; /* <runroot>/ns/<id> */
	char *netns;  /* pin paths; NULL when the host's is used */
	char *ipcns;
	char *utsns;
	char *userns;	       /* user namespace pin; NULL: the host's */
	gboolean net_attached; /* CNI ADD started and no DEL succeeded since */
	char **ips;	       /* pod IPs, first IPv4 first */
	char *host_veth;       /* host side interface, for network stats */
	char *cgroup;	       /* relative cgroup path of the pod */
	char *infra_id;	       /* runtime id of the infra process, or NULL */
	gint infra_pid;
	gboolean answered; /* the RunPodSandbox that made it got its reply */
	char *failure;	   /* why a POD_CREATING attempt failed */
} Pod;

Pod *pod_new(const char *id, PodConfig *config /* taken */);
Pod *pod_ref(Pod *p);
void pod_unref(Pod *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(Pod, pod_unref)

PodState pod_get_state(Pod *p);

/* What changes in a pod after it is made, copied under its lock: replies
 * read this, so that no caller outside sandbox/ takes a pod's lock. */
typedef struct {
	PodState state;
	char **ips; /* never NULL */
	char *cgroup;
	char *host_veth; /* NULL unless the pod is ready */
	char *netns, *ipcns, *utsns;
	char *infra_id;
	gint infra_pid;
} PodSnapshot;

void pod_snapshot(Pod *p, PodSnapshot *out);
void pod_snapshot_clear(PodSnapshot *s);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(PodSnapshot, pod_snapshot_clear)

/* The record on disk. Caller holds p->lock (or owns p alone). */
char *pod_to_json(Pod *p);
Pod *pod_from_json(const char *text, gsize len, GError **error);

/* A fresh pod id: 32 random bytes as hex. */
char *pod_new_id(void);
