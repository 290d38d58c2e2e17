/* gRPC core server on grpc/grpc.h: one completion queue, one poller thread
 * that never blocks, a request slot per registered method plus a catch-all
 * slot, and an elastic worker pool for blocking and streaming handlers.
 *
 * Call lifecycle: the poller takes a new call, re-arms the slot, starts
 * RECV_CLOSE_ON_SERVER (whose `cancelled` result is how cancellation and
 * deadlines reach us), decodes and validates the request, and runs the
 * handler inline or on a worker. Replies are started asynchronously; the
 * call is freed when its last batch completes and its handler is done. */
#include "cri/core.h"
#include "cri/validate.h"
#include "util/berth-metrics.h"
#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <grp.h>
#include <grpc/byte_buffer_reader.h>
#include <grpc/grpc.h>
#include <grpc/grpc_security.h>
#include <grpc/support/time.h>
#include <stddef.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define container_of(ptr, type, member)                                        \
	((type *)((char *)(ptr)-offsetof(type, member)))

typedef enum {
	TAG_NEW_REGISTERED,
	TAG_NEW_GENERIC,
	TAG_CLOSE,
	TAG_SEND,
	TAG_SHUTDOWN,
} TagKind;

typedef struct {
	TagKind kind;
} Tag;

typedef struct Method {
	char *path; /* "/runtime.v1.RuntimeService/Version" */
	const ProtobufCMethodDescriptor *desc;
	CriMethodImpl impl; /* zeroed when unimplemented */
	void *handle;	    /* grpc registered-method handle */
	/* the request slot */
	Tag tag;
	grpc_call *call;
	gpr_timespec deadline;
	grpc_metadata_array md;
	grpc_byte_buffer *payload;
	struct CriServer *srv;
} Method;

typedef struct {
	Tag tag;
	grpc_call *call;
	grpc_call_details details;
	grpc_metadata_array md;
} GenericSlot;

struct CriServer {
	CriServerOptions opts;
	char *listen_path;
	void *ctx;
	grpc_server *server;
	grpc_completion_queue *cq;
	GPtrArray *methods; /* Method* */
	GenericSlot generic;
	GThread *poller;
	GThreadPool *pool;
	Tag shutdown_tag;
	GMutex lock;
	GCond cond;
	gboolean shutdown_done;
	gboolean started;
};

struct CriCall {
	Tag close_tag;
	Tag send_tag;
	gint refs;
	CriServer *srv;
	Method *method;
	grpc_call *call;
	gint64 deadline;
	gint64 arrived; /* monotonic us, for the latency metric */
	ProtobufCMessage *request;
	Arena *arena;
	int close_cancelled; /* written by RECV_CLOSE_ON_SERVER */
	gint cancelled;	     /* atomic */
	GMutex lock;
	GCond cond;
	gboolean send_pending;
	gboolean send_failed;
	gboolean initial_md_sent;
	grpc_byte_buffer *send_buf;
	void (*cancel_fn)(gpointer);
	gpointer cancel_data;
};

static void call_unref(CriCall *c)
{
	if (!g_atomic_int_dec_and_test(&c->refs))
		return;
	if (c->request != NULL)
		protobuf_c_message_free_unpacked(c->request, NULL);
	arena_free(c->arena);
	grpc_call_unref(c->call);
	g_mutex_clear(&c->lock);
	g_cond_clear(&c->cond);
	g_free(c);
}

Arena *cri_call_arena(CriCall *call)
{
	return call->arena;
}

const char *cri_call_method(CriCall *call)
{
	return call->method->path;
}

gboolean cri_call_cancelled(CriCall *call)
{
	return g_atomic_int_get(&call->cancelled) != 0 ||
	       g_get_monotonic_time() > call->deadline;
}

gint64 cri_call_deadline(CriCall *call)
{
	return call->deadline;
}

guint cri_server_method_count(CriServer *srv)
{
	return srv->methods->len;
}

