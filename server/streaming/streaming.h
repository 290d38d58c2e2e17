/* berth's streaming server: the HTTP endpoint that Exec, Attach and
 * PortForward hand out URLs to, and the sessions behind those URLs. */
#pragma once

#include <glib.h>

#include "config/config.h"
#include "sandbox/container/ctrlife.h"
#include "sandbox/pod/podlife.h"

typedef struct StreamingServer StreamingServer;

StreamingServer *streaming_server_new(const BerthConfig *config,
				      CtrManager *containers, PodManager *pods,
				      GError **error);
/* Stops accepting, ends every live session, waits for them briefly. */
void streaming_server_free(StreamingServer *s);

/* A single-use URL for each request, already validated by the caller. */
char *streaming_exec_url(StreamingServer *s, const char *container_id,
			 char *const *cmd, gsize n_cmd, gboolean tty,
			 gboolean in, gboolean out, gboolean err);
char *streaming_attach_url(StreamingServer *s, const char *container_id,
			   gboolean tty, gboolean in, gboolean out,
			   gboolean err);
char *streaming_portforward_url(StreamingServer *s, const char *pod_id,
				const gint32 *ports, gsize n_ports);
