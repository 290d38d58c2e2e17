/* GET /metrics with libmicrohttpd. The streaming server's httpd.c is built
 * around upgrades, tokens and long sessions; a scrape is one short GET, so
 * this is a daemon of its own on the same library, with one thread: two
 * scrapes never run at once, and none ever blocks a CRI call. */
#include "server/metrics_http.h"
#include "util/error.h"
#include "util/log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

typedef struct {
	CtrManager *containers;
	MetricSeries *by_state[CTR_REMOVING + 1]; /* NULL: not listed */
} ContainerGauges;

struct MetricsHttp {
	struct MHD_Daemon *daemon;
	MetricsRegistry *registry;
	ContainerGauges *gauges; /* the registry's collector keeps it */
	guint port;
	char *cert; /* PEM text while the daemon runs; NULL: plain HTTP */
	char *key;
};

/* --- containers by state ------------------------------------------------- */

/* From the in-memory index: a snapshot of refs, then each state under
 * the container's own lock; nothing on disk or in cgroups. */
static void collect_containers(gpointer data)
{
	ContainerGauges *g = data;
	guint n[CTR_REMOVING + 1] = {0};
	g_autoptr(GPtrArray) all = ctr_manager_list(g->containers);
	for (guint i = 0; i < all->len; i++) {
		CtrState s = container_get_state(all->pdata[i]);
		if (s <= CTR_REMOVING)
			n[s]++;
	}
	for (guint s = 0; s <= CTR_REMOVING; s++) {
		if (g->by_state[s] != NULL)
			metric_set(g->by_state[s], n[s]);
	}
}

static ContainerGauges *container_gauges_new(MetricsRegistry *r,
					     CtrManager *containers)
{
	static const char *const labels[] = {"state", NULL};
	static const char *const names[] = {
		[CTR_CREATED] = "created",
		[CTR_RUNNING] = "running",
		[CTR_EXITED] = "exited",
	};
	MetricFamily *f = metrics_gauge_new(
		r, "berth_containers",
		"Containers berth holds, by state (CRI's CREATED, RUNNING, "
		"EXITED).",
		labels);
	ContainerGauges *g = g_new0(ContainerGauges, 1);
	g->containers = containers;
	for (guint s = 0; s < G_N_ELEMENTS(names); s++) {
		if (names[s] == NULL)
			continue;
		const char *v[] = {names[s], NULL};
		g->by_state[s] = metric_series(f, v);
	}
	metrics_registry_add_collector(r, collect_containers, g);
	return g;
}

/* --- answering ----------------------------------------------------------- */

static enum MHD_Result reply_text(struct MHD_Connection *c, unsigned status,
				  char *body, const char *type)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer_with_free_callback(
			strlen(body), body, g_free);
	if (r == NULL) {
		g_free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
				  const char *url, const char *method,
				  const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	(void)version;
	(void)upload_data;
	MetricsHttp *h = cls;
	static char seen;
	if (*con_cls == NULL) { /* headers only so far: answer at once */
		*con_cls = &seen;
	}
	*upload_data_size = 0;
	const char *plain = "text/plain; charset=utf-8";
	if (strcmp(url, "/metrics") != 0)
		return reply_text(
			c, MHD_HTTP_NOT_FOUND,
			g_strdup("not found: berth serves /metrics\n"), plain);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 &&
	    strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED,
				  g_strdup("method not allowed\n"), plain);
	GString *out = g_string_sized_new(16384);
	metrics_render(h->registry, out);
	return reply_text(c, MHD_HTTP_OK, g_string_free(out, FALSE),
			  METRICS_CONTENT_TYPE);
}

/* --- starting and stopping ----------------------------------------------- */

typedef union {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
} MetricsAddr;