void cri_call_on_cancel(CriCall *call, void (*fn)(gpointer), gpointer data)
{
	g_mutex_lock(&call->lock);
	call->cancel_fn = fn;
	call->cancel_data = data;
	gboolean now = fn != NULL && g_atomic_int_get(&call->cancelled);
	if (now)
		fn(data);
	g_mutex_unlock(&call->lock);
}

/* --- sending ------------------------------------------------------------ */

static grpc_byte_buffer *pack_message(const ProtobufCMessage *msg)
{
	gsize len = protobuf_c_message_get_packed_size(msg);
	grpc_slice slice = grpc_slice_malloc(len);
	protobuf_c_message_pack(msg, GRPC_SLICE_START_PTR(slice));
	grpc_byte_buffer *bb = grpc_raw_byte_buffer_create(&slice, 1);
	grpc_slice_unref(slice);
	return bb;
}

/* Start one send batch: an optional message and, when final, the status.
 * Caller holds c->lock and has checked that no send is pending. */
static gboolean start_send_locked(CriCall *c, grpc_byte_buffer *bb,
				  gboolean final, grpc_status_code code,
				  const char *details)
{
	grpc_op ops[3];
	memset(ops, 0, sizeof ops);
	size_t n = 0;
	if (!c->initial_md_sent) {
		ops[n].op = GRPC_OP_SEND_INITIAL_METADATA;
		n++;
		c->initial_md_sent = TRUE;
	}
	if (bb != NULL) {
		ops[n].op = GRPC_OP_SEND_MESSAGE;
		ops[n].data.send_message.send_message = bb;
		n++;
	}
	grpc_slice detail_slice = grpc_empty_slice();
	if (final) {
		detail_slice =
			grpc_slice_from_copied_string(details ? details : "");
		ops[n].op = GRPC_OP_SEND_STATUS_FROM_SERVER;
		ops[n].data.send_status_from_server.status = code;
		ops[n].data.send_status_from_server.status_details =
			details ? &detail_slice : NULL;
		n++;
	}
	c->send_buf = bb;
	c->send_pending = TRUE;
	g_atomic_int_inc(&c->refs);
	grpc_call_error err =
		grpc_call_start_batch(c->call, ops, n, &c->send_tag, NULL);
	grpc_slice_unref(detail_slice);
	if (err != GRPC_CALL_OK) {
		log_error("%s: start send batch: error %d", c->method->path,
			  err);
		c->send_pending = FALSE;
		c->send_failed = TRUE;
		c->send_buf = NULL;
		if (bb != NULL)
			grpc_byte_buffer_destroy(bb);
		g_atomic_int_dec_and_test(&c->refs); /* never the last ref */
		return FALSE;
	}
	return TRUE;
}

static void on_send_done(CriCall *c, gboolean ok)
{
	g_mutex_lock(&c->lock);
	if (c->send_buf != NULL)
		grpc_byte_buffer_destroy(c->send_buf);
	c->send_buf = NULL;
	c->send_pending = FALSE;
	if (!ok)
		c->send_failed = TRUE;
	g_cond_broadcast(&c->cond);
	g_mutex_unlock(&c->lock);
	call_unref(c);
}

/* Wait (worker threads only) until the previous send completed. */
static gboolean wait_send_idle_locked(CriCall *c)
{
	while (c->send_pending)
		g_cond_wait(&c->cond, &c->lock);
	return !c->send_failed;
}

gboolean cri_call_send(CriCall *call, const ProtobufCMessage *msg,
		       GError **error)
{
	g_mutex_lock(&call->lock);
	gboolean ok = wait_send_idle_locked(call) && !cri_call_cancelled(call);
	if (ok)
		ok = start_send_locked(call, pack_message(msg), FALSE, 0, NULL);
	if (ok)
		ok = wait_send_idle_locked(call);
	g_mutex_unlock(&call->lock);
	if (!ok)
		return berth_throw(error, CANCELLED,
				   "%s: the client went away or the deadline "
				   "passed",
				   call->method->path);
	return TRUE;
}

