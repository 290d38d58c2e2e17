/* The families of berth's metrics, the hooks that feed them, and the
 * process figures read from /proc/self when scraped. */
#include "util/berth-metrics.h"
#include "util/error.h"

#include <dirent.h>
#include <string.h>
#include <unistd.h>

typedef struct {
	MetricsRegistry *registry;
	MetricFamily *rpc_total;
	MetricFamily *rpc_seconds;
	MetricFamily *pulls;
	MetricSeries *pull_seconds;
	MetricSeries *pull_bytes;
	MetricFamily *cni_seconds;
	MetricFamily *runtime_seconds;
	MetricSeries *oom_kills;
	MetricSeries *monitors_lost;
	MetricSeries *recovered_pods;
	MetricSeries *recovered_containers;
	MetricSeries *recovery_seconds;
	MetricSeries *rss;
	MetricSeries *fds;
	MetricSeries *threads;
	MetricSeries *start_time;
} BerthMetrics;

static BerthMetrics *the_set;

static BerthMetrics *set_get(void)
{
	return g_atomic_pointer_get(&the_set);
}

/* grpc-go's names of the status codes, as Prometheus dashboards know
 * them from go-grpc-prometheus. */
static const char *const code_names[] = {
	"OK",
	"Canceled",
	"Unknown",
	"InvalidArgument",
	"DeadlineExceeded",
	"NotFound",
	"AlreadyExists",
	"PermissionDenied",
	"ResourceExhausted",
	"FailedPrecondition",
	"Aborted",
	"OutOfRange",
	"Unimplemented",
	"Internal",
	"Unavailable",
	"DataLoss",
	"Unauthenticated",
};

static const char *code_name(int code)
{
	if (code < 0 || code >= (int)G_N_ELEMENTS(code_names))
		return "Unknown";
	return code_names[code];
}

/* --- process figures ----------------------------------------------------- */

static guint count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (d == NULL)
		return 0;
	guint n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n > 0 ? n - 1 : 0; /* not the directory's own fd */
}

/* Field n (1-based, as proc(5) counts) of /proc/self/stat: after the
 * command in parentheses, which may hold spaces. */
static gint64 stat_field(const char *stat, guint n)
{
	const char *p = strrchr(stat, ')');
	if (p == NULL || n < 3)
		return -1;
	p++;
	for (guint i = 3; i <= n; i++) {
		while (*p == ' ')
			p++;
		if (i == n)
			return g_ascii_strtoll(p, NULL, 10);
		while (*p && *p != ' ')
			p++;
	}
	return -1;
}

static void collect_process(gpointer data)
{
	BerthMetrics *m = data;
	g_autofree char *stat = NULL;
	if (!g_file_get_contents("/proc/self/stat", &stat, NULL, NULL))
		return;
	long page = sysconf(_SC_PAGESIZE);
	metric_set(m->rss, (double)stat_field(stat, 24) * (double)page);
	metric_set(m->threads, (double)stat_field(stat, 20));
	metric_set(m->fds, count_fds());
}

/* Seconds since the epoch at which this process started. */
static double process_start_time(void)
{
	g_autofree char *stat = NULL;
	g_autofree char *uptime = NULL;
	if (!g_file_get_contents("/proc/self/stat", &stat, NULL, NULL) ||
	    !g_file_get_contents("/proc/uptime", &uptime, NULL, NULL))
		return 0;
	double up = g_ascii_strtod(uptime, NULL);
	double started = (double)stat_field(stat, 22) / sysconf(_SC_CLK_TCK);
	double now = g_get_real_time() / 1e6;
	return now - up + started;
}

/* --- the set ------------------------------------------------------------- */

static const double rpc_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
				    0.05,   0.1,   0.25,   0.5,	  1,	2.5,
				    5,	    10,	   30,	   60,	  120};
static const double pull_bounds[] = {0.1, 0.25, 0.5, 1,	  2.5, 5,
				     10,  30,	60,  120, 300, 600};
static const double exec_bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
				     0.5,   1,	  2.5,	 5,    10,  30};

static MetricSeries *gauge(MetricsRegistry *r, const char *name,
			   const char *help)
{
	return metric_only(metrics_gauge_new(r, name, help, NULL));
}

static MetricSeries *counter(MetricsRegistry *r, const char *name,
			     const char *help)
{
	return metric_only(metrics_counter_new(r, name, help, NULL));
}

static void set_grpc(BerthMetrics *m, MetricsRegistry *r)
{
	static const char *const mc[] = {"method", "code", NULL};
	static const char *const method[] = {"method", NULL};
	m->rpc_total = metrics_counter_new(
		r, "berth_grpc_requests_total",
		"CRI gRPC calls answered, by method and status code.", mc);
	m->rpc_seconds = metrics_histogram_new(
		r, "berth_grpc_request_duration_seconds",
		"Time from a CRI call's arrival to its reply (to its end for "
		"a server stream).",
		method, rpc_bounds, G_N_ELEMENTS(rpc_bounds), 1e-6);
}

static void set_images(BerthMetrics *m, MetricsRegistry *r)
{
	static const char *const result[] = {"result", NULL};
	m->pulls = metrics_counter_new(
		r, "berth_image_pulls_total",
		"Image downloads ended: result is success or the failure's "
		"status code.",
		result);
	m->pull_seconds = metric_only(metrics_histogram_new(
		r, "berth_image_pull_duration_seconds",
		"Duration of image downloads, failed ones included.", NULL,
		pull_bounds, G_N_ELEMENTS(pull_bounds), 1e-6));
	m->pull_bytes =
		counter(r, "berth_image_pull_bytes_total",
			"Bytes of image layers received from registries.");
}

