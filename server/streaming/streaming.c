/* The streaming server: tokens for requests, the HTTP endpoint, and one
 * thread per live session. */
#include "server/streaming/streaming.h"

#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "server/streaming/httpd.h"
#include "server/streaming/session.h"
#include "server/streaming/tokens.h"
#include "util/error.h"
#include "util/log.h"

struct StreamingServer {
	TokenStore *tokens;
	Httpd *httpd;
	SessionEnv env;
	GMutex lock;
	GCond idle;
	guint live; /* sessions running */
};

void stream_request_free(gpointer p)
{
	StreamRequest *r = p;
	if (r == NULL)
		return;
	g_free(r->id);
	g_strfreev(r->cmd);
	if (r->ports)
		g_array_unref(r->ports);
	g_free(r);
}

/* Milliseconds from now until end (monotonic us), at least 0. */
static int ms_until(gint64 end)
{
	gint64 left = (end - g_get_monotonic_time()) / 1000;
	return left <= 0 ? 0 : (int)MIN(left, G_MAXINT);
}

gboolean session_wait(const SessionEnv *env, Wire *w, struct pollfd *p, guint n,
		      guint stop, gint64 deadline, GError **error)
{
	int timeout = -1; /* no idle timeout */
	if (deadline != 0)
		timeout = ms_until(deadline);
	else if (env->idle_timeout_s != 0)
		timeout =
			ms_until(w->last_activity +
				 (gint64)env->idle_timeout_s * G_USEC_PER_SEC);
	int r = poll(p, n, timeout);
	if (r < 0 && errno != EINTR)
		return berth_throw(error, INTERNAL, "poll: %s",
				   g_strerror(errno));
	if (r == 0 && deadline == 0)
		return berth_throw(error, DEADLINE_EXCEEDED, "idle for %u s",
				   env->idle_timeout_s);
	if (r > 0 && env->stop_fd >= 0 && (p[stop].revents & POLLIN))
		return berth_throw(error, UNAVAILABLE,
				   "berthd is shutting down");
	if (r > 0 && (p[0].revents & (POLLIN | POLLHUP | POLLERR)))
		return wire_read(w, error);
	return TRUE;
}

/* Runs on the session's own thread (httpd starts it). */
static void on_stream(StreamConn *conn, gpointer data)
{
	StreamingServer *s = data;
	g_mutex_lock(&s->lock);
	s->live++;
	g_mutex_unlock(&s->lock);
	const StreamRequest *r = conn->request;
	if (r->kind == STREAM_PORTFORWARD)
		portfwd_serve(&s->env, conn, r);
	else
		remotecmd_serve(&s->env, conn, r);
	stream_conn_finish(conn);
	g_mutex_lock(&s->lock);
	s->live--;
	g_cond_broadcast(&s->idle);
	g_mutex_unlock(&s->lock);
}

StreamingServer *streaming_server_new(const BerthConfig *config,
				      CtrManager *containers, PodManager *pods,
				      GError **error)
{
	StreamingServer *s = g_new0(StreamingServer, 1);
	g_mutex_init(&s->lock);
	g_cond_init(&s->idle);
	s->env.containers = containers;
	s->env.pods = pods;
	s->env.idle_timeout_s = config->stream_idle_timeout;
	s->env.stop_fd = eventfd(0, EFD_CLOEXEC);
	s->tokens = token_store_new(config->stream_token_lifetime * 1000);
	HttpdOptions o = {
		.address = config->stream_address,
		.port = config->stream_port,
		.tls_cert = config->stream_tls_cert,
		.tls_key = config->stream_tls_key,
	};
	s->httpd = httpd_start(&o, s->tokens, NULL, NULL, NULL, on_stream, s,
			       error);
	if (s->httpd == NULL) {
		streaming_server_free(s);
		return NULL;
	}
	log_info("streaming server on %s", httpd_url(s->httpd));
	return s;
}

void streaming_server_free(StreamingServer *s)
{
	if (s == NULL)
		return;
	/* The server itself goes once its last session finished. */
	if (s->httpd)
		httpd_stop(s->httpd);
	/* Wake every session: the eventfd stays readable from now on. */
	if (s->env.stop_fd >= 0) {
		guint64 one = 1;
		if (write(s->env.stop_fd, &one, sizeof one) < 0)
			log_debug("waking sessions: %m");
	}
	gint64 end = g_get_monotonic_time() + 3 * G_USEC_PER_SEC;
	g_mutex_lock(&s->lock);
	while (s->live > 0 && g_cond_wait_until(&s->idle, &s->lock, end))
		;
	guint left = s->live;
	g_mutex_unlock(&s->lock);
	if (left > 0) {
		/* Their threads still use s: leave it to the process exit. */
		log_info("%u streaming sessions still ending", left);
		return;
	}
	g_clear_pointer(&s->tokens, token_store_free);
	if (s->env.stop_fd >= 0)
		close(s->env.stop_fd);
	g_mutex_clear(&s->lock);
	g_cond_clear(&s->idle);
	g_free(s);
}

static char *url_for(StreamingServer *s, StreamRequest *r)
{
	static const char *const paths[] = {
		[STREAM_EXEC] = "exec",
		[STREAM_ATTACH] = "attach",
		[STREAM_PORTFORWARD] = "portforward",
	};
	g_autofree char *token =
		token_store_add(s->tokens, r->kind, r, stream_request_free);
	return g_strdup_printf("%s/%s/%s", httpd_url(s->httpd), paths[r->kind],
			       token);
}

char *streaming_exec_url(StreamingServer *s, const char *container_id,
			 char *const *cmd, gsize n_cmd, gboolean tty,
			 gboolean in, gboolean out, gboolean err)
{
	StreamRequest *r = g_new0(StreamRequest, 1);
	r->kind = STREAM_EXEC;
	r->id = g_strdup(container_id);
	r->cmd = g_new0(char *, n_cmd + 1);
	for (gsize i = 0; i < n_cmd; i++)
		r->cmd[i] = g_strdup(cmd[i]);
	r->tty = tty;
	r->in = in;
	r->out = out;
	r->err = err;
	return url_for(s, r);
}

char *streaming_attach_url(StreamingServer *s, const char *container_id,
			   gboolean tty, gboolean in, gboolean out,
			   gboolean err)
{
	StreamRequest *r = g_new0(StreamRequest, 1);
	r->kind = STREAM_ATTACH;
	r->id = g_strdup(container_id);
	r->tty = tty;
	r->in = in;
	r->out = out;
	r->err = err;
	return url_for(s, r);
}

char *streaming_portforward_url(StreamingServer *s, const char *pod_id,
				const gint32 *ports, gsize n_ports)
{
	StreamRequest *r = g_new0(StreamRequest, 1);
	r->kind = STREAM_PORTFORWARD;
	r->id = g_strdup(pod_id);
	r->ports = g_array_sized_new(FALSE, FALSE, sizeof(gint32), n_ports);
	g_array_append_vals(r->ports, ports, n_ports);
	return url_for(s, r);
}