/* Finish a call: the response (unary) or nothing (stream), then status. */
static void finish_call(CriCall *c, const ProtobufCMessage *resp,
			const GError *error, gboolean may_wait)
{
	grpc_status_code code = GRPC_STATUS_OK;
	const char *details = NULL;
	if (error != NULL) {
		code = (grpc_status_code)berth_error_code(error);
		details = error->message;
		if (code == GRPC_STATUS_OK)
			code = GRPC_STATUS_UNKNOWN;
		log_debug("%s: %s (code %d)", c->method->path, details, code);
	}
	berth_metrics_rpc(c->method->path, code,
			  g_get_monotonic_time() - c->arrived);
	g_mutex_lock(&c->lock);
	if (may_wait)
		wait_send_idle_locked(c);
	if (c->send_pending) {
		/* An inline handler cannot have a send in flight. */
		log_error("%s: reply while a send is pending", c->method->path);
	} else {
		start_send_locked(c, resp ? pack_message(resp) : NULL, TRUE,
				  code, details);
	}
	g_mutex_unlock(&c->lock);
}

/* --- dispatch ----------------------------------------------------------- */

static void run_handler(CriCall *c, gboolean on_worker)
{
	const CriMethodImpl *impl = &c->method->impl;
	g_autoptr(GError) error = NULL;
	if (impl->stream != NULL) {
		if (impl->stream(c->srv->ctx, c->request, c, &error))
			g_clear_error(&error);
		else if (error == NULL)
			berth_throw(&error, INTERNAL, "%s failed",
				    c->method->path);
		finish_call(c, NULL, error, on_worker);
	} else {
		ProtobufCMessage *resp =
			impl->unary(c->srv->ctx, c->request, c, &error);
		if (resp == NULL && error == NULL)
			berth_throw(&error, INTERNAL, "%s returned nothing",
				    c->method->path);
		finish_call(c, resp, resp ? NULL : error, on_worker);
	}
	/* The reply is packed: drop what the handler built. */
	arena_free(c->arena);
	c->arena = NULL;
}

static void worker_main(gpointer data, gpointer user_data)
{
	(void)user_data;
	CriCall *c = data;
	run_handler(c, TRUE);
	call_unref(c);
}

static gboolean decode_request(CriCall *c, grpc_byte_buffer *payload,
			       GError **error)
{
	const ProtobufCMessageDescriptor *in = c->method->desc->input;
	if (payload == NULL)
		return berth_throw(error, INVALID_ARGUMENT,
				   "%s: the request carries no message",
				   c->method->path);
	grpc_byte_buffer_reader reader;
	if (!grpc_byte_buffer_reader_init(&reader, payload))
		return berth_throw(error, INVALID_ARGUMENT,
				   "%s: cannot read the request",
				   c->method->path);
	grpc_slice all = grpc_byte_buffer_reader_readall(&reader);
	grpc_byte_buffer_reader_destroy(&reader);
	c->request = protobuf_c_message_unpack(in, NULL, GRPC_SLICE_LENGTH(all),
					       GRPC_SLICE_START_PTR(all));
	grpc_slice_unref(all);
	if (c->request == NULL)
		return berth_throw(error, INVALID_ARGUMENT,
				   "%s: the request is not a valid %s message",
				   c->method->path, in->name);
	return cri_validate_utf8(c->request, error);
}

static void start_close_op(CriCall *c)
{
	grpc_op op;
	memset(&op, 0, sizeof op);
	op.op = GRPC_OP_RECV_CLOSE_ON_SERVER;
	op.data.recv_close_on_server.cancelled = &c->close_cancelled;
	g_atomic_int_inc(&c->refs);
	if (grpc_call_start_batch(c->call, &op, 1, &c->close_tag, NULL) !=
	    GRPC_CALL_OK) {
		g_atomic_int_dec_and_test(&c->refs);
		g_atomic_int_set(&c->cancelled, 1);
	}
}