static void set_children(BerthMetrics *m, MetricsRegistry *r)
{
	static const char *const cni[] = {"plugin", "command", NULL};
	static const char *const rt[] = {"runtime", "operation", NULL};
	m->cni_seconds = metrics_histogram_new(
		r, "berth_cni_plugin_duration_seconds",
		"Duration of CNI plugin runs, by plugin type and command.", cni,
		exec_bounds, G_N_ELEMENTS(exec_bounds), 1e-6);
	m->runtime_seconds = metrics_histogram_new(
		r, "berth_oci_runtime_duration_seconds",
		"Duration of OCI runtime runs, by runtime and operation.", rt,
		exec_bounds, G_N_ELEMENTS(exec_bounds), 1e-6);
	m->oom_kills = counter(r, "berth_container_oom_kills_total",
			       "Container exits that were OOM kills.");
	m->monitors_lost =
		counter(r, "berth_container_monitor_lost_total",
			"Containers whose monitor went away without "
			"recording an exit status (killed, or lost in a "
			"reboot).");
}

static void set_process(BerthMetrics *m, MetricsRegistry *r)
{
	m->recovered_pods = gauge(r, "berth_recovered_pods",
				  "Pod sandboxes recovered at start-up.");
	m->recovered_containers = gauge(r, "berth_recovered_containers",
					"Containers recovered at start-up.");
	m->recovery_seconds =
		gauge(r, "berth_recovery_duration_seconds",
		      "Time start-up took to recover pods and containers.");
	m->rss = gauge(r, "berth_process_resident_memory_bytes",
		       "Resident set size of berthd.");
	m->fds = gauge(r, "berth_process_open_fds",
		       "File descriptors berthd has open.");
	m->threads = gauge(r, "berth_process_threads", "Threads of berthd.");
	m->start_time = gauge(r, "berth_process_start_time_seconds",
			      "When berthd started, in seconds since the "
			      "epoch.");
	metric_set(m->start_time, process_start_time());
	metrics_registry_add_collector(r, collect_process, m);
}

MetricsRegistry *berth_metrics_enable(void)
{
	BerthMetrics *m = set_get();
	if (m != NULL)
		return m->registry;
	m = g_new0(BerthMetrics, 1);
	m->registry = metrics_registry_new();
	set_grpc(m, m->registry);
	set_images(m, m->registry);
	set_children(m, m->registry);
	set_process(m, m->registry);
	g_atomic_pointer_set(&the_set, m);
	return m->registry;
}

MetricsRegistry *berth_metrics_registry(void)
{
	BerthMetrics *m = set_get();
	return m ? m->registry : NULL;
}

void berth_metrics_disable(void)
{
	BerthMetrics *m = g_atomic_pointer_exchange(&the_set, NULL);
	if (m == NULL)
		return;
	metrics_registry_free(m->registry);
	g_free(m);
}

/* --- hooks --------------------------------------------------------------- */

static guint64 usec_raw(gint64 usec)
{
	return usec > 0 ? (guint64)usec : 0;
}

void berth_metrics_rpc(const char *method, int code, gint64 usec)
{
	BerthMetrics *m = set_get();
	if (m == NULL)
		return;
	const char *mc[] = {method, code_name(code), NULL};
	const char *only[] = {method, NULL};
	metric_add(metric_series(m->rpc_total, mc), 1);
	metric_observe(metric_series(m->rpc_seconds, only), usec_raw(usec));
}

void berth_metrics_image_pull(const GError *error, gint64 usec)
{
	BerthMetrics *m = set_get();
	if (m == NULL)
		return;
	int code = error == NULL		  ? 0
		   : error->domain == BERTH_ERROR ? error->code
						  : BERTH_ERROR_UNKNOWN;
	const char *result[] = {code == 0 ? "success" : code_name(code), NULL};
	metric_add(metric_series(m->pulls, result), 1);
	metric_observe(m->pull_seconds, usec_raw(usec));
}

void berth_metrics_image_bytes(guint64 n)
{
	BerthMetrics *m = set_get();
	if (m != NULL)
		metric_add(m->pull_bytes, n);
}

void berth_metrics_cni_call(const char *plugin, const char *command,
			    gint64 usec)
{
	BerthMetrics *m = set_get();
	if (m == NULL)
		return;
	const char *v[] = {plugin, command, NULL};
	metric_observe(metric_series(m->cni_seconds, v), usec_raw(usec));
}

void berth_metrics_runtime_call(const char *runtime, const char *operation,
				gint64 usec)
{
	BerthMetrics *m = set_get();
	if (m == NULL)
		return;
	const char *v[] = {runtime, operation, NULL};
	metric_observe(metric_series(m->runtime_seconds, v), usec_raw(usec));
}

void berth_metrics_oom_kill(void)
{
	BerthMetrics *m = set_get();
	if (m != NULL)
		metric_add(m->oom_kills, 1);
}

void berth_metrics_monitor_lost(void)
{
	BerthMetrics *m = set_get();
	if (m != NULL)
		metric_add(m->monitors_lost, 1);
}

void berth_metrics_recovered(guint pods, guint containers, gint64 usec)
{
	BerthMetrics *m = set_get();
	if (m == NULL)
		return;
	metric_set(m->recovered_pods, pods);
	metric_set(m->recovered_containers, containers);
	metric_set(m->recovery_seconds, usec / 1e6);
}
