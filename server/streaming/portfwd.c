/* PortForward sessions: TCP connections made inside the pod's network
 * namespace to localhost:<port>, joined to the client's streams. Nothing
 * runs in the pod: only the socket is created in its namespace.
 *
 * SPDY (portforward.k8s.io, also tunnelled in WebSocket binary messages
 * as "SPDY/3.1+portforward.k8s.io"): each forwarded connection is a pair
 * of client-opened streams, "error" then "data", sharing the "port" and
 * "requestid" headers. A failed connect is a message on the error stream.
 * WebSocket (v4.channel.k8s.io and the older channel protocols): the
 * ports come from the URL's port/ports parameters; port i has data
 * channel 2i and error channel 2i+1, and from v4 on the first message of
 * each channel is the port, two bytes little-endian. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sandbox/container/ctrstream.h"
#include "server/streaming/session.h"
#include "util/error.h"
#include "util/log.h"

#define FWD_CHUNK (256 * 1024)
#define MAX_FORWARDS 1024

typedef struct {
	char *rid;
	guint16 port;
	guint32 s_data, s_error;
	int sock;
	GByteArray *to_sock;
	gboolean client_fin; /* the client closed its side of data */
	gboolean shut_wr;    /* ...and we passed that on */
	gboolean sock_eof;   /* the pod's side closed */
	gboolean failed;
} Fwd;

typedef struct {
	const SessionEnv *env;
	const StreamRequest *req;
	char *pod_id;
	char *netns; /* NULL: the host's */
	Wire w;
	gboolean spdy;
	gboolean ws_port_prefix; /* v4 WebSocket */
	GPtrArray *fwds;	 /* Fwd* */
	guint8 *buf;		 /* FWD_CHUNK bytes from a pod's socket */
} Pf;

static void fwd_free(gpointer p)
{
	Fwd *f = p;
	if (f->sock >= 0)
		close(f->sock);
	g_byte_array_unref(f->to_sock);
	g_free(f->rid);
	g_free(f);
}

/* --- connecting inside the pod -------------------------------------------- */

typedef struct {
	const char *netns;
	guint16 port;
	int fd;
	int err;
	const char *step;
} Dial;

static int dial_family(int family, guint16 port, int *err)
{
	int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	struct sockaddr_storage ss = {0};
	socklen_t len;
	if (family == AF_INET) {
		struct sockaddr_in *a = (struct sockaddr_in *)&ss;
		a->sin_family = AF_INET;
		a->sin_port = htons(port);
		a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof *a;
	} else {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		a->sin6_addr = in6addr_loopback;
		len = sizeof *a;
	}
	if (connect(fd, (struct sockaddr *)&ss, len) < 0) {
		*err = errno;
		close(fd);
		return -1;
	}
	return fd;
}

/* On a thread of its own: setns only changes the calling thread, and a
 * thread that ends leaves nothing in the pod's namespace behind. */
static void *dial_thread(void *data)
{
	Dial *d = data;
	if (d->netns) {
		int ns = open(d->netns, O_RDONLY | O_CLOEXEC);
		if (ns < 0) {
			d->err = errno;
			d->step = "opening the pod's network namespace";
			return NULL;
		}
		int r = setns(ns, CLONE_NEWNET);
		d->err = errno;
		close(ns);
		if (r < 0) {
			d->step = "entering the pod's network namespace";
			return NULL;
		}
	}
	d->step = "connecting";
	d->fd = dial_family(AF_INET, d->port, &d->err);
	if (d->fd < 0) {
		int err4 = d->err;
		d->fd = dial_family(AF_INET6, d->port, &d->err);
		if (d->fd < 0)
			d->err = err4;
	}
	return NULL;
}

static int dial(Pf *pf, guint16 port, GError **error)
{
	Dial d = {.netns = pf->netns, .port = port, .fd = -1};
	pthread_t t;
	int r = pthread_create(&t, NULL, dial_thread, &d);
	if (r != 0) {
		berth_throw(error, RESOURCE_EXHAUSTED,
			    "no thread to connect with: %s", g_strerror(r));
		return -1;
	}
	pthread_join(t, NULL);
	if (d.fd < 0) {
		berth_throw(error, UNAVAILABLE,
			    "error forwarding port %u to pod %s: %s: %s", port,
			    pf->pod_id, d.step, g_strerror(d.err));
		return -1;
	}
	fcntl(d.fd, F_SETFL, fcntl(d.fd, F_GETFL) | O_NONBLOCK);
	return d.fd;
}

static gboolean port_allowed(const Pf *pf, guint port)
{
	GArray *ports = pf->req->ports;
	if (ports == NULL || ports->len == 0)
		return TRUE;
	for (guint i = 0; i < ports->len; i++)
		if ((guint)g_array_index(ports, gint32, i) == port)
			return TRUE;
	return FALSE;
}

