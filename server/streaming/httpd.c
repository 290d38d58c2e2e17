/* The streaming server's HTTP front: one libmicrohttpd daemon with its own
 * polling thread. A request that passes every check is answered 101 with an
 * upgrade response; MHD then suspends the connection and gives us its
 * socket, which goes to the handler on a new thread. The handler closes it
 * with MHD_upgrade_action(CLOSE), which MHD allows from any thread: it only
 * flags the handle and wakes the polling thread through its ITC pipe.
 *
 * Lifetime: MHD_stop_daemon would close the sockets and free the upgrade
 * handles of sessions still running, so httpd_stop only quiesces the
 * daemon; whoever drops the last reference (httpd_stop or the last
 * stream_conn_finish) stops and frees it. */
#include "server/streaming/httpd.h"
#include "server/streaming/ws.h"
#include "util/error.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static const char *const rc_spdy[] = {"v4.channel.k8s.io",
				      "v3.channel.k8s.io",
				      "v2.channel.k8s.io",
				      "channel.k8s.io",
				      "",
				      NULL};
static const char *const rc_ws[] = {"v5.channel.k8s.io",
				    "v4.channel.k8s.io",
				    "v3.channel.k8s.io",
				    "v2.channel.k8s.io",
				    "channel.k8s.io",
				    "base64.channel.k8s.io",
				    "",
				    NULL};
static const char *const pf_spdy[] = {"portforward.k8s.io", "", NULL};
static const char *const pf_ws[] = {"v4.channel.k8s.io",
				    "SPDY/3.1+portforward.k8s.io", "", NULL};

const StreamProtocols stream_remote_command_protocols = {rc_spdy, rc_ws};
const StreamProtocols stream_port_forward_protocols = {pf_spdy, pf_ws};

struct Httpd {
	struct MHD_Daemon *daemon;
	TokenStore *tokens;
	const StreamProtocols *protocols[4]; /* by StreamKind */
	StreamHandler handler;
	gpointer user_data;
	char *url;
	guint port;
	char *tls_cert; /* PEM text, kept while the daemon runs */
	char *tls_key;

	GMutex lock;
	GCond cond;	   /* a Pending became done */
	gboolean stopping; /* httpd_stop was called */
	guint live;	   /* sessions handed over, not yet finished */
};

/* A request answered with an upgrade: what the session will get. Lives in
 * MHD's per-request slot until MHD says the request is over. */
typedef struct {
	StreamConn *conn; /* NULL once handed to the upgrade callback */
	/* A session owns the connection: stream_conn_finish waits for
	 * MHD to be done with it (done), or gives up and leaves the freeing
	 * to on_completed (orphan). Under Httpd.lock. */
	gboolean handed;
	gboolean done;
	gboolean orphan;
} Pending;

/* The per-request slot of requests answered with an error. */
static char answered;

static const char *const kind_names[] = {
	[STREAM_EXEC] = "exec",
	[STREAM_ATTACH] = "attach",
	[STREAM_PORTFORWARD] = "portforward",
};

static void conn_free(StreamConn *c)
{
	if (c->request != NULL && c->request_free != NULL)
		c->request_free(c->request);
	g_free(c->protocol);
	if (c->query != NULL)
		g_hash_table_unref(c->query);
	if (c->query_ports != NULL)
		g_ptr_array_unref(c->query_ports);
	g_free((gpointer)c->extra);
	g_free(c);
}

static void httpd_destroy(Httpd *h)
{
	MHD_stop_daemon(h->daemon);
	g_free(h->url);
	g_free(h->tls_cert);
	g_free(h->tls_key);
	g_mutex_clear(&h->lock);
	g_cond_clear(&h->cond);
	g_free(h);
}

/* --- answering --------------------------------------------------------- */

