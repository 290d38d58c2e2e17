/* berthctl's gRPC client on the gRPC C core: a channel to one CRI endpoint
 * shared by every thread, and per-thread stubs, each with its own completion
 * queue, that make unary calls by RPC name ("Version", "PullImage"). */
#pragma once

#include <glib.h>
#include <protobuf-c/protobuf-c.h>

#include "util/arena.h"

typedef struct CtlChannel CtlChannel;
typedef struct CtlStub CtlStub;

/* "unix:///path", "unix:/path" or a plain path. NULL on a malformed
 * endpoint (INVALID_ARGUMENT); the connection itself is made lazily, so an
 * absent server shows up as UNAVAILABLE on the first call. */
CtlChannel *ctl_channel_new(const char *endpoint, GError **error);
CtlChannel *ctl_channel_ref(CtlChannel *ch);
void ctl_channel_unref(CtlChannel *ch);
/* The endpoint as given, and the socket path it names. */
const char *ctl_channel_endpoint(CtlChannel *ch);
const char *ctl_channel_socket_path(CtlChannel *ch);

/* A stub is used by one thread at a time. */
CtlStub *ctl_stub_new(CtlChannel *ch);
void ctl_stub_free(CtlStub *stub);

/* One unary call. `method` is the RPC name of RuntimeService or
 * ImageService; `req` must be of the method's input type. Returns the reply
 * (free with protobuf_c_message_free_unpacked) or NULL with an error in the
 * BERTH_ERROR domain whose code is the gRPC status. timeout_ms <= 0 means
 * no deadline. */
ProtobufCMessage *ctl_stub_call(CtlStub *stub, const char *method,
				const ProtobufCMessage *req, gint64 timeout_ms,
				GError **error);

/* As ctl_stub_call, but the reply is unpacked into `arena` (NULL: as
 * ctl_stub_call) and lives as long as it does; never free it with
 * protobuf_c_message_free_unpacked. A reply of thousands of fields then
 * costs bump allocations instead of a malloc and a free each. */
ProtobufCMessage *ctl_stub_call_in(CtlStub *stub, const char *method,
				   const ProtobufCMessage *req,
				   gint64 timeout_ms, Arena *arena,
				   GError **error);

/* The input descriptor of an RPC by name (NULL when unknown). */
const ProtobufCMessageDescriptor *ctl_method_input(const char *method);

/* The canonical status name of a gRPC code ("NOT_FOUND"). */
const char *ctl_status_name(int code);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(CtlChannel, ctl_channel_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CtlStub, ctl_stub_free)
