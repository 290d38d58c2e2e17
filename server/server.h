/* The CRI handlers' shared state and entry points. One file per CRI area
 * implements them: validate the request, call the domain modules, build the
 * reply from the call's arena. cri/methods.c maps RPC names to these. */
#pragma once

#include <glib.h>

#include "api.pb-c.h"
#include "config/config.h"
#include "cri/core.h"
#include "image/pull.h"
#include "image/registries.h"
#include "image/store.h"
#include "network/cni.h"
#include "sandbox/container/ctrlife.h"
#include "sandbox/container/events.h"
#include "sandbox/pod/podlife.h"
#include "sandbox/runtime.h"
#include "server/streaming/streaming.h"

typedef struct BerthServer {
	BerthConfig *config;
	OciRuntimes *runtimes;
	CniManager *cni;
	PodManager *pods;
	EventBus *events;
	CtrManager *containers;
	CdiRegistry *cdi;	/* CDI specs, for CreateContainer */
	ImageStore *images;	/* <root>/storage */
	Registries *registries; /* registries.conf + insecure_registries */
	ImagePuller *puller;
	StreamingServer *streaming;  /* exec, attach, port-forward URLs */
	struct MetricsHttp *metrics; /* GET /metrics; NULL when disabled */
	GMutex lock;		     /* guards what follows */
	char *pod_cidr;		     /* from UpdateRuntimeConfig */
} BerthServer;

/* Everything berthd serves from: probes runtimes, loads CNI and
 * registries.conf, opens the image store. pause_path is the static
 * berth-pause used by the probe. */
BerthServer *berth_server_new(BerthConfig *config, const char *pause_path,
			      const char *conmon_path, GError **error);
/* Ends long-lived streams (GetContainerEvents) before the gRPC shutdown. */
void berth_server_close_streams(BerthServer *s);
/* One line on what berthd serves and holds, for systemd's STATUS. */
char *berth_server_summary(BerthServer *s);
void berth_server_free(BerthServer *s);

/* Handlers (ctx is the BerthServer). */
#define BERTH_UNARY(fn)                                                        \
	ProtobufCMessage *fn(void *ctx, const ProtobufCMessage *req,           \
			     CriCall *call, GError **error)
BERTH_UNARY(server_version);
BERTH_UNARY(server_status);
BERTH_UNARY(server_exec);
BERTH_UNARY(server_attach);
BERTH_UNARY(server_port_forward);
BERTH_UNARY(server_runtime_config);
BERTH_UNARY(server_update_runtime_config);
BERTH_UNARY(server_image_fs_info);
BERTH_UNARY(server_pull_image);
BERTH_UNARY(server_list_images);
BERTH_UNARY(server_image_status);
BERTH_UNARY(server_remove_image);
BERTH_UNARY(server_run_pod_sandbox);
BERTH_UNARY(server_stop_pod_sandbox);
BERTH_UNARY(server_remove_pod_sandbox);
BERTH_UNARY(server_pod_sandbox_status);
BERTH_UNARY(server_list_pod_sandbox);
BERTH_UNARY(server_pod_sandbox_stats);
BERTH_UNARY(server_list_pod_sandbox_stats);
BERTH_UNARY(server_list_metric_descriptors);
BERTH_UNARY(server_list_pod_sandbox_metrics);
BERTH_UNARY(server_create_container);
BERTH_UNARY(server_start_container);
BERTH_UNARY(server_stop_container);
BERTH_UNARY(server_remove_container);
BERTH_UNARY(server_container_status_rpc);
BERTH_UNARY(server_list_containers);
BERTH_UNARY(server_exec_sync);
BERTH_UNARY(server_reopen_container_log);
BERTH_UNARY(server_container_stats);
BERTH_UNARY(server_list_container_stats);
BERTH_UNARY(server_update_container_resources);
BERTH_UNARY(server_update_pod_sandbox_resources);

/* Status builders shared by the status RPCs and the event stream. */
Runtime__V1__PodSandboxStatus *server_pod_status(CriCall *call, Pod *p);
/* The statuses of every container of the pod, as ContainerStatus gives
 * them (evented PLEG reads them with the pod's status). */
Runtime__V1__ContainerStatus **server_pod_container_statuses(BerthServer *s,
							     CriCall *call,
							     const char *pod_id,
							     size_t *n_out);
/* A container's stats as ContainerStats gives them. */
Runtime__V1__ContainerStats *server_ctr_stats(CriCall *call, Container *c);
/* Every listed container by pod id (GPtrArrays of new refs), from one
 * list of the index: what the pod stats and metrics lists iterate. */
GHashTable *server_containers_by_pod(BerthServer *s);
Runtime__V1__ContainerStatus *server_container_status(CriCall *call,
						      Container *c);

#define BERTH_STREAM(fn)                                                       \
	gboolean fn(void *ctx, const ProtobufCMessage *req, CriCall *call,     \
		    GError **error)
BERTH_STREAM(server_stream_pod_sandboxes);
BERTH_STREAM(server_stream_pod_sandbox_stats);
BERTH_STREAM(server_stream_pod_sandbox_metrics);
BERTH_STREAM(server_stream_containers);
BERTH_STREAM(server_stream_container_stats);
BERTH_STREAM(server_get_container_events);
BERTH_STREAM(server_stream_images);
