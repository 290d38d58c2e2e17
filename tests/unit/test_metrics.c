/* The metrics registry and its text renderer: the exact exposition of
 * counters, gauges and histograms (HELP/TYPE, label and help escaping,
 * cumulative buckets with le="+Inf", _sum/_count), the order of families
 * and series, collectors, number formatting, and many threads counting at
 * once. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <string.h>

#include "util/metrics.h"

static char *render(MetricsRegistry *r)
{
	GString *out = g_string_new(NULL);
	metrics_render(r, out);
	return g_string_free(out, FALSE);
}

static void test_counter_without_labels_shows_zero(void **state)
{
	(void)state;
	g_autoptr(MetricsRegistry) r = metrics_registry_new();
	MetricFamily *f =
		metrics_counter_new(r, "t_events_total", "Events seen.", NULL);
	g_autofree char *before = render(r);
	assert_string_equal(before, "# HELP t_events_total Events seen.\n"
				    "# TYPE t_events_total counter\n"
				    "t_events_total 0\n");
	metric_add(metric_only(f), 3);
	metric_add(metric_only(f), 1);
	g_autofree char *after = render(r);
	assert_non_null(strstr(after, "\nt_events_total 4\n"));
}

static void test_label_and_help_escaping(void **state)
{
	(void)state;
	g_autoptr(MetricsRegistry) r = metrics_registry_new();
	static const char *const labels[] = {"path", NULL};
	MetricFamily *f = metrics_counter_new(
		r, "t_x_total", "A \\ help\nwith \"quotes\".", labels);
	static const char *const v[] = {"a\\b\"c\nd", NULL};
	metric_add(metric_series(f, v), 1);
	g_autofree char *text = render(r);
	assert_string_equal(text,
			    "# HELP t_x_total A \\\\ help\\nwith \"quotes\".\n"
			    "# TYPE t_x_total counter\n"
			    "t_x_total{path=\"a\\\\b\\\"c\\nd\"} 1\n");
}

static void test_labelled_family_shows_series_in_value_order(void **state)
{
	(void)state;
	g_autoptr(MetricsRegistry) r = metrics_registry_new();
	static const char *const labels[] = {"method", "code", NULL};
	MetricFamily *f =
		metrics_counter_new(r, "t_rpc_total", "RPCs.", labels);
	g_autofree char *empty = render(r);
	assert_string_equal(empty, "# HELP t_rpc_total RPCs.\n"
				   "# TYPE t_rpc_total counter\n");
	static const char *const b_ok[] = {"B", "OK", NULL};
	static const char *const a_nf[] = {"A", "NotFound", NULL};
	static const char *const a_ok[] = {"A", "OK", NULL};
	metric_add(metric_series(f, b_ok), 1);
	metric_add(metric_series(f, a_nf), 2);
	metric_add(metric_series(f, a_ok), 5);
	/* The same values find the same series. */
	assert_ptr_equal(metric_series(f, a_ok), metric_series(f, a_ok));
	g_autofree char *text = render(r);
	assert_string_equal(text,
			    "# HELP t_rpc_total RPCs.\n"
			    "# TYPE t_rpc_total counter\n"
			    "t_rpc_total{method=\"A\",code=\"NotFound\"} 2\n"
			    "t_rpc_total{method=\"A\",code=\"OK\"} 5\n"
			    "t_rpc_total{method=\"B\",code=\"OK\"} 1\n");
}

static void test_null_value_is_empty(void **state)
{
	(void)state;
	g_autoptr(MetricsRegistry) r = metrics_registry_new();
	static const char *const labels[] = {"a", "b", NULL};
	MetricFamily *f = metrics_counter_new(r, "t_n_total", "N.", labels);
	static const char *const v[] = {NULL, "x", NULL};
	static const char *const w[] = {"", "x", NULL};
	metric_add(metric_series(f, v), 1);
	assert_ptr_equal(metric_series(f, v), metric_series(f, w));
	g_autofree char *text = render(r);
	assert_non_null(strstr(text, "\nt_n_total{a=\"\",b=\"x\"} 1\n"));
}

static void test_families_in_name_order(void **state)
{
	(void)state;
	g_autoptr(MetricsRegistry) r = metrics_registry_new();
	metrics_gauge_new(r, "t_b", "B.", NULL);
	metrics_counter_new(r, "t_c_total", "C.", NULL);
	metrics_gauge_new(r, "t_a", "A.", NULL);
	g_autofree char *text = render(r);
	const char *a = strstr(text, "# HELP t_a ");
	const char *b = strstr(text, "# HELP t_b ");
	const char *c = strstr(text, "# HELP t_c_total ");
	assert_true(a != NULL && b != NULL && c != NULL);
	assert_true(a < b && b < c);
	assert_ptr_equal(a, text);
}

static void test_histogram_buckets_sum_count(void **state)
{
	(void)state;
	g_autoptr(MetricsRegistry) r = metrics_registry_new();
	static const double bounds[] = {0.001, 0.01, 0.1, 1};
	static const char *const labels[] = {"op", NULL};
	MetricFamily *f = metrics_histogram_new(r, "t_seconds", "Latency.",
						labels, bounds, 4, 1e-6);
	static const char *const v[] = {"start", NULL};
	MetricSeries *s = metric_series(f, v);
	metric_observe(s, 1000);    /* exactly 0.001: the first bucket */
	metric_observe(s, 1001);    /* just above: the second */
	metric_observe(s, 50000);   /* 0.05 */
	metric_observe(s, 2500000); /* 2.5: only +Inf */
	g_autofree char *text = render(r);
	assert_string_equal(text,
			    "# HELP t_seconds Latency.\n"
			    "# TYPE t_seconds histogram\n"
			    "t_seconds_bucket{op=\"start\",le=\"0.001\"} 1\n"
			    "t_seconds_bucket{op=\"start\",le=\"0.01\"} 2\n"
			    "t_seconds_bucket{op=\"start\",le=\"0.1\"} 3\n"
			    "t_seconds_bucket{op=\"start\",le=\"1\"} 3\n"
			    "t_seconds_bucket{op=\"start\",le=\"+Inf\"} 4\n"
			    "t_seconds_sum{op=\"start\"} 2.552001\n"
			    "t_seconds_count{op=\"start\"} 4\n");
}

