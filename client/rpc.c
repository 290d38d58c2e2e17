/* berthctl's unary gRPC calls on the C core. Every method of both CRI
 * services is registered on the channel once (no method-string interning
 * per call), and each stub owns a completion queue of its own, so threads
 * never contend for a poller: a call is one batch of six ops and one
 * grpc_completion_queue_next on the caller's own queue. */
#include "client/rpc.h"
#include "util/error.h"

#include "api.pb-c.h"

#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/alloc.h>
#include <grpc/support/time.h>
#include <string.h>

/* The same ceiling crictl uses: big List replies of a dense node. */
#define CTL_MAX_MSG (16 * 1024 * 1024)

static const ProtobufCServiceDescriptor *const services[] = {
	&runtime__v1__runtime_service__descriptor,
	&runtime__v1__image_service__descriptor,
};

typedef struct {
	const ProtobufCMethodDescriptor *desc;
	char *path;
	void *handle;
} CtlMethod;

struct CtlChannel {
	gint refs;
	char *endpoint;
	char *path;
	grpc_channel *channel;
	GHashTable *methods; /* name -> CtlMethod* */
};

struct CtlStub {
	CtlChannel *ch;
	grpc_completion_queue *cq;
};

static const ProtobufCMethodDescriptor *find_method(const char *name,
						    const char **service)
{
	for (gsize i = 0; i < G_N_ELEMENTS(services); i++) {
		const ProtobufCMethodDescriptor *m =
			protobuf_c_service_descriptor_get_method_by_name(
				services[i], name);
		if (m != NULL) {
			if (service != NULL)
				*service = services[i]->name;
			return m;
		}
	}
	return NULL;
}

const ProtobufCMessageDescriptor *ctl_method_input(const char *method)
{
	const ProtobufCMethodDescriptor *m = find_method(method, NULL);
	return m ? m->input : NULL;
}

static void method_free(gpointer p)
{
	CtlMethod *m = p;
	g_free(m->path);
	g_free(m);
}

static char *endpoint_path(const char *endpoint)
{
	if (g_str_has_prefix(endpoint, "unix://"))
		return g_strdup(endpoint + strlen("unix://"));
	if (g_str_has_prefix(endpoint, "unix:"))
		return g_strdup(endpoint + strlen("unix:"));
	if (strstr(endpoint, "://") != NULL)
		return NULL;
	return g_strdup(endpoint);
}

CtlChannel *ctl_channel_new(const char *endpoint, GError **error)
{
	g_autofree char *path = endpoint_path(endpoint);
	if (path == NULL || path[0] == '\0')
		return berth_throw_null(error, INVALID_ARGUMENT,
					"endpoint %s: only unix sockets are "
					"supported (unix:///path or a path)",
					endpoint);
	grpc_init();
	CtlChannel *ch = g_new0(CtlChannel, 1);
	ch->refs = 1;
	ch->endpoint = g_strdup(endpoint);
	ch->path = g_steal_pointer(&path);
	g_autofree char *target = g_strconcat("unix:", ch->path, NULL);
	grpc_arg args[2] = {
		{.type = GRPC_ARG_INTEGER,
		 .key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH,
		 .value.integer = CTL_MAX_MSG},
		{.type = GRPC_ARG_INTEGER,
		 .key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH,
		 .value.integer = CTL_MAX_MSG},
	};
	grpc_channel_args cargs = {.num_args = 2, .args = args};
	grpc_channel_credentials *creds = grpc_insecure_credentials_create();
	ch->channel = grpc_channel_create(target, creds, &cargs);
	grpc_channel_credentials_release(creds);
	ch->methods = g_hash_table_new_full(g_str_hash, g_str_equal, NULL,
					    method_free);
	for (gsize i = 0; i < G_N_ELEMENTS(services); i++) {
		for (unsigned j = 0; j < services[i]->n_methods; j++) {
			CtlMethod *m = g_new0(CtlMethod, 1);
			m->desc = &services[i]->methods[j];
			m->path = g_strdup_printf("/%s/%s", services[i]->name,
						  m->desc->name);
			m->handle = grpc_channel_register_call(
				ch->channel, m->path, NULL, NULL);
			g_hash_table_insert(ch->methods,
					    (gpointer)m->desc->name, m);
		}
	}
	return ch;
}