/* "IPv4:port" or "[IPv6]:port" ("localhost" is 127.0.0.1). */
static gboolean parse_address(const char *address, MetricsAddr *out,
			      guint *port, GError **error)
{
	const char *colon = strrchr(address, ':');
	guint64 p = 0;
	if (colon == NULL ||
	    !g_ascii_string_to_unsigned(colon + 1, 10, 0, 65535, &p, NULL))
		return berth_throw(error, INVALID_ARGUMENT,
				   "metrics_address \"%s\" is not IP:port",
				   address);
	g_autofree char *host = g_strndup(address, colon - address);
	gsize len = strlen(host);
	memset(out, 0, sizeof *out);
	*port = (guint)p;
	if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
		host[len - 1] = '\0';
		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_port = htons(*port);
		if (inet_pton(AF_INET6, host + 1, &out->in6.sin6_addr) == 1)
			return TRUE;
	} else {
		out->in.sin_family = AF_INET;
		out->in.sin_port = htons(*port);
		const char *ip =
			strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
		if (inet_pton(AF_INET, ip, &out->in.sin_addr) == 1)
			return TRUE;
	}
	return berth_throw(error, INVALID_ARGUMENT,
			   "metrics_address \"%s\": \"%s\" is not an IP "
			   "address (IPv6 goes in brackets)",
			   address, host);
}

static void metrics_http_free(MetricsHttp *h)
{
	g_free(h->cert);
	g_free(h->key);
	g_free(h);
}

/* The PEM texts of cert and key, which libmicrohttpd reads from memory. */
static gboolean load_tls(MetricsHttp *h, const char *cert, const char *key,
			 GError **error)
{
	if (cert == NULL || cert[0] == '\0')
		return TRUE;
	if (!MHD_is_feature_supported(MHD_FEATURE_TLS))
		return berth_throw(error, FAILED_PRECONDITION,
				   "metrics over HTTPS: libmicrohttpd here "
				   "has no TLS support");
	g_autoptr(GError) local = NULL;
	if (!g_file_get_contents(cert, &h->cert, NULL, &local) ||
	    !g_file_get_contents(key, &h->key, NULL, &local))
		return berth_throw(error, INVALID_ARGUMENT,
				   "metrics_cert/metrics_key: %s",
				   local->message);
	return TRUE;
}

MetricsHttp *metrics_http_start(const char *address, const char *cert,
				const char *key, MetricsRegistry *r,
				CtrManager *containers, GError **error)
{
	MetricsAddr sa;
	guint port = 0;
	if (!parse_address(address, &sa, &port, error))
		return NULL;
	MetricsHttp *h = g_new0(MetricsHttp, 1);
	h->registry = r;
	if (!load_tls(h, cert, key, error)) {
		metrics_http_free(h);
		return NULL;
	}
	unsigned int flags = MHD_USE_AUTO_INTERNAL_THREAD;
	if (sa.sa.sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	if (h->cert != NULL)
		flags |= MHD_USE_TLS;
	errno = 0;
	/* The key and certificate come last: the option list ends at the
	 * first MHD_OPTION_END, which plain HTTP puts in their place. */
	h->daemon = MHD_start_daemon(
		flags, (uint16_t)port, NULL, NULL, on_request, h,
		MHD_OPTION_SOCK_ADDR, &sa.sa, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned int)10, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)32,
		h->cert ? MHD_OPTION_HTTPS_MEM_KEY : MHD_OPTION_END, h->key,
		MHD_OPTION_HTTPS_MEM_CERT, h->cert, MHD_OPTION_END);
	if (h->daemon == NULL) {
		int errsv = errno;
		metrics_http_free(h);
		return berth_throw_null(error, UNAVAILABLE,
					"metrics endpoint cannot listen on "
					"%s%s%s",
					address, errsv ? ": " : "",
					errsv ? g_strerror(errsv) : "");
	}
	const union MHD_DaemonInfo *info =
		MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : port;
	h->gauges = container_gauges_new(r, containers);
	log_info("metrics endpoint: GET /metrics on %s (port %u, %s)", address,
		 h->port, h->cert ? "HTTPS" : "plain HTTP");
	return h;
}

guint metrics_http_port(MetricsHttp *h)
{
	return h->port;
}

void metrics_http_stop(MetricsHttp *h)
{
	if (h == NULL)
		return;
	MHD_stop_daemon(h->daemon);
	metrics_registry_remove_collector(h->registry, collect_containers,
					  h->gauges);
	g_free(h->gauges);
	metrics_http_free(h);
}