/* Bodies are plain text without ": ". client-go first tries to decode an
 * error body as a Kubernetes Status, and "a: b" is YAML for an empty one,
 * which would hide the message. */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned int status,
			     const char *text, const char *hname,
			     const char *hvalue)
{
	g_autofree char *body = g_strdup_printf("%s\n", text);
	struct MHD_Response *r = MHD_create_response_from_buffer(
		strlen(body), body, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
				"text/plain; charset=utf-8");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	if (hname != NULL)
		MHD_add_response_header(r, hname, hvalue);
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

/* --- reading the request ----------------------------------------------- */

typedef struct {
	const char *name;
	GPtrArray *tokens; /* trimmed, non-empty, in order */
} HeaderList;

static enum MHD_Result collect_header(void *cls, enum MHD_ValueKind kind,
				      const char *key, const char *value)
{
	(void)kind;
	HeaderList *l = cls;
	if (value == NULL || g_ascii_strcasecmp(key, l->name) != 0)
		return MHD_YES;
	g_auto(GStrv) parts = g_strsplit(value, ",", -1);
	for (char **p = parts; *p != NULL; p++) {
		g_strstrip(*p);
		if (**p != '\0')
			g_ptr_array_add(l->tokens, g_strdup(*p));
	}
	return MHD_YES;
}

/* Every comma-separated token of every header line called name. */
static GPtrArray *header_tokens(struct MHD_Connection *c, const char *name)
{
	HeaderList l = {name, g_ptr_array_new_with_free_func(g_free)};
	MHD_get_connection_values(c, MHD_HEADER_KIND, collect_header, &l);
	return l.tokens;
}

static gboolean has_token(GPtrArray *tokens, const char *want)
{
	for (guint i = 0; i < tokens->len; i++) {
		if (g_ascii_strcasecmp(tokens->pdata[i], want) == 0)
			return TRUE;
	}
	return FALSE;
}

static enum MHD_Result collect_query(void *cls, enum MHD_ValueKind kind,
				     const char *key, const char *value)
{
	(void)kind;
	StreamConn *s = cls;
	const char *v = value ? value : "";
	g_hash_table_replace(s->query, g_strdup(key), g_strdup(v));
	/* kubelet names it "port"; "ports" is accepted too. */
	if (strcmp(key, "port") == 0 || strcmp(key, "ports") == 0)
		g_ptr_array_add(s->query_ports, g_strdup(v));
	return MHD_YES;
}

/* The first protocol the client offers that the server lists; "" when
 * the client offers none and the list has ""; NULL otherwise. */
static const char *negotiate(GPtrArray *offered, const char *const *accepted)
{
	if (offered->len == 0)
		return g_strv_contains(accepted, "") ? "" : NULL;
	for (guint i = 0; i < offered->len; i++) {
		const char *p = offered->pdata[i];
		if (p[0] != '\0' && g_strv_contains(accepted, p))
			return p;
	}
	return NULL;
}

/* "/exec/<token>" and the like: the kind and the token, or 0. */
static StreamKind parse_route(const char *url, const char **token)
{
	if (url[0] != '/')
		return 0;
	for (int k = STREAM_EXEC; k <= STREAM_PORTFORWARD; k++) {
		gsize n = strlen(kind_names[k]);
		const char *t = url + 1 + n;
		if (strncmp(url + 1, kind_names[k], n) == 0 && t[0] == '/' &&
		    t[1] != '\0' && strchr(t + 1, '/') == NULL) {
			*token = t + 1;
			return k;
		}
	}
	return 0;
}

/* --- the upgrade --------------------------------------------------------- */

static gpointer session_main(gpointer data)
{
	StreamConn *c = data;
	c->httpd->handler(c, c->httpd->user_data);
	return NULL;
}

/* On MHD's thread, right after the 101 went out. */
static void on_upgrade(void *cls, struct MHD_Connection *connection,
		       void *con_cls, const char *extra_in,
		       size_t extra_in_size, MHD_socket sock,
		       struct MHD_UpgradeResponseHandle *urh)
{
	(void)connection;
	Httpd *h = cls;
	Pending *p = con_cls;
	StreamConn *c = p->conn;
	p->conn = NULL;
	c->fd = sock;
	c->urh = urh;
	c->httpd = h;
	c->pending = p;
	c->extra = extra_in_size ? g_memdup2(extra_in, extra_in_size) : NULL;
	c->extra_len = extra_in_size;

	g_mutex_lock(&h->lock);
	gboolean refuse = h->stopping;
	if (!refuse)
		h->live++;
	g_mutex_unlock(&h->lock);
	if (refuse) {
		MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
		conn_free(c);
		return;
	}
	p->handed = TRUE;
	g_autoptr(GError) error = NULL;
	GThread *t = g_thread_try_new("berth-stream", session_main, c, &error);
	if (t != NULL) {
		g_thread_unref(t);
		return;
	}
	p->handed = FALSE;
	log_error("streaming: no thread for a %s session: %s",
		  kind_names[c->kind], error->message);
	MHD_upgrade_action(urh, MHD_UPGRADE_ACTION_CLOSE);
	conn_free(c);
	g_mutex_lock(&h->lock);
	h->live--;
	/* Were this the last reference, the daemon could not be stopped from
	 * its own thread: it stays (a leak only when thread creation fails
	 * during shutdown). */
	g_mutex_unlock(&h->lock);
}

/* MHD is done with a request: after an error answer, a failed upgrade, or
 * (upgraded) once the session closed it and, with TLS, the last bytes
 * were relayed. */
static void on_completed(void *cls, struct MHD_Connection *connection,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	(void)connection;
	(void)toe;
	Httpd *h = cls;
	if (*con_cls == NULL || *con_cls == &answered)
		return;
	Pending *p = *con_cls;
	*con_cls = NULL;
	if (!p->handed) {
		if (p->conn != NULL)
			conn_free(p->conn);
		g_free(p);
		return;
	}
	g_mutex_lock(&h->lock);
	p->done = TRUE;
	gboolean orphan = p->orphan;
	g_cond_broadcast(&h->cond);
	g_mutex_unlock(&h->lock);
	if (orphan)
		g_free(p);
}

void stream_conn_finish(StreamConn *conn)
{
	Httpd *h = conn->httpd;
	Pending *p = conn->pending;
	MHD_upgrade_action(conn->urh, MHD_UPGRADE_ACTION_CLOSE);
	conn_free(conn);
	/* Stopping the daemon before MHD let go would drop what TLS has not
	 * relayed yet; and the Pending is shared with on_completed. */
	gint64 end = g_get_monotonic_time() + 5 * G_TIME_SPAN_SECOND;
	g_mutex_lock(&h->lock);
	while (!p->done && g_cond_wait_until(&h->cond, &h->lock, end))
		;
	gboolean done = p->done;
	p->orphan = !done;
	h->live--;
	gboolean last = h->stopping && h->live == 0;
	g_mutex_unlock(&h->lock);
	if (done)
		g_free(p);
	if (last)
		httpd_destroy(h);
}

/* The checks of an upgrade request, in order; on success *c is filled
 * but for the token's data. Returns the status to answer otherwise. */
typedef struct {
	unsigned int status;
	const char *text;
	const char *hname;
	char *hvalue;
} Refusal;

static gboolean check_spdy(const StreamProtocols *sp, struct MHD_Connection *mc,
			   StreamConn *c, Refusal *no)
{
	g_autoptr(GPtrArray) offered =
		header_tokens(mc, "X-Stream-Protocol-Version");
	const char *p = negotiate(offered, sp->spdy);
	if (p == NULL) {
		no->status = MHD_HTTP_BAD_REQUEST;
		no->text = "unable to upgrade, no common stream protocol";
		no->hname = "X-Accepted-Stream-Protocol-Versions";
		g_autoptr(GStrvBuilder) b = g_strv_builder_new();
		for (const char *const *a = sp->spdy; *a; a++) {
			if (**a)
				g_strv_builder_add(b, *a);
		}
		g_auto(GStrv) list = g_strv_builder_end(b);
		no->hvalue = g_strjoinv(", ", list);
		return FALSE;
	}
	c->transport = STREAM_SPDY;
	c->protocol = g_strdup(p);
	return TRUE;
}

static gboolean check_websocket(const StreamProtocols *sp, const char *method,
				struct MHD_Connection *mc, StreamConn *c,
				char accept[29], Refusal *no)
{
	no->status = MHD_HTTP_BAD_REQUEST;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0) {
		no->text = "a WebSocket upgrade must be a GET";
		return FALSE;
	}
	const char *version = MHD_lookup_connection_value(
		mc, MHD_HEADER_KIND, "Sec-WebSocket-Version");
	if (version == NULL || strcmp(version, "13") != 0) {
		no->text = "unsupported Sec-WebSocket-Version (13 only)";
		no->hname = "Sec-WebSocket-Version";
		no->hvalue = g_strdup("13");
		return FALSE;
	}
	const char *key = MHD_lookup_connection_value(mc, MHD_HEADER_KIND,
						      "Sec-WebSocket-Key");
	if (!ws_accept_key(key, accept)) {
		no->text = "missing or bad Sec-WebSocket-Key";
		return FALSE;
	}
	g_autoptr(GPtrArray) offered =
		header_tokens(mc, "Sec-WebSocket-Protocol");
	const char *p = negotiate(offered, sp->websocket);
	if (p == NULL) {
		no->text = "unable to upgrade, no common sub-protocol";
		return FALSE;
	}
	c->transport = STREAM_WEBSOCKET;
	c->protocol = g_strdup(p);
	return TRUE;
}