CtlChannel *ctl_channel_ref(CtlChannel *ch)
{
	g_atomic_int_inc(&ch->refs);
	return ch;
}

void ctl_channel_unref(CtlChannel *ch)
{
	if (ch == NULL || !g_atomic_int_dec_and_test(&ch->refs))
		return;
	grpc_channel_destroy(ch->channel);
	g_hash_table_destroy(ch->methods);
	g_free(ch->endpoint);
	g_free(ch->path);
	g_free(ch);
	grpc_shutdown();
}

const char *ctl_channel_endpoint(CtlChannel *ch)
{
	return ch->endpoint;
}

const char *ctl_channel_socket_path(CtlChannel *ch)
{
	return ch->path;
}

CtlStub *ctl_stub_new(CtlChannel *ch)
{
	CtlStub *s = g_new0(CtlStub, 1);
	s->ch = ctl_channel_ref(ch);
	s->cq = grpc_completion_queue_create_for_next(NULL);
	return s;
}

void ctl_stub_free(CtlStub *stub)
{
	if (stub == NULL)
		return;
	grpc_completion_queue_shutdown(stub->cq);
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(
			stub->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
	}
	grpc_completion_queue_destroy(stub->cq);
	ctl_channel_unref(stub->ch);
	g_free(stub);
}

static const char *const status_names[] = {
	"OK",
	"CANCELLED",
	"UNKNOWN",
	"INVALID_ARGUMENT",
	"DEADLINE_EXCEEDED",
	"NOT_FOUND",
	"ALREADY_EXISTS",
	"PERMISSION_DENIED",
	"RESOURCE_EXHAUSTED",
	"FAILED_PRECONDITION",
	"ABORTED",
	"OUT_OF_RANGE",
	"UNIMPLEMENTED",
	"INTERNAL",
	"UNAVAILABLE",
	"DATA_LOSS",
	"UNAUTHENTICATED",
};

const char *ctl_status_name(int code)
{
	if (code < 0 || code >= (int)G_N_ELEMENTS(status_names))
		return "UNKNOWN";
	return status_names[code];
}

static grpc_byte_buffer *pack(const ProtobufCMessage *msg)
{
	size_t len = protobuf_c_message_get_packed_size(msg);
	grpc_slice slice = grpc_slice_malloc(len);
	protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
	grpc_slice_unref(slice);
	return bb;
}

static void *arena_pb_alloc(void *data, size_t size)
{
	return arena_alloc(data, size);
}

static void arena_pb_free(void *data, void *p)
{
	/* Freed with the arena. */
	(void)data;
	(void)p;
}

static ProtobufCMessage *unpack(const ProtobufCMessageDescriptor *desc,
				grpc_byte_buffer *bb, Arena *arena)
{
	ProtobufCAllocator in_arena = {.alloc = arena_pb_alloc,
				       .free = arena_pb_free,
				       .allocator_data = arena};
	grpc_byte_buffer_reader reader;
	if (!grpc_byte_buffer_reader_init(&reader, bb))
		return NULL;
	grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
	grpc_byte_buffer_reader_destroy(&reader);
	ProtobufCMessage *m = protobuf_c_message_unpack(
		desc, arena != NULL ? &in_arena : NULL, GRPC_SLICE_LENGTH(all),
		GRPC_SLICE_START_PTR(all));
	grpc_slice_unref(all);
	return m;
}

