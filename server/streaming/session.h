/* What the streaming sessions share: the request a token stands for, and
 * what a session may call. Each session runs on its own thread, from the
 * upgrade until the client or the backend is done. */
#pragma once

#include <glib.h>

#include "sandbox/ctrlife.h"
#include "sandbox/podlife.h"
#include "server/streaming/httpd.h"
#include "server/streaming/wire.h"

typedef struct {
	StreamKind kind;
	char *id; /* container (exec, attach) or pod (port-forward) */
	char **cmd;
	gboolean tty, in, out, err;
	GArray *ports; /* gint32; port-forward, may be empty */
} StreamRequest;

void stream_request_free(gpointer r);

typedef struct {
	CtrManager *containers;
	PodManager *pods;
	guint idle_timeout_s; /* 0: none */
	int stop_fd;	      /* readable once berthd shuts down */
} SessionEnv;

void remotecmd_serve(const SessionEnv *env, StreamConn *conn,
		     const StreamRequest *r);
void portfwd_serve(const SessionEnv *env, StreamConn *conn,
		   const StreamRequest *r);

/* Milliseconds a session may sleep: until the idle timeout, or -1. */
int session_poll_timeout(const SessionEnv *env, gint64 last_activity);