static gint64 monotonic_deadline(gpr_timespec deadline)
{
	gpr_timespec mono =
		gpr_convert_clock_type(deadline, GPR_CLOCK_MONOTONIC);
	gpr_timespec now = gpr_now(GPR_CLOCK_MONOTONIC);
	if (gpr_time_cmp(mono, gpr_inf_future(GPR_CLOCK_MONOTONIC)) == 0)
		return G_MAXINT64;
	gpr_timespec left = gpr_time_sub(mono, now);
	gint64 left_us = left.tv_sec * G_USEC_PER_SEC + left.tv_nsec / 1000;
	if (left.tv_sec > G_MAXINT64 / G_USEC_PER_SEC / 2)
		return G_MAXINT64;
	return g_get_monotonic_time() + left_us;
}

static void arm_method(CriServer *srv, Method *m);

static void on_new_call(CriServer *srv, Method *m, gboolean ok)
{
	if (!ok)
		return; /* shutting down: the slot is not re-armed */
	CriCall *c = g_new0(CriCall, 1);
	c->close_tag.kind = TAG_CLOSE;
	c->send_tag.kind = TAG_SEND;
	c->refs = 1;
	c->srv = srv;
	c->method = m;
	c->call = m->call;
	c->deadline = monotonic_deadline(m->deadline);
	c->arrived = g_get_monotonic_time();
	c->arena = arena_new();
	g_mutex_init(&c->lock);
	g_cond_init(&c->cond);
	grpc_byte_buffer *payload = m->payload;
	m->call = NULL;
	m->payload = NULL;
	grpc_metadata_array_destroy(&m->md);
	arm_method(srv, m);

	start_close_op(c);
	g_autoptr(GError) error = NULL;
	gboolean decoded = decode_request(c, payload, &error);
	if (payload != NULL)
		grpc_byte_buffer_destroy(payload);
	if (!decoded) {
		finish_call(c, NULL, error, FALSE);
		call_unref(c);
		return;
	}
	if (m->impl.unary == NULL && m->impl.stream == NULL) {
		berth_throw(&error, UNIMPLEMENTED,
			    "%s is not implemented by berth yet", m->path);
		finish_call(c, NULL, error, FALSE);
		call_unref(c);
		return;
	}
	if (m->impl.dispatch == CRI_DISPATCH_INLINE && m->impl.stream == NULL) {
		run_handler(c, FALSE);
		call_unref(c);
		return;
	}
	g_thread_pool_push(srv->pool, c, NULL);
}

static void arm_generic(CriServer *srv);

/* A method we did not register: answer UNIMPLEMENTED with its name. */
static void on_new_generic_call(CriServer *srv, gboolean ok)
{
	if (!ok)
		return;
	GenericSlot *g = &srv->generic;
	grpc_call *call = g->call;
	g_autofree char *method = grpc_slice_to_c_string(g->details.method);
	grpc_call_details_destroy(&g->details);
	grpc_metadata_array_destroy(&g->md);
	arm_generic(srv);

	/* A small self-contained call record, reusing the call machinery. */
	static Method unknown = {.path = "(unregistered)"};
	CriCall *c = g_new0(CriCall, 1);
	c->close_tag.kind = TAG_CLOSE;
	c->send_tag.kind = TAG_SEND;
	c->refs = 1;
	c->srv = srv;
	c->method = &unknown;
	c->call = call;
	c->deadline = G_MAXINT64;
	c->arrived = g_get_monotonic_time();
	g_mutex_init(&c->lock);
	g_cond_init(&c->cond);
	start_close_op(c);
	g_autoptr(GError) error = NULL;
	berth_throw(&error, UNIMPLEMENTED,
		    "unknown method %s: berth serves runtime.v1 "
		    "RuntimeService and ImageService",
		    method);
	finish_call(c, NULL, error, FALSE);
	call_unref(c);
}