static struct MHD_Response *upgrade_response(Httpd *h, const StreamConn *c,
					     const char *accept)
{
	struct MHD_Response *r = MHD_create_response_for_upgrade(on_upgrade, h);
	if (r == NULL)
		return NULL;
	/* 0.9.75 adds "Connection: Upgrade" itself; older releases did not. */
	if (MHD_get_response_header(r, MHD_HTTP_HEADER_CONNECTION) == NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION,
					"Upgrade");
	if (c->transport == STREAM_SPDY) {
		MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE, "SPDY/3.1");
		if (c->protocol[0])
			MHD_add_response_header(r, "X-Stream-Protocol-Version",
						c->protocol);
	} else {
		MHD_add_response_header(r, MHD_HTTP_HEADER_UPGRADE,
					"websocket");
		MHD_add_response_header(r, "Sec-WebSocket-Accept", accept);
		if (c->protocol[0])
			MHD_add_response_header(r, "Sec-WebSocket-Protocol",
						c->protocol);
	}
	return r;
}

/* A valid token on a request that may upgrade. The token is taken only
 * when everything else checked out, so a bad request leaves it usable. */
static enum MHD_Result serve_upgrade(Httpd *h, struct MHD_Connection *mc,
				     StreamKind kind, const char *token,
				     const char *method, const char *version,
				     void **con_cls)
{
	const StreamProtocols *sp = h->protocols[kind];
	g_autoptr(GPtrArray) upgrade = header_tokens(mc, "Upgrade");
	g_autoptr(GPtrArray) connection = header_tokens(mc, "Connection");
	StreamConn *c = g_new0(StreamConn, 1);
	c->kind = kind;
	c->fd = -1;
	char accept[29] = "";
	Refusal no = {MHD_HTTP_BAD_REQUEST, NULL, NULL, NULL};
	gboolean ok = FALSE;
	if (!has_token(connection, "upgrade") ||
	    strcmp(version, MHD_HTTP_VERSION_1_1) != 0)
		no.text = "not an upgrade request (HTTP/1.1 with Connection "
			  "Upgrade and Upgrade SPDY/3.1 or websocket needed)";
	else if (has_token(upgrade, "SPDY/3.1"))
		ok = check_spdy(sp, mc, c, &no);
	else if (has_token(upgrade, "websocket"))
		ok = check_websocket(sp, method, mc, c, accept, &no);
	else
		no.text = "not an upgrade request (Upgrade SPDY/3.1 or "
			  "websocket expected)";
	if (!ok) {
		conn_free(c);
		enum MHD_Result r =
			reply(mc, no.status, no.text, no.hname, no.hvalue);
		g_free(no.hvalue);
		return r;
	}
	/* Under the lock: once httpd_stop has set the flag, the token store
	 * may be gone. */
	g_mutex_lock(&h->lock);
	if (!h->stopping)
		c->request = token_store_take_full(h->tokens, token, kind,
						   &c->request_free);
	g_mutex_unlock(&h->lock);
	if (c->request == NULL) { /* taken by a racing request, or expired */
		conn_free(c);
		return reply(mc, MHD_HTTP_NOT_FOUND, "unknown or expired token",
			     NULL, NULL);
	}
	c->query =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	c->query_ports = g_ptr_array_new_with_free_func(g_free);
	MHD_get_connection_values(mc, MHD_GET_ARGUMENT_KIND, collect_query, c);

	struct MHD_Response *r = upgrade_response(h, c, accept);
	Pending *p = g_new0(Pending, 1);
	p->conn = c;
	*con_cls = p; /* on_completed frees it, whatever happens next */
	if (r == NULL)
		return MHD_NO;
	enum MHD_Result ret =
		MHD_queue_response(mc, MHD_HTTP_SWITCHING_PROTOCOLS, r);
	MHD_destroy_response(r);
	log_debug("streaming: %s upgrade to %s \"%s\"", kind_names[kind],
		  c->transport == STREAM_SPDY ? "SPDY/3.1" : "websocket",
		  c->protocol);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	(void)upload_data;
	Httpd *h = cls;
	if (*con_cls != NULL) { /* answered already: drop any body */
		*upload_data_size = 0;
		return MHD_YES;
	}
	*con_cls = &answered;
	const char *token = NULL;
	StreamKind kind = parse_route(url, &token);
	if (kind == 0)
		return reply(mc, MHD_HTTP_NOT_FOUND, "not found", NULL, NULL);
	/* SPDY clients (client-go's remotecommand) POST; WebSocket GETs. */
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_POST) != 0)
		return reply(mc, MHD_HTTP_METHOD_NOT_ALLOWED,
			     "method not allowed", MHD_HTTP_HEADER_ALLOW,
			     "GET, POST");
	g_mutex_lock(&h->lock);
	gboolean stopping = h->stopping;
	gboolean known =
		!stopping && token_store_contains(h->tokens, token, kind);
	g_mutex_unlock(&h->lock);
	if (stopping)
		return reply(mc, MHD_HTTP_SERVICE_UNAVAILABLE,
			     "streaming server is shutting down", NULL, NULL);
	if (!known)
		return reply(mc, MHD_HTTP_NOT_FOUND, "unknown or expired token",
			     NULL, NULL);
	*con_cls = NULL;
	enum MHD_Result r =
		serve_upgrade(h, mc, kind, token, method, version, con_cls);
	if (*con_cls == NULL)
		*con_cls = &answered;
	return r;
}

