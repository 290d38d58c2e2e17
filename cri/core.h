/* The gRPC server core: listener on a unix socket, the method table, the
 * call lifecycle (decode, dispatch inline or on a worker thread, reply,
 * cancel), server-streaming replies and graceful shutdown. Knows nothing of
 * pods or images: handlers come from server/ through CriMethodImpl. */
#pragma once

#include <glib.h>
#include <protobuf-c/protobuf-c.h>

#include "util/arena.h"

typedef struct CriServer CriServer;
typedef struct CriCall CriCall;

typedef enum {
	/* Cheap and non-blocking: runs on the poller thread. */
	CRI_DISPATCH_INLINE,
	/* May block (runtime, network, disk): runs on a worker thread. */
	CRI_DISPATCH_THREAD,
} CriDispatch;

/* A unary handler returns its response, allocated from cri_call_arena(),
 * or NULL with *error set (the error's BERTH_ERROR code is the status). */
typedef ProtobufCMessage *(*CriUnaryFn)(void *ctx, const ProtobufCMessage *req,
					CriCall *call, GError **error);

/* A server-streaming handler sends items with cri_call_send() and returns
 * TRUE to close the stream with OK. Always runs on a worker thread. */
typedef gboolean (*CriStreamFn)(void *ctx, const ProtobufCMessage *req,
				CriCall *call, GError **error);

typedef struct {
	const char *name; /* method name within its service, e.g. "Version" */
	CriDispatch dispatch;
	CriUnaryFn unary;
	CriStreamFn stream;
} CriMethodImpl;

typedef struct {
	const char *listen_path;  /* filesystem path of the unix socket */
	const char *listen_group; /* its group, a name or id; NULL/"": 0 */
	gsize max_recv_msg_size;
	gsize max_send_msg_size;
	guint shutdown_grace_ms;
} CriServerOptions;

/* ctx is passed to every handler. */
CriServer *cri_server_new(const CriServerOptions *opts, void *ctx);

/* Register every method of svc. A method without an entry in impls is still
 * registered and answers UNIMPLEMENTED naming it. Before cri_server_start. */
void cri_server_add_service(CriServer *srv,
			    const ProtobufCServiceDescriptor *svc,
			    const CriMethodImpl *impls, gsize n_impls);

/* Create the socket (0660, its group listen_group; its directory too) and
 * start serving. Refuses a socket another process is listening on;
 * replaces a stale one. */
gboolean cri_server_start(CriServer *srv, GError **error);

/* Stop taking calls, let in-flight ones finish for the grace period, cancel
 * the rest, wait for every handler to return, and release everything. */
void cri_server_stop(CriServer *srv);
void cri_server_free(CriServer *srv);

/* The number of registered methods (for tests and logs). */
guint cri_server_method_count(CriServer *srv);

Arena *cri_call_arena(CriCall *call);
const char *cri_call_method(CriCall *call);
/* TRUE once the client cancelled or the deadline passed. */
gboolean cri_call_cancelled(CriCall *call);
/* The call's deadline on CLOCK_MONOTONIC in microseconds (g_get_monotonic_time
 * scale), or G_MAXINT64 when the client gave none. */
gint64 cri_call_deadline(CriCall *call);

/* Call fn(data) once when the client cancels or the call's deadline
 * passes (at once if that already happened), from the poller thread: it
 * must not block. fn NULL unregisters; after that returns, fn is not
 * running and will not run. For long-lived streams that wait on events. */
void cri_call_on_cancel(CriCall *call, void (*fn)(gpointer), gpointer data);

/* Send one item of a server-streaming reply; blocks until the transport took
 * it (that is the back-pressure). FALSE once the call is cancelled. */
gboolean cri_call_send(CriCall *call, const ProtobufCMessage *msg,
		       GError **error);