/* --- output to the client ------------------------------------------------- */

static void put_data(Pf *pf, guint idx, Fwd *f, const void *data, gsize len)
{
	if (pf->spdy)
		spdy_put_data(pf->w.sout, f->s_data, 0, data, len);
	else
		wire_put_channel(&pf->w, (guint8)(2 * idx), data, len);
}

static void put_error(Pf *pf, guint idx, Fwd *f, const char *msg)
{
	if (pf->spdy) {
		spdy_put_data(pf->w.sout, f->s_error, 0, msg, strlen(msg));
		spdy_put_data(pf->w.sout, f->s_error, SPDY_FLAG_FIN, NULL, 0);
		spdy_put_data(pf->w.sout, f->s_data, SPDY_FLAG_FIN, NULL, 0);
	} else {
		wire_put_channel(&pf->w, (guint8)(2 * idx + 1), msg,
				 strlen(msg));
	}
}

/* The pod's side closed: close the client's streams for it. */
static void put_eof(Pf *pf, Fwd *f)
{
	if (pf->spdy) {
		spdy_put_data(pf->w.sout, f->s_data, SPDY_FLAG_FIN, NULL, 0);
		spdy_put_data(pf->w.sout, f->s_error, SPDY_FLAG_FIN, NULL, 0);
	}
}

static void connect_fwd(Pf *pf, guint idx, Fwd *f)
{
	g_autoptr(GError) error = NULL;
	if (!port_allowed(pf, f->port))
		berth_throw(&error, INVALID_ARGUMENT,
			    "port %u was not in the PortForward request",
			    f->port);
	else
		f->sock = dial(pf, f->port, &error);
	if (f->sock < 0) {
		log_debug("port-forward %s: %s", pf->pod_id, error->message);
		f->failed = TRUE;
		put_error(pf, idx, f, error->message);
	}
}

/* --- SPDY ----------------------------------------------------------------- */

static Fwd *fwd_by_rid(Pf *pf, const char *rid)
{
	for (guint i = 0; i < pf->fwds->len; i++) {
		Fwd *f = pf->fwds->pdata[i];
		if (g_str_equal(f->rid, rid))
			return f;
	}
	return NULL;
}

static Fwd *fwd_by_stream(Pf *pf, guint32 sid, gboolean *is_data)
{
	for (guint i = 0; i < pf->fwds->len; i++) {
		Fwd *f = pf->fwds->pdata[i];
		if (f->s_data == sid || f->s_error == sid) {
			*is_data = f->s_data == sid;
			return f;
		}
	}
	return NULL;
}

static void spdy_open(Pf *pf, const SpdyFrame *fr)
{
	const SpdyHeader *t = spdy_frame_header(fr, "streamtype");
	const SpdyHeader *p = spdy_frame_header(fr, "port");
	const SpdyHeader *r = spdy_frame_header(fr, "requestid");
	gboolean is_data = t && g_str_equal(t->value, "data");
	gboolean is_error = t && g_str_equal(t->value, "error");
	guint64 port = 0;
	if (!(is_data || is_error) || p == NULL ||
	    !g_ascii_string_to_unsigned(p->value, 10, 1, 65535, &port, NULL) ||
	    pf->fwds->len >= MAX_FORWARDS) {
		spdy_put_rst_stream(pf->w.sout, fr->stream_id,
				    SPDY_RST_PROTOCOL_ERROR);
		return;
	}
	/* Old clients send no request id: the pair is then error stream N
	 * and data stream N+2. */
	g_autofree char *rid =
		r ? g_strdup(r->value)
		  : g_strdup_printf("%u", is_error ? fr->stream_id
						   : fr->stream_id - 2);
	spdy_put_syn_reply(pf->w.spdy, pf->w.sout, fr->stream_id, 0, NULL, 0);
	Fwd *f = fwd_by_rid(pf, rid);
	if (f == NULL) {
		f = g_new0(Fwd, 1);
		f->rid = g_steal_pointer(&rid);
		f->port = (guint16)port;
		f->sock = -1;
		f->to_sock = g_byte_array_new();
		g_ptr_array_add(pf->fwds, f);
	}
	guint32 *slot = is_data ? &f->s_data : &f->s_error;
	if (*slot != 0 || f->port != port) {
		spdy_put_rst_stream(pf->w.sout, fr->stream_id,
				    SPDY_RST_PROTOCOL_ERROR);
		return;
	}
	*slot = fr->stream_id;
	if (is_data && (fr->flags & SPDY_FLAG_FIN))
		f->client_fin = TRUE;
	if (f->s_data && f->s_error)
		connect_fwd(pf, 0, f);
}

