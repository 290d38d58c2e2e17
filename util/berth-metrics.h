/* berth's own metrics for the operator's Prometheus endpoint: the one set
 * of the process, made when [berth.metrics] enable_metrics is on, and the
 * one-line hooks the modules call where things happen. Every hook does
 * nothing while the set is off, so modules and their unit tests need no
 * setup. docs/metrics.md lists every metric. */
#pragma once

#include <glib.h>

#include "util/metrics.h"

/* Make the set and return its registry (also for adding collectors).
 * Before the threads that record start. */
MetricsRegistry *berth_metrics_enable(void);
/* The registry, or NULL while off. */
MetricsRegistry *berth_metrics_registry(void);
/* Free the set, once nothing records any more (every thread that calls
 * a hook has stopped). */
void berth_metrics_disable(void);

/* One reply of a gRPC method ("/runtime.v1.RuntimeService/Version"): its
 * status code (0 for OK, else the grpc_status_code) and how long since
 * the call arrived. */
void berth_metrics_rpc(const char *method, int code, gint64 usec);
/* One image download ended (shared pulls count once): error NULL for a
 * pulled image. */
void berth_metrics_image_pull(const GError *error, gint64 usec);
/* Bytes of image blobs received from a registry. */
void berth_metrics_image_bytes(guint64 n);
/* One CNI plugin run: its type ("bridge") and command ("ADD"). */
void berth_metrics_cni_call(const char *plugin, const char *command,
			    gint64 usec);
/* One OCI runtime run: the runtime's name and its operation ("start"). */
void berth_metrics_runtime_call(const char *runtime, const char *operation,
				gint64 usec);
/* A container's monitor recorded an OOM kill. */
void berth_metrics_oom_kill(void);
/* A container's monitor went away without recording its exit. */
void berth_metrics_monitor_lost(void);
/* What start-up recovery brought back, and how long it took. */
void berth_metrics_recovered(guint pods, guint containers, gint64 usec);