static void arm_method(CriServer *srv, Method *m)
{
	grpc_metadata_array_init(&m->md);
	grpc_call_error err = grpc_server_request_registered_call(
		srv->server, m->handle, &m->call, &m->deadline, &m->md,
		&m->payload, srv->cq, srv->cq, &m->tag);
	if (err != GRPC_CALL_OK)
		log_error("%s: cannot request calls: error %d", m->path, err);
}

static void arm_generic(CriServer *srv)
{
	GenericSlot *g = &srv->generic;
	grpc_call_details_init(&g->details);
	grpc_metadata_array_init(&g->md);
	grpc_call_error err =
		grpc_server_request_call(srv->server, &g->call, &g->details,
					 &g->md, srv->cq, srv->cq, &g->tag);
	if (err != GRPC_CALL_OK)
		log_error("cannot request unregistered calls: error %d", err);
}

/* Cheap RPCs (Version, Status, List*, *Status) are answered on the
 * poller thread: it runs ahead of what a start storm keeps busy (the
 * runtimes, CNI plugins and monitors the handler threads spawn), as
 * kubelet's health checks need. Nice is per thread on Linux: the handler
 * threads (made by GLib's pool spawner, not by this thread) and every
 * child keep the process's own. */
#define POLLER_NICE_BOOST 5

static void poller_priority(void)
{
	errno = 0;
	int base = getpriority(PRIO_PROCESS, 0);
	if (base == -1 && errno != 0)
		return;
	if (setpriority(PRIO_PROCESS, (id_t)gettid(),
			MAX(base - POLLER_NICE_BOOST, -20)) < 0)
		log_debug("cri poller: setpriority: %s", g_strerror(errno));
}

static gpointer poller_main(gpointer data)
{
	CriServer *srv = data;
	poller_priority();
	for (;;) {
		grpc_event ev = grpc_completion_queue_next(
			srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME), NULL);
		if (ev.type == GRPC_QUEUE_SHUTDOWN)
			break;
		if (ev.type != GRPC_OP_COMPLETE)
			continue;
		Tag *tag = ev.tag;
		switch (tag->kind) {
		case TAG_NEW_REGISTERED:
			on_new_call(srv, container_of(tag, Method, tag),
				    ev.success);
			break;
		case TAG_NEW_GENERIC:
			on_new_generic_call(srv, ev.success);
			break;
		case TAG_CLOSE: {
			CriCall *c = container_of(tag, CriCall, close_tag);
			if (!ev.success || c->close_cancelled) {
				g_mutex_lock(&c->lock);
				g_atomic_int_set(&c->cancelled, 1);
				g_cond_broadcast(&c->cond);
				if (c->cancel_fn != NULL)
					c->cancel_fn(c->cancel_data);
				g_mutex_unlock(&c->lock);
			}
			call_unref(c);
			break;
		}
		case TAG_SEND:
			on_send_done(container_of(tag, CriCall, send_tag),
				     ev.success);
			break;
		case TAG_SHUTDOWN:
			g_mutex_lock(&srv->lock);
			srv->shutdown_done = TRUE;
			g_cond_broadcast(&srv->cond);
			g_mutex_unlock(&srv->lock);
			break;
		}
	}
	return NULL;
}

/* --- setup and shutdown ------------------------------------------------- */

CriServer *cri_server_new(const CriServerOptions *opts, void *ctx)
{
	CriServer *srv = g_new0(CriServer, 1);
	srv->opts = *opts;
	srv->listen_path = g_strdup(opts->listen_path);
	srv->opts.listen_path = srv->listen_path;
	srv->ctx = ctx;
	srv->methods = g_ptr_array_new();
	g_mutex_init(&srv->lock);
	g_cond_init(&srv->cond);
	srv->shutdown_tag.kind = TAG_SHUTDOWN;
	srv->generic.tag.kind = TAG_NEW_GENERIC;

	grpc_arg args[2];
	memset(args, 0, sizeof args);
	args[0].type = GRPC_ARG_INTEGER;
	args[0].key = GRPC_ARG_MAX_RECEIVE_MESSAGE_LENGTH;
	args[0].value.integer = (int)MIN(opts->max_recv_msg_size, G_MAXINT);
	args[1].type = GRPC_ARG_INTEGER;
	args[1].key = GRPC_ARG_MAX_SEND_MESSAGE_LENGTH;
	args[1].value.integer = (int)MIN(opts->max_send_msg_size, G_MAXINT);
	grpc_channel_args chargs = {.num_args = 2, .args = args};
	srv->server = grpc_server_create(&chargs, NULL);
	srv->cq = grpc_completion_queue_create_for_next(NULL);
	grpc_server_register_completion_queue(srv->server, srv->cq, NULL);
	return srv;
}