static void spdy_frame(Pf *pf, const SpdyFrame *fr)
{
	gboolean is_data = FALSE;
	Fwd *f;
	switch (fr->type) {
	case SPDY_SYN_STREAM:
		spdy_open(pf, fr);
		break;
	case SPDY_DATA:
		if (fr->len > 0) {
			spdy_put_window_update(pf->w.sout, fr->stream_id,
					       fr->len);
			spdy_put_window_update(pf->w.sout, 0, fr->len);
		}
		f = fwd_by_stream(pf, fr->stream_id, &is_data);
		if (f == NULL || !is_data)
			break;
		if (!f->client_fin && !f->failed)
			g_byte_array_append(f->to_sock, fr->data, fr->len);
		if (fr->flags & SPDY_FLAG_FIN)
			f->client_fin = TRUE;
		break;
	case SPDY_RST_STREAM:
		f = fwd_by_stream(pf, fr->stream_id, &is_data);
		if (f) {
			f->failed = TRUE;
			f->client_fin = TRUE;
			f->sock_eof = TRUE;
		}
		break;
	case SPDY_PING:
		if (fr->ping_id & 1)
			spdy_put_ping(pf->w.sout, fr->ping_id);
		break;
	case SPDY_GOAWAY:
		pf->w.eof = TRUE;
		break;
	default:
		break;
	}
}

/* --- WebSocket ------------------------------------------------------------ */

static gboolean ws_start(Pf *pf, StreamConn *conn, GError **error)
{
	GPtrArray *all = g_ptr_array_new();
	if (conn->query_ports)
		for (guint i = 0; i < conn->query_ports->len; i++)
			g_ptr_array_add(all, conn->query_ports->pdata[i]);
	for (guint i = 0; i < all->len; i++) {
		g_auto(GStrv) parts = g_strsplit(all->pdata[i], ",", -1);
		for (char **p = parts; *p; p++) {
			guint64 port = 0;
			if (!g_ascii_string_to_unsigned(*p, 10, 1, 65535, &port,
							NULL)) {
				g_ptr_array_unref(all);
				return berth_throw(error, INVALID_ARGUMENT,
						   "bad port %s", *p);
			}
			Fwd *f = g_new0(Fwd, 1);
			f->rid = g_strdup(*p);
			f->port = (guint16)port;
			f->sock = -1;
			f->to_sock = g_byte_array_new();
			g_ptr_array_add(pf->fwds, f);
		}
	}
	g_ptr_array_unref(all);
	if (pf->fwds->len == 0 || pf->fwds->len > 127)
		return berth_throw(error, INVALID_ARGUMENT,
				   "a WebSocket port-forward needs 1 to 127 "
				   "ports in the port query parameter");
	for (guint i = 0; i < pf->fwds->len; i++) {
		Fwd *f = pf->fwds->pdata[i];
		if (pf->ws_port_prefix) {
			guint8 le[2] = {f->port & 0xff, f->port >> 8};
			wire_put_channel(&pf->w, (guint8)(2 * i), le, 2);
			wire_put_channel(&pf->w, (guint8)(2 * i + 1), le, 2);
		}
		connect_fwd(pf, i, f);
	}
	return TRUE;
}

static void ws_message(Pf *pf, const WsMessage *m)
{
	const guint8 *data = m->data;
	gsize len = m->len;
	g_autofree guint8 *decoded = NULL;
	if (len == 0)
		return;
	guint ch = data[0];
	if (pf->w.base64) {
		ch = data[0] - '0';
		g_autofree char *text =
			g_strndup((const char *)data + 1, len - 1);
		decoded = g_base64_decode(text, &len);
		data = decoded;
	} else {
		data++;
		len--;
	}
	if (ch % 2 != 0 || ch / 2 >= pf->fwds->len)
		return;
	Fwd *f = pf->fwds->pdata[ch / 2];
	if (!f->failed && !f->client_fin)
		g_byte_array_append(f->to_sock, data, len);
}

/* --- the loop ------------------------------------------------------------- */

static void on_spdy(gpointer ctx, const SpdyFrame *f)
{
	spdy_frame(ctx, f);
}

static gboolean on_ws(gpointer ctx, const WsMessage *m, GError **error)
{
	(void)error;
	ws_message(ctx, m);
	return TRUE;
}

static const WireHandlers handlers = {on_spdy, on_ws};

static gboolean from_client(Pf *pf, GError **error)
{
	return wire_dispatch(&pf->w, &handlers, pf, error);
}

