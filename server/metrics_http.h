/* The operator's Prometheus endpoint: GET /metrics in the text format on
 * [berth.metrics] metrics_address, over plain HTTP, from a libmicrohttpd
 * daemon with one polling thread of its own. A scrape never runs on a CRI
 * thread and holds no lock while it formats. */
#pragma once

#include <glib.h>

#include "sandbox/container/ctrlife.h"
#include "util/metrics.h"

typedef struct MetricsHttp MetricsHttp;

/* Listen on address ("127.0.0.1:9090", "[::1]:9090"; port 0 picks a free
 * one) and serve r, with the containers counted by state when scraped;
 * over HTTPS when cert and key (PEM files) are given, else plain HTTP.
 * INVALID_ARGUMENT for an address that is not IP:port or an unreadable
 * certificate or key, UNAVAILABLE when it cannot be bound. containers must
 * outlive the endpoint. */
MetricsHttp *metrics_http_start(const char *address, const char *cert,
				const char *key, MetricsRegistry *r,
				CtrManager *containers, GError **error);
/* The port it listens on. */
guint metrics_http_port(MetricsHttp *h);
/* Stop serving; a scrape in progress finishes first. */
void metrics_http_stop(MetricsHttp *h);
