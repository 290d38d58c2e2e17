/* What the streaming sessions share: the request a token stands for, and
 * what a session may call. Each session runs on its own thread, from the
 * upgrade until the client or the backend is done. */
#pragma once

#include <glib.h>
#include <poll.h>

#include "sandbox/container/ctrlife.h"
#include "sandbox/pod/podlife.h"
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

/* One wait of a session's loop: poll the n fds of p, p[0] being the
 * client's wire and p[stop] env->stop_fd, then read what the client sent.
 * With deadline 0 the wait lasts until the session's idle timeout, and
 * reaching it fails (DEADLINE_EXCEEDED); otherwise until deadline
 * (monotonic us), and reaching it returns TRUE for the caller to judge.
 * FALSE also when poll fails, berthd is stopping (UNAVAILABLE) or the
 * read fails. */
gboolean session_wait(const SessionEnv *env, Wire *w, struct pollfd *p, guint n,
		      guint stop, gint64 deadline, GError **error);
