/* What the streaming server (exec, attach, port-forward) asks of
 * containers and pods: are they running, and a connection to talk to. */
#pragma once

#include <glib.h>

#include "sandbox/container/ctrlife.h"

/* The full id of a running container, with how it was created (tty,
 * stdin). NOT_FOUND for an unknown id, FAILED_PRECONDITION when it is not
 * running. */
gboolean ctr_stream_check(CtrManager *m, const char *id, char **full_id,
			  gboolean *tty, gboolean *stdin_open, GError **error);

/* Start cmd in the container under an exec monitor; returns the
 * monitor's end of the session (SOCK_SEQPACKET frames, conmon/protocol.h)
 * or -1. */
int ctr_stream_exec(CtrManager *m, const char *id, char *const *cmd,
		    gboolean tty, gboolean stdin_open, GError **error);

/* A connection to the container's attach socket, or -1. */
int ctr_stream_attach(CtrManager *m, const char *id, GError **error);

/* Resize the container's terminal through its monitor. */
gboolean ctr_stream_resize(CtrManager *m, const char *id, guint rows,
			   guint cols, GError **error);

/* The pinned network namespace of a ready pod (NULL in *netns when the
 * pod uses the host's), with its full id. FAILED_PRECONDITION when the
 * pod is not ready. */
gboolean pod_stream_netns(PodManager *m, const char *id, char **full_id,
			  char **netns, GError **error);