void cri_server_add_service(CriServer *srv,
			    const ProtobufCServiceDescriptor *svc,
			    const CriMethodImpl *impls, gsize n_impls)
{
	for (unsigned i = 0; i < svc->n_methods; i++) {
		Method *m = g_new0(Method, 1);
		m->srv = srv;
		m->tag.kind = TAG_NEW_REGISTERED;
		m->desc = &svc->methods[i];
		m->path = g_strdup_printf("/%s/%s", svc->name, m->desc->name);
		for (gsize j = 0; j < n_impls; j++) {
			if (strcmp(impls[j].name, m->desc->name) == 0)
				m->impl = impls[j];
		}
		m->handle = grpc_server_register_method(
			srv->server, m->path, NULL,
			GRPC_SRM_PAYLOAD_READ_INITIAL_BYTE_BUFFER, 0);
		g_ptr_array_add(srv->methods, m);
	}
}

/* A socket at path that accepts a connection belongs to a live server. */
static gboolean check_socket_free(const char *path, GError **error)
{
	struct stat st;
	if (lstat(path, &st) < 0) {
		if (errno == ENOENT)
			return TRUE;
		return berth_throw_errno(error, errno, "stat %s", path);
	}
	if (!S_ISSOCK(st.st_mode))
		return berth_throw(error, FAILED_PRECONDITION,
				   "%s exists and is not a socket; remove it "
				   "or choose another listen path",
				   path);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	if (strlen(path) >= sizeof sa.sun_path)
		return berth_throw(error, INVALID_ARGUMENT,
				   "socket path %s is longer than %zu bytes",
				   path, sizeof sa.sun_path - 1);
	strcpy(sa.sun_path, path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return berth_throw_errno(error, errno, "socket");
	int r = connect(fd, (struct sockaddr *)&sa, sizeof sa);
	int errsv = errno;
	close(fd);
	if (r == 0)
		return berth_throw(error, ALREADY_EXISTS,
				   "another berthd is listening on %s", path);
	if (errsv != ECONNREFUSED && errsv != ENOENT)
		return berth_throw_errno(error, errsv, "probe %s", path);
	log_info("removing stale socket %s", path);
	if (unlink(path) < 0 && errno != ENOENT)
		return berth_throw_errno(error, errno, "remove stale %s", path);
	return TRUE;
}

/* The socket's group: a group name, a numeric id, or ""/NULL for 0. */
static gboolean listen_gid(const char *group, gid_t *gid, GError **error)
{
	*gid = 0;
	if (group == NULL || group[0] == '\0')
		return TRUE;
	guint64 n = 0;
	if (g_ascii_string_to_unsigned(group, 10, 0, G_MAXUINT32 - 1, &n,
				       NULL)) {
		*gid = (gid_t)n;
		return TRUE;
	}
	errno = 0;
	struct group *gr = getgrnam(group);
	if (gr == NULL)
		return berth_throw(error, INVALID_ARGUMENT,
				   "listen_group %s: %s", group,
				   errno ? g_strerror(errno) : "no such group");
	*gid = gr->gr_gid;
	return TRUE;
}

gboolean cri_server_start(CriServer *srv, GError **error)
{
	const char *path = srv->listen_path;
	g_autofree char *dir = g_path_get_dirname(path);
	gid_t gid = 0;
	if (!listen_gid(srv->opts.listen_group, &gid, error))
		return FALSE;
	if (g_mkdir_with_parents(dir, 0711) < 0)
		return berth_throw_errno(error, errno, "create %s", dir);
	if (!check_socket_free(path, error))
		return FALSE;

	g_autofree char *addr = g_strdup_printf("unix:%s", path);
	grpc_server_credentials *creds =
		grpc_insecure_server_credentials_create();
	/* gRPC creates the socket with the process umask: make it 0660. */
	mode_t old = umask(0117);
	int port = grpc_server_add_http2_port(srv->server, addr, creds);
	grpc_server_credentials_release(creds);
	if (port == 0) {
		umask(old);
		return berth_throw(error, UNAVAILABLE, "cannot listen on %s",
				   path);
	}
	grpc_server_start(srv->server);
	umask(old);
	if (chmod(path, 0660) < 0)
		return berth_throw_errno(error, errno, "chmod %s", path);
	if (chown(path, (uid_t)-1, gid) < 0)
		return berth_throw_errno(error, errno, "chown %s to group %u",
					 path, (unsigned)gid);

	srv->pool = g_thread_pool_new(worker_main, srv, -1, FALSE, NULL);
	g_thread_pool_set_max_unused_threads(4);
	for (guint i = 0; i < srv->methods->len; i++)
		arm_method(srv, g_ptr_array_index(srv->methods, i));
	arm_generic(srv);
	srv->poller = g_thread_new("cri-poller", poller_main, srv);
	srv->started = TRUE;
	return TRUE;
}

static gboolean wait_shutdown(CriServer *srv, gint64 until)
{
	g_mutex_lock(&srv->lock);
	while (!srv->shutdown_done) {
		if (!g_cond_wait_until(&srv->cond, &srv->lock, until))
			break;
	}
	gboolean done = srv->shutdown_done;
	g_mutex_unlock(&srv->lock);
	return done;
}

void cri_server_stop(CriServer *srv)
{
	if (!srv->started)
		return;
	grpc_server_shutdown_and_notify(srv->server, srv->cq,
					&srv->shutdown_tag);
	gint64 grace = g_get_monotonic_time() +
		       (gint64)srv->opts.shutdown_grace_ms * 1000;
	if (!wait_shutdown(srv, grace)) {
		log_info("grace period over: cancelling calls in flight");
		grpc_server_cancel_all_calls(srv->server);
		wait_shutdown(srv, G_MAXINT64);
	}
	/* Every handler has returned once the pool drains. */
	g_thread_pool_free(srv->pool, FALSE, TRUE);
	srv->pool = NULL;
	grpc_server_destroy(srv->server);
	srv->server = NULL;
	grpc_completion_queue_shutdown(srv->cq);
	g_thread_join(srv->poller);
	srv->poller = NULL;
	grpc_completion_queue_destroy(srv->cq);
	srv->cq = NULL;
	unlink(srv->listen_path);
	srv->started = FALSE;
}

void cri_server_free(CriServer *srv)
{
	if (srv == NULL)
		return;
	if (srv->server != NULL) {
		/* Never started: shut the unstarted server down directly. */
		grpc_server_shutdown_and_notify(srv->server, srv->cq,
						&srv->shutdown_tag);
		grpc_completion_queue_shutdown(srv->cq);
		while (grpc_completion_queue_next(
			       srv->cq, gpr_inf_future(GPR_CLOCK_REALTIME),
			       NULL)
			       .type != GRPC_QUEUE_SHUTDOWN)
			;
		grpc_server_destroy(srv->server);
		grpc_completion_queue_destroy(srv->cq);
	}
	for (guint i = 0; i < srv->methods->len; i++) {
		Method *m = g_ptr_array_index(srv->methods, i);
		g_free(m->path);
		g_free(m);
	}
	g_ptr_array_free(srv->methods, TRUE);
	g_mutex_clear(&srv->lock);
	g_cond_clear(&srv->cond);
	g_free(srv->listen_path);
	g_free(srv);
}