static gpr_timespec deadline_after(gint64 timeout_ms)
{
	if (timeout_ms <= 0)
		return gpr_inf_future(GPR_CLOCK_REALTIME);
	return gpr_time_add(gpr_now(GPR_CLOCK_MONOTONIC),
			    gpr_time_from_millis(timeout_ms, GPR_TIMESPAN));
}

ProtobufCMessage *ctl_stub_call(CtlStub *stub, const char *method,
				const ProtobufCMessage *req, gint64 timeout_ms,
				GError **error)
{
	return ctl_stub_call_in(stub, method, req, timeout_ms, NULL, error);
}

ProtobufCMessage *ctl_stub_call_in(CtlStub *stub, const char *method,
				   const ProtobufCMessage *req,
				   gint64 timeout_ms, Arena *arena,
				   GError **error)
{
	CtlMethod *m = g_hash_table_lookup(stub->ch->methods, method);
	if (m == NULL)
		return berth_throw_null(error, UNIMPLEMENTED,
					"unknown CRI method %s", method);
	g_return_val_if_fail(req->descriptor == m->desc->input, NULL);

	grpc_call *call = grpc_channel_create_registered_call(
		stub->ch->channel, NULL, GRPC_PROPAGATE_DEFAULTS, stub->cq,
		m->handle, deadline_after(timeout_ms), NULL);
	grpc_byte_buffer *send = pack(req);
	grpc_byte_buffer *recv = NULL;
	grpc_metadata_array initial_md, trailing_md;
	grpc_metadata_array_init(&initial_md);
	grpc_metadata_array_init(&trailing_md);
	grpc_status_code status = GRPC_STATUS_UNKNOWN;
	grpc_slice details = grpc_empty_slice();

	grpc_op ops[6];
	memset(ops, 0, sizeof ops);
	ops[0].op = GRPC_OP_SEND_INITIAL_METADATA;
	ops[1].op = GRPC_OP_SEND_MESSAGE;
	ops[1].data.send_message.send_message = send;
	ops[2].op = GRPC_OP_SEND_CLOSE_FROM_CLIENT;
	ops[3].op = GRPC_OP_RECV_INITIAL_METADATA;
	ops[3].data.recv_initial_metadata.recv_initial_metadata = &initial_md;
	ops[4].op = GRPC_OP_RECV_MESSAGE;
	ops[4].data.recv_message.recv_message = &recv;
	ops[5].op = GRPC_OP_RECV_STATUS_ON_CLIENT;
	ops[5].data.recv_status_on_client.trailing_metadata = &trailing_md;
	ops[5].data.recv_status_on_client.status = &status;
	ops[5].data.recv_status_on_client.status_details = &details;

	ProtobufCMessage *reply = NULL;
	grpc_call_error err = grpc_call_start_batch(call, ops, 6, stub, NULL);
	if (err != GRPC_CALL_OK) {
		berth_throw(error, INTERNAL, "%s: start batch: error %d",
			    method, err);
	} else {
		/* One batch in flight on a queue of our own: the next event
		 * is its completion. */
		grpc_event ev = grpc_completion_queue_next(
			stub->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (ev.type != GRPC_OP_COMPLETE || !ev.success) {
			berth_throw(error, INTERNAL, "%s: batch failed",
				    method);
		} else if (status != GRPC_STATUS_OK) {
			char *msg = grpc_slice_to_c_string(details);
			berth_throw_code(error, (BerthErrorCode)status, "%s",
					 msg);
			gpr_free(msg);
		} else if (recv == NULL ||
			   (reply = unpack(m->desc->output, recv, arena)) ==
				   NULL) {
			berth_throw(error, INTERNAL, "%s: undecodable reply",
				    method);
		}
	}
	if (recv != NULL)
		grpc_byte_buffer_destroy(recv);
	grpc_byte_buffer_destroy(send);
	grpc_slice_unref(details);
	grpc_metadata_array_destroy(&initial_md);
	grpc_metadata_array_destroy(&trailing_md);
	grpc_call_unref(call);
	return reply;
}
