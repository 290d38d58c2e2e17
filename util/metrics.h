/* A small registry of Prometheus metrics: counters, gauges and histograms,
 * each a family with fixed label names whose series appear on first use,
 * and a renderer of the text exposition format 0.0.4. Updating a series is
 * a few atomic adds; only finding or creating one takes its family's lock.
 * Knows nothing of berth: util/berth-metrics.h holds berth's own metrics. */
#pragma once

#include <glib.h>

typedef struct MetricsRegistry MetricsRegistry;
typedef struct MetricFamily MetricFamily;
typedef struct MetricSeries MetricSeries;

MetricsRegistry *metrics_registry_new(void);
void metrics_registry_free(MetricsRegistry *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(MetricsRegistry, metrics_registry_free)

/* Families. name and help are copied; labels is NULL-terminated (NULL for
 * none: the family's one series exists at once, so a counter shows 0
 * before anything happened). Names are the caller's to get right. */
MetricFamily *metrics_counter_new(MetricsRegistry *r, const char *name,
				  const char *help, const char *const *labels);
MetricFamily *metrics_gauge_new(MetricsRegistry *r, const char *name,
				const char *help, const char *const *labels);
/* Observations are integers in a unit of the caller's (microseconds,
 * bytes); scale turns one into the exposed unit (1e-6 for seconds from
 * microseconds). bounds are the buckets' upper bounds in the exposed
 * unit, ascending; "+Inf" is added. */
MetricFamily *metrics_histogram_new(MetricsRegistry *r, const char *name,
				    const char *help, const char *const *labels,
				    const double *bounds, guint n_bounds,
				    double scale);

/* The series with these label values (as many as the family has labels),
 * created on first use. Lives as long as the registry. */
MetricSeries *metric_series(MetricFamily *f, const char *const *values);
/* The series of a family without labels. */
MetricSeries *metric_only(MetricFamily *f);

void metric_add(MetricSeries *s, guint64 n);	   /* counters */
void metric_set(MetricSeries *s, double v);	   /* gauges */
void metric_observe(MetricSeries *s, guint64 raw); /* histograms */

/* Called at the start of every render, to set gauges whose values are
 * read when scraped (process figures, objects by state). */
typedef void (*MetricsCollectFn)(gpointer data);
void metrics_registry_add_collector(MetricsRegistry *r, MetricsCollectFn fn,
				    gpointer data);
void metrics_registry_remove_collector(MetricsRegistry *r, MetricsCollectFn fn,
				       gpointer data);

/* Every family in name order, each with its HELP and TYPE lines and its
 * series in label-value order, appended to out. Collectors run first;
 * no family lock is held while text is formatted. A histogram's count is
 * the sum of its buckets as read, so a scrape is always consistent. */
void metrics_render(MetricsRegistry *r, GString *out);

/* The Content-Type of what metrics_render gives. */
#define METRICS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"