static void to_sock(Fwd *f)
{
	while (f->to_sock->len > 0 && f->sock >= 0) {
		ssize_t n = send(f->sock, f->to_sock->data, f->to_sock->len,
				 MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				g_byte_array_set_size(f->to_sock, 0);
				f->client_fin = TRUE;
			}
			break;
		}
		g_byte_array_remove_range(f->to_sock, 0, n);
	}
	if (f->client_fin && f->to_sock->len == 0 && !f->shut_wr &&
	    f->sock >= 0) {
		shutdown(f->sock, SHUT_WR);
		f->shut_wr = TRUE;
	}
}

static void from_sock(Pf *pf, guint idx, Fwd *f)
{
	while (!f->sock_eof && f->sock >= 0 &&
	       wire_pending(&pf->w) < WIRE_HIGH_WATER) {
		ssize_t n = recv(f->sock, pf->buf, FWD_CHUNK, MSG_DONTWAIT);
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			f->sock_eof = TRUE;
			put_eof(pf, f);
			return;
		}
		pf->w.last_activity = g_get_monotonic_time();
		put_data(pf, idx, f, pf->buf, n);
	}
}

/* Over once both sides closed, or it failed. A WebSocket client cannot
 * half-close a channel: there the pod's side closing ends it. */
static gboolean fwd_over(const Pf *pf, const Fwd *f)
{
	return f->failed || (f->sock_eof && (f->shut_wr || !pf->spdy));
}

static gboolean pump(Pf *pf, GError **error)
{
	for (;;) {
		if (!from_client(pf, error))
			return FALSE;
		gboolean all_over = TRUE;
		for (guint i = 0; i < pf->fwds->len; i++) {
			Fwd *f = pf->fwds->pdata[i];
			to_sock(f);
			from_sock(pf, i, f);
			if (!fwd_over(pf, f))
				all_over = FALSE;
		}
		if (pf->spdy) {
			for (guint i = pf->fwds->len; i-- > 0;) {
				Fwd *f = pf->fwds->pdata[i];
				if (fwd_over(pf, f))
					g_ptr_array_remove_index(pf->fwds, i);
			}
		}
		if (!wire_flush(&pf->w, error))
			return FALSE;
		if (pf->w.eof)
			return TRUE;
		/* A WebSocket session is for its ports only. */
		if (!pf->spdy && all_over) {
			wire_put_ws_close(&pf->w, 1000, "");
			return TRUE;
		}
		guint n = pf->fwds->len;
		g_autofree struct pollfd *p = g_new0(struct pollfd, n + 2);
		p[0].fd = pf->w.fd;
		p[0].events = wire_poll_events(&pf->w);
		p[1].fd = pf->env->stop_fd;
		p[1].events = POLLIN;
		gboolean full = wire_pending(&pf->w) >= WIRE_HIGH_WATER;
		for (guint i = 0; i < n; i++) {
			Fwd *f = pf->fwds->pdata[i];
			p[i + 2].fd = f->sock;
			if (f->to_sock->len > WIRE_HIGH_WATER)
				p[0].events &= ~POLLIN;
			if (f->sock < 0)
				continue;
			if (!full && !f->sock_eof)
				p[i + 2].events |= POLLIN;
			if (f->to_sock->len > 0)
				p[i + 2].events |= POLLOUT;
		}
		if (!session_wait(pf->env, &pf->w, p, n + 2, 1, 0, error))
			return FALSE;
	}
}

void portfwd_serve(const SessionEnv *env, StreamConn *conn,
		   const StreamRequest *r)
{
	Pf pf = {
		.env = env,
		.req = r,
		.spdy = conn->transport == STREAM_SPDY ||
			strstr(conn->protocol, "SPDY/3.1") != NULL,
		.ws_port_prefix = g_str_has_prefix(conn->protocol, "v4."),
		.fwds = g_ptr_array_new_with_free_func(fwd_free),
		.buf = g_malloc(FWD_CHUNK),
	};
	wire_init(&pf.w, conn, pf.spdy);
	g_autoptr(GError) error = NULL;
	if (!pod_stream_netns(env->pods, r->id, &pf.pod_id, &pf.netns,
			      &error) ||
	    (!pf.spdy && !ws_start(&pf, conn, &error)) || !pump(&pf, &error)) {
		log_info("port-forward to pod %s ended: %s", r->id,
			 error->message);
		if (!pf.spdy) {
			wire_put_ws_close(&pf.w, 1011, "");
		} else {
			spdy_put_goaway(pf.w.sout, 0, 0);
		}
	}
	wire_drain(&pf.w, 2000);
	g_ptr_array_unref(pf.fwds);
	g_free(pf.buf);
	g_free(pf.pod_id);
	g_free(pf.netns);
	wire_clear(&pf.w);
}
