/* The CRI handlers' shared state and entry points. One file per CRI area
 * implements them: validate the request, call the domain modules, build the
 * reply from the call's arena. cri/methods.c maps RPC names to these. */
#pragma once

#include <glib.h>

#include "api.pb-c.h"
#include "config/config.h"
#include "cri/core.h"
#include "image/fsinfo.h"
#include "network/cni.h"
#include "sandbox/podlife.h"
#include "sandbox/runtime.h"

typedef struct BerthServer {
	BerthConfig *config;
	OciRuntimes *runtimes;
	CniManager *cni;
	PodManager *pods;
	char *storage_dir; /* <root>/storage */
	GMutex lock;	   /* guards what follows */
	char *pod_cidr;	   /* from UpdateRuntimeConfig */
	ImageFsUsage image_fs;
} BerthServer;

/* Everything berthd serves from: probes runtimes, loads CNI, measures the
 * image store. pause_path is the static berth-pause used by the probe. */
BerthServer *berth_server_new(BerthConfig *config, const char *pause_path,
			      GError **error);
void berth_server_free(BerthServer *s);

/* Handlers (ctx is the BerthServer). */
#define BERTH_UNARY(fn)                                                        \
	ProtobufCMessage *fn(void *ctx, const ProtobufCMessage *req,           \
			     CriCall *call, GError **error)
BERTH_UNARY(server_version);
BERTH_UNARY(server_status);
BERTH_UNARY(server_runtime_config);
BERTH_UNARY(server_update_runtime_config);
BERTH_UNARY(server_image_fs_info);
BERTH_UNARY(server_run_pod_sandbox);
BERTH_UNARY(server_stop_pod_sandbox);
BERTH_UNARY(server_remove_pod_sandbox);
BERTH_UNARY(server_pod_sandbox_status);
BERTH_UNARY(server_list_pod_sandbox);
BERTH_UNARY(server_pod_sandbox_stats);
BERTH_UNARY(server_list_pod_sandbox_stats);

#define BERTH_STREAM(fn)                                                       \
	gboolean fn(void *ctx, const ProtobufCMessage *req, CriCall *call,     \
		    GError **error)
BERTH_STREAM(server_stream_pod_sandboxes);
BERTH_STREAM(server_stream_pod_sandbox_stats);