/* --- starting and stopping --------------------------------------------- */

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	if (berth_log_get_level() < BERTH_LOG_DEBUG)
		return;
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	g_strchomp(msg);
	log_debug("streaming: microhttpd: %s", msg);
}

static gboolean load_tls(Httpd *h, const HttpdOptions *o, GError **error)
{
	gboolean cert = o->tls_cert != NULL && o->tls_cert[0] != '\0';
	gboolean key = o->tls_key != NULL && o->tls_key[0] != '\0';
	if (cert != key)
		return berth_throw(error, INVALID_ARGUMENT,
				   "streaming TLS needs both a certificate "
				   "and a key");
	if (!cert)
		return TRUE;
	if (!MHD_is_feature_supported(MHD_FEATURE_TLS))
		return berth_throw(error, FAILED_PRECONDITION,
				   "libmicrohttpd here has no TLS support");
	g_autoptr(GError) local = NULL;
	if (!g_file_get_contents(o->tls_cert, &h->tls_cert, NULL, &local) ||
	    !g_file_get_contents(o->tls_key, &h->tls_key, NULL, &local))
		return berth_throw(error, INVALID_ARGUMENT, "streaming TLS: %s",
				   local->message);
	return TRUE;
}

Httpd *httpd_start(const HttpdOptions *o, TokenStore *tokens,
		   const StreamProtocols *exec, const StreamProtocols *attach,
		   const StreamProtocols *portforward, StreamHandler handler,
		   gpointer user_data, GError **error)
{
	const char *address = o->address ? o->address : "127.0.0.1";
	if (o->port > 65535)
		return berth_throw_null(error, INVALID_ARGUMENT,
					"streaming port %u is out of range",
					o->port);
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6};
	gboolean v6 = FALSE;
	if (inet_pton(AF_INET, address, &sin.sin_addr) == 1) {
		sin.sin_port = htons(o->port);
	} else if (inet_pton(AF_INET6, address, &sin6.sin6_addr) == 1) {
		sin6.sin6_port = htons(o->port);
		v6 = TRUE;
	} else {
		return berth_throw_null(error, INVALID_ARGUMENT,
					"streaming address \"%s\" is not an "
					"IP address",
					address);
	}

	Httpd *h = g_new0(Httpd, 1);
	g_mutex_init(&h->lock);
	g_cond_init(&h->cond);
	h->tokens = tokens;
	h->handler = handler;
	h->user_data = user_data;
	h->protocols[STREAM_EXEC] =
		exec ? exec : &stream_remote_command_protocols;
	h->protocols[STREAM_ATTACH] =
		attach ? attach : &stream_remote_command_protocols;
	h->protocols[STREAM_PORTFORWARD] =
		portforward ? portforward : &stream_port_forward_protocols;
	if (!load_tls(h, o, error)) {
		httpd_destroy(h);
		return NULL;
	}
	gboolean tls = h->tls_cert != NULL;
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_UPGRADE |
			     MHD_USE_ITC | MHD_USE_ERROR_LOG;
	if (v6)
		flags |= MHD_USE_IPv6;
	if (tls)
		flags |= MHD_USE_TLS;
	const struct sockaddr *sa = v6 ? (const struct sockaddr *)&sin6
				       : (const struct sockaddr *)&sin;
	unsigned int timeout =
		o->connection_timeout ? o->connection_timeout : 30;
	errno = 0;
	if (tls)
		h->daemon = MHD_start_daemon(
			flags, (uint16_t)o->port, NULL, NULL, on_request, h,
			MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_CONNECTION_TIMEOUT,
			timeout, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
			MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
			MHD_OPTION_HTTPS_MEM_CERT, h->tls_cert,
			MHD_OPTION_HTTPS_MEM_KEY, h->tls_key, MHD_OPTION_END);
	else
		h->daemon = MHD_start_daemon(
			flags, (uint16_t)o->port, NULL, NULL, on_request, h,
			MHD_OPTION_SOCK_ADDR, sa, MHD_OPTION_CONNECTION_TIMEOUT,
			timeout, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
			MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, MHD_OPTION_END);
	if (h->daemon == NULL) {
		int errsv = errno;
		g_free(h->url);
		g_free(h->tls_cert);
		g_free(h->tls_key);
		g_mutex_clear(&h->lock);
		g_cond_clear(&h->cond);
		g_free(h);
		return berth_throw_null(
			error, UNAVAILABLE,
			"streaming server cannot listen on %s port %u%s%s",
			address, o->port, errsv ? ": " : "",
			errsv ? g_strerror(errsv) : "");
	}
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : o->port;
	h->url = g_strdup_printf(v6 ? "%s://[%s]:%u" : "%s://%s:%u",
				 tls ? "https" : "http", address, h->port);
	return h;
}

const char *httpd_url(Httpd *h)
{
	return h->url;
}

guint httpd_port(Httpd *h)
{
	return h->port;
}

void httpd_stop(Httpd *h)
{
	if (h == NULL)
		return;
	/* Before the flag: once it is set, a finishing session may free h. */
	MHD_socket fd = MHD_quiesce_daemon(h->daemon);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	g_mutex_lock(&h->lock);
	h->stopping = TRUE;
	gboolean last = h->live == 0;
	g_mutex_unlock(&h->lock);
	if (last)
		httpd_destroy(h);
}