static void test_histogram_without_labels(void **state)
{
	(void)state;
	g_autoptr(MetricsRegistry) r = metrics_registry_new();
	static const double bounds[] = {1024, 1048576};
	MetricFamily *f = metrics_histogram_new(r, "t_bytes", "Sizes.", NULL,
						bounds, 2, 1);
	g_autofree char *empty = render(r);
	assert_string_equal(empty, "# HELP t_bytes Sizes.\n"
				   "# TYPE t_bytes histogram\n"
				   "t_bytes_bucket{le=\"1024\"} 0\n"
				   "t_bytes_bucket{le=\"1048576\"} 0\n"
				   "t_bytes_bucket{le=\"+Inf\"} 0\n"
				   "t_bytes_sum 0\n"
				   "t_bytes_count 0\n");
	metric_observe(metric_only(f), 2048);
	g_autofree char *text = render(r);
	assert_non_null(strstr(text, "t_bytes_bucket{le=\"1024\"} 0\n"
				     "t_bytes_bucket{le=\"1048576\"} 1\n"
				     "t_bytes_bucket{le=\"+Inf\"} 1\n"
				     "t_bytes_sum 2048\n"
				     "t_bytes_count 1\n"));
}

static void test_gauge_values(void **state)
{
	(void)state;
	g_autoptr(MetricsRegistry) r = metrics_registry_new();
	static const char *const labels[] = {"k", NULL};
	MetricFamily *f = metrics_gauge_new(r, "t_g", "G.", labels);
	static const char *const v[][2] = {
		{"a", NULL}, {"b", NULL}, {"c", NULL}, {"d", NULL}};
	metric_set(metric_series(f, v[0]), 12345678);
	metric_set(metric_series(f, v[1]), 0.1);
	metric_set(metric_series(f, v[2]), -2.5e-7);
	metric_set(metric_series(f, v[3]), 1.0 / 0.0);
	g_autofree char *text = render(r);
	assert_non_null(strstr(text, "t_g{k=\"a\"} 12345678\n"
				     "t_g{k=\"b\"} 0.1\n"
				     "t_g{k=\"c\"} -2.5e-07\n"
				     "t_g{k=\"d\"} +Inf\n"));
}

static void set_seven(gpointer data)
{
	metric_set(data, 7);
}

static void test_collector_runs_before_render(void **state)
{
	(void)state;
	g_autoptr(MetricsRegistry) r = metrics_registry_new();
	MetricFamily *f = metrics_gauge_new(r, "t_now", "Now.", NULL);
	metrics_registry_add_collector(r, set_seven, metric_only(f));
	g_autofree char *text = render(r);
	assert_non_null(strstr(text, "\nt_now 7\n"));
}

#define COUNTERS 8
#define ROUNDS 20000

typedef struct {
	MetricFamily *counter;
	MetricFamily *hist;
} Race;

static gpointer racer(gpointer data)
{
	Race *r = data;
	static const char *const even[] = {"even", NULL};
	static const char *const odd[] = {"odd", NULL};
	for (int i = 0; i < ROUNDS; i++) {
		metric_add(metric_series(r->counter, i % 2 ? odd : even), 1);
		metric_observe(metric_only(r->hist), (guint64)(i % 3));
	}
	return NULL;
}

static void test_concurrent_updates_and_renders(void **state)
{
	(void)state;
	g_autoptr(MetricsRegistry) reg = metrics_registry_new();
	static const char *const labels[] = {"kind", NULL};
	static const double bounds[] = {0, 1};
	Race r = {
		.counter = metrics_counter_new(reg, "t_n_total", "N.", labels),
		.hist = metrics_histogram_new(reg, "t_h", "H.", NULL, bounds, 2,
					      1),
	};
	GThread *th[COUNTERS];
	for (int i = 0; i < COUNTERS; i++)
		th[i] = g_thread_new("racer", racer, &r);
	for (int i = 0; i < 20; i++)
		g_free(render(reg));
	for (int i = 0; i < COUNTERS; i++)
		g_thread_join(th[i]);
	g_autofree char *text = render(reg);
	g_autofree char *want = g_strdup_printf("t_h_bucket{le=\"+Inf\"} %d\n",
						COUNTERS * ROUNDS);
	assert_non_null(strstr(text, want));
	g_autofree char *even = g_strdup_printf("t_n_total{kind=\"even\"} %d\n",
						COUNTERS * ROUNDS / 2);
	assert_non_null(strstr(text, even));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counter_without_labels_shows_zero),
		cmocka_unit_test(test_label_and_help_escaping),
		cmocka_unit_test(
			test_labelled_family_shows_series_in_value_order),
		cmocka_unit_test(test_null_value_is_empty),
		cmocka_unit_test(test_families_in_name_order),
		cmocka_unit_test(test_histogram_buckets_sum_count),
		cmocka_unit_test(test_histogram_without_labels),
		cmocka_unit_test(test_gauge_values),
		cmocka_unit_test(test_collector_runs_before_render),
		cmocka_unit_test(test_concurrent_updates_and_renders),
	};
	return cmocka_run_group_tests_name("metrics", tests, NULL, NULL);
}
