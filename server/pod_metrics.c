/* ListMetricDescriptors, ListPodSandboxMetrics, StreamPodSandboxMetrics:
 * kubelet's replacement for cAdvisor's container metrics. Names, meanings
 * and labels follow what kubelet's /metrics/cadvisor shows; the values
 * come from the same cgroup files and namespace counters as the stats
 * RPCs. Containers and pods are copied out of the index first; no lock is
 * held while the files are read. */
#include "api.pb-c.h"
#include "network/netdev.h"
#include "sandbox/cgroup/cgroup.h"
#include "sandbox/container/ctrlife.h"
#include "sandbox/pod/podlife.h"
#include "server/reply.h"
#include "server/server.h"
#include "server/stats_cache.h"
#include "server/usage.h"
#include "util/du.h"

#include <string.h>

typedef enum {
	M_CPU_USAGE,
	M_CPU_USER,
	M_CPU_SYSTEM,
	M_CFS_PERIODS,
	M_CFS_THROTTLED_PERIODS,
	M_CFS_THROTTLED_TIME,
	M_MEM_USAGE,
	M_MEM_WORKING_SET,
	M_MEM_RSS,
	M_MEM_CACHE,
	M_MEM_MAPPED_FILE,
	M_MEM_SWAP,
	M_OOM_EVENTS,
	M_SPEC_MEM_LIMIT,
	M_SPEC_CPU_SHARES,
	M_SPEC_CPU_PERIOD,
	M_SPEC_CPU_QUOTA,
	M_PROCESSES,
	M_THREADS,
	M_START_TIME,
	M_LAST_SEEN,
	M_FS_USAGE,
	M_FS_LIMIT,
	M_FS_INODES,
	M_FS_INODES_FREE,
	M_FS_READ_BYTES,
	M_FS_WRITE_BYTES,
	M_FS_READS,
	M_FS_WRITES,
	M_NET_RX_BYTES,
	M_NET_TX_BYTES,
	M_NET_RX_PACKETS,
	M_NET_TX_PACKETS,
	M_NET_RX_ERRORS,
	M_NET_TX_ERRORS,
	M_NET_RX_DROPPED,
	M_NET_TX_DROPPED,
	M_PSI_CPU_WAITING,
	M_PSI_CPU_STALLED,
	M_PSI_MEM_WAITING,
	M_PSI_MEM_STALLED,
	M_PSI_IO_WAITING,
	M_PSI_IO_STALLED,
	M_COUNT
} MetricId;

/* The extra label after the common ones, if any. */
typedef enum { X_NONE, X_INTERFACE, X_DEVICE } MetricExtra;

typedef struct {
	const char *name;
	const char *help;
	gboolean counter;
	MetricExtra extra;
} MetricDef;

static const MetricDef defs[M_COUNT] = {
	[M_CPU_USAGE] = {"container_cpu_usage_seconds_total",
			 "Cumulative CPU time consumed, in whole seconds.",
			 TRUE},
	[M_CPU_USER] = {"container_cpu_user_seconds_total",
			"Cumulative user CPU time, in whole seconds.", TRUE},
	[M_CPU_SYSTEM] = {"container_cpu_system_seconds_total",
			  "Cumulative system CPU time, in whole seconds.",
			  TRUE},
	[M_CFS_PERIODS] = {"container_cpu_cfs_periods_total",
			   "Elapsed CFS enforcement periods.", TRUE},
	[M_CFS_THROTTLED_PERIODS] =
		{"container_cpu_cfs_throttled_periods_total",
		 "CFS periods in which the cgroup was "
		 "throttled.",
		 TRUE},
	[M_CFS_THROTTLED_TIME] = {"container_cpu_cfs_throttled_seconds_total",
				  "Total time the cgroup was throttled, in "
				  "whole seconds.",
				  TRUE},
	[M_MEM_USAGE] =
		{"container_memory_usage_bytes",
		 "Current memory usage, page cache included, in bytes."},
	[M_MEM_WORKING_SET] = {"container_memory_working_set_bytes",
			       "Current working set (usage minus inactive file "
			       "cache), in bytes."},
	[M_MEM_RSS] = {"container_memory_rss",
		       "Size of anonymous memory (RSS), in bytes."},
	[M_MEM_CACHE] = {"container_memory_cache",
			 "Page cache memory, in bytes."},
	[M_MEM_MAPPED_FILE] = {"container_memory_mapped_file",
			       "Size of memory-mapped files, in bytes."},
	[M_MEM_SWAP] = {"container_memory_swap", "Swap in use, in bytes."},
	[M_OOM_EVENTS] = {"container_oom_events_total",
			  "Count of out-of-memory kills in the cgroup.", TRUE},
	[M_SPEC_MEM_LIMIT] = {"container_spec_memory_limit_bytes",
			      "Memory limit, in bytes; 0 when unlimited."},
	[M_SPEC_CPU_SHARES] = {"container_spec_cpu_shares",
			       "CPU shares (on cgroup v2, from cpu.weight)."},
	[M_SPEC_CPU_PERIOD] = {"container_spec_cpu_period",
			       "CPU CFS period, in microseconds."},
	[M_SPEC_CPU_QUOTA] = {"container_spec_cpu_quota",
			      "CPU CFS quota per period, in microseconds; "
			      "only when limited."},
	[M_PROCESSES] = {"container_processes",
			 "Number of processes in the cgroup."},
	[M_THREADS] = {"container_threads",
		       "Number of tasks (threads) in the cgroup and below."},
	[M_START_TIME] = {"container_start_time_seconds",
			  "Start time, in seconds since the epoch."},
	[M_LAST_SEEN] = {"container_last_seen",
			 "Last time the runtime read this container's figures, "
			 "in seconds since the epoch."},
	[M_FS_USAGE] = {"container_fs_usage_bytes",
			"Bytes used by the container's writable layer.", FALSE,
			X_DEVICE},
	[M_FS_LIMIT] = {"container_fs_limit_bytes",
			"Size of the filesystem that holds the writable layer.",
			FALSE, X_DEVICE},
	[M_FS_INODES] = {"container_fs_inodes_total",
			 "Inodes of the filesystem that holds the writable "
			 "layer.",
			 FALSE, X_DEVICE},
	[M_FS_INODES_FREE] = {"container_fs_inodes_free",
			      "Free inodes of the filesystem that holds the "
			      "writable layer.",
			      FALSE, X_DEVICE},
	[M_FS_READ_BYTES] = {"container_fs_reads_bytes_total",
			     "Bytes read from the block device by the cgroup's "
			     "tasks.",
			     TRUE, X_DEVICE},
	[M_FS_WRITE_BYTES] = {"container_fs_writes_bytes_total",
			      "Bytes written to the block device by the "
			      "cgroup's tasks.",
			      TRUE, X_DEVICE},
	[M_FS_READS] = {"container_fs_reads_total",
			"Reads from the block device completed.", TRUE,
			X_DEVICE},
	[M_FS_WRITES] = {"container_fs_writes_total",
			 "Writes to the block device completed.", TRUE,
			 X_DEVICE},
	[M_NET_RX_BYTES] = {"container_network_receive_bytes_total",
			    "Cumulative bytes received.", TRUE, X_INTERFACE},
	[M_NET_TX_BYTES] = {"container_network_transmit_bytes_total",
			    "Cumulative bytes transmitted.", TRUE, X_INTERFACE},
	[M_NET_RX_PACKETS] = {"container_network_receive_packets_total",
			      "Cumulative packets received.", TRUE,
			      X_INTERFACE},
	[M_NET_TX_PACKETS] = {"container_network_transmit_packets_total",
			      "Cumulative packets transmitted.", TRUE,
			      X_INTERFACE},
	[M_NET_RX_ERRORS] = {"container_network_receive_errors_total",
			     "Cumulative errors while receiving.", TRUE,
			     X_INTERFACE},
	[M_NET_TX_ERRORS] = {"container_network_transmit_errors_total",
			     "Cumulative errors while transmitting.", TRUE,
			     X_INTERFACE},
	[M_NET_RX_DROPPED] = {"container_network_receive_packets_dropped_total",
			      "Cumulative packets dropped while receiving.",
			      TRUE, X_INTERFACE},
	[M_NET_TX_DROPPED] =
		{"container_network_transmit_packets_dropped_total",
		 "Cumulative packets dropped while transmitting.", TRUE,
		 X_INTERFACE},
	[M_PSI_CPU_WAITING] = {"container_pressure_cpu_waiting_seconds_total",
			       "Total time some tasks waited for CPU, in whole "
			       "seconds.",
			       TRUE},
	[M_PSI_CPU_STALLED] = {"container_pressure_cpu_stalled_seconds_total",
			       "Total time all tasks stalled on CPU, in whole "
			       "seconds.",
			       TRUE},
	[M_PSI_MEM_WAITING] =
		{"container_pressure_memory_waiting_seconds_total",
		 "Total time some tasks waited for memory, in "
		 "whole seconds.",
		 TRUE},
	[M_PSI_MEM_STALLED] =
		{"container_pressure_memory_stalled_seconds_total",
		 "Total time all tasks stalled on memory, in "
		 "whole seconds.",
		 TRUE},
	[M_PSI_IO_WAITING] = {"container_pressure_io_waiting_seconds_total",
			      "Total time some tasks waited for I/O, in whole "
			      "seconds.",
			      TRUE},
	[M_PSI_IO_STALLED] = {"container_pressure_io_stalled_seconds_total",
			      "Total time all tasks stalled on I/O, in whole "
			      "seconds.",
			      TRUE},
};

/* The labels every metric has, in this order (cAdvisor's, as kubelet
 * shows them): the container name in its pod, the cgroup path, the image,
 * the runtime's id, the pod's namespace and name. */
static const char *const common_keys[] = {"container", "id",	    "image",
					  "name",      "namespace", "pod"};
#define N_COMMON G_N_ELEMENTS(common_keys)
static const char *const extra_keys[] = {
	[X_INTERFACE] = "interface", [X_DEVICE] = "device"};

#define NS_PER_SEC G_GUINT64_CONSTANT(1000000000)

/* PSI figures exist only where a v2 hierarchy gives pressure files; the
 * set is fixed for the life of the process. */
static gboolean announced(MetricId m)
{
	return m < M_PSI_CPU_WAITING || cgroup_has_psi();
}

BERTH_UNARY(server_list_metric_descriptors)
{
	(void)ctx;
	(void)req;
	(void)error;
	Runtime__V1__ListMetricDescriptorsResponse *r =
		reply_new(call, Runtime__V1__ListMetricDescriptorsResponse,
			  runtime__v1__list_metric_descriptors_response__init);
	r->descriptors = arena_newv(cri_call_arena(call),
				    Runtime__V1__MetricDescriptor *, M_COUNT);
	for (int m = 0; m < M_COUNT; m++) {
		if (!announced(m))
			continue;
		Runtime__V1__MetricDescriptor *d =
			reply_new(call, Runtime__V1__MetricDescriptor,
				  runtime__v1__metric_descriptor__init);
		d->name = (char *)defs[m].name;
		d->help = (char *)defs[m].help;
		d->label_keys =
			arena_newv(cri_call_arena(call), char *, N_COMMON + 1);
		for (gsize k = 0; k < N_COMMON; k++)
			d->label_keys[d->n_label_keys++] =
				(char *)common_keys[k];
		if (defs[m].extra != X_NONE)
			d->label_keys[d->n_label_keys++] =
				(char *)extra_keys[defs[m].extra];
		r->descriptors[r->n_descriptors++] = d;
	}
	return &r->base;
}

/* Where the samples of one pod or container go. */
typedef struct {
	CriCall *call;
	char *labels[N_COMMON];
	GPtrArray *out; /* Runtime__V1__Metric* */
	gint64 ts;
} MetricSink;

static void emit(MetricSink *s, MetricId m, guint64 value, const char *extra)
{
	Runtime__V1__Metric *x = reply_new(s->call, Runtime__V1__Metric,
					   runtime__v1__metric__init);
	x->name = (char *)defs[m].name;
	x->timestamp = s->ts;
	x->metric_type = defs[m].counter ? RUNTIME__V1__METRIC_TYPE__COUNTER
					 : RUNTIME__V1__METRIC_TYPE__GAUGE;
	x->label_values =
		arena_newv(cri_call_arena(s->call), char *, N_COMMON + 1);
	for (gsize k = 0; k < N_COMMON; k++)
		x->label_values[x->n_label_values++] = s->labels[k];
	if (defs[m].extra != X_NONE)
		x->label_values[x->n_label_values++] =
			reply_str(s->call, extra ? extra : "");
	x->value = reply_u64(s->call, value);
	g_ptr_array_add(s->out, x);
}

static void emit_psi(MetricSink *s, const CgroupPsi *p, MetricId waiting)
{
	if (!p->present || !announced(waiting))
		return;
	if (p->some.present)
		emit(s, waiting, p->some.total_ns / NS_PER_SEC, NULL);
	if (p->full.present)
		emit(s, waiting + 1, p->full.total_ns / NS_PER_SEC, NULL);
}

/* What a cgroup gives, pod and container alike. */
static void emit_cgroup(MetricSink *s, const CgroupStats *cs)
{
	s->ts = cs->timestamp_ns;
	if (cs->has_cpu)
		emit(s, M_CPU_USAGE, cs->cpu_usage_ns / NS_PER_SEC, NULL);
	if (cs->has_cpu_split) {
		emit(s, M_CPU_USER, cs->cpu_user_ns / NS_PER_SEC, NULL);
		emit(s, M_CPU_SYSTEM, cs->cpu_system_ns / NS_PER_SEC, NULL);
	}
	if (cs->has_cfs) {
		emit(s, M_CFS_PERIODS, cs->cfs_periods, NULL);
		emit(s, M_CFS_THROTTLED_PERIODS, cs->cfs_throttled_periods,
		     NULL);
		emit(s, M_CFS_THROTTLED_TIME, cs->cfs_throttled_ns / NS_PER_SEC,
		     NULL);
	}
	if (cs->has_memory) {
		emit(s, M_MEM_USAGE, cs->memory_usage, NULL);
		emit(s, M_MEM_WORKING_SET, cs->memory_working_set, NULL);
		emit(s, M_MEM_RSS, cs->memory_rss, NULL);
		emit(s, M_MEM_CACHE, cs->memory_cache, NULL);
		emit(s, M_MEM_MAPPED_FILE, cs->memory_mapped_file, NULL);
		emit(s, M_SPEC_MEM_LIMIT, cs->memory_limit, NULL);
	}
	if (cs->has_swap)
		emit(s, M_MEM_SWAP, cs->swap_usage, NULL);
	if (cs->has_oom_kills)
		emit(s, M_OOM_EVENTS, cs->oom_kills, NULL);
	if (cs->has_cpu_spec) {
		emit(s, M_SPEC_CPU_SHARES, cs->cpu_shares, NULL);
		emit(s, M_SPEC_CPU_PERIOD, cs->cpu_period_us, NULL);
		if (cs->cpu_quota_us != 0)
			emit(s, M_SPEC_CPU_QUOTA, cs->cpu_quota_us, NULL);
	}
	if (cs->has_processes)
		emit(s, M_PROCESSES, cs->processes, NULL);
	if (cs->has_pids)
		emit(s, M_THREADS, cs->pids, NULL);
	emit_psi(s, &cs->psi_cpu, M_PSI_CPU_WAITING);
	emit_psi(s, &cs->psi_memory, M_PSI_MEM_WAITING);
	emit_psi(s, &cs->psi_io, M_PSI_IO_WAITING);
	emit(s, M_LAST_SEEN, (guint64)cs->timestamp_ns / NS_PER_SEC, NULL);
}

/* Block I/O per device; the device label is its node ("/dev/vda"). */
static void emit_io(MetricSink *s, const char *cgroup)
{
	CgroupIo io;
	if (cgroup == NULL || cgroup[0] == '\0' || !stats_cache_io(cgroup, &io))
		return;
	for (guint i = 0; i < io.n; i++) {
		const CgroupIoDevice *d = &io.dev[i];
		g_autofree char *dev =
			cgroup_io_device_name(d->major, d->minor);
		emit(s, M_FS_READ_BYTES, d->read_bytes, dev);
		emit(s, M_FS_WRITE_BYTES, d->write_bytes, dev);
		emit(s, M_FS_READS, d->reads, dev);
		emit(s, M_FS_WRITES, d->writes, dev);
	}
}

static void emit_network(MetricSink *s, const char *netns)
{
	if (netns == NULL || netns[0] == '\0')
		return;
	g_autoptr(GError) e = NULL;
	g_autoptr(GArray) ifaces = stats_cache_netns(netns, &e);
	if (ifaces == NULL) {
		g_debug("pod network metrics: %s", e->message);
		return;
	}
	for (guint i = 0; i < ifaces->len; i++) {
		const NetdevStats *n = &g_array_index(ifaces, NetdevStats, i);
		emit(s, M_NET_RX_BYTES, n->rx_bytes, n->name);
		emit(s, M_NET_TX_BYTES, n->tx_bytes, n->name);
		emit(s, M_NET_RX_PACKETS, n->rx_packets, n->name);
		emit(s, M_NET_TX_PACKETS, n->tx_packets, n->name);
		emit(s, M_NET_RX_ERRORS, n->rx_errors, n->name);
		emit(s, M_NET_TX_ERRORS, n->tx_errors, n->name);
		emit(s, M_NET_RX_DROPPED, n->rx_dropped, n->name);
		emit(s, M_NET_TX_DROPPED, n->tx_dropped, n->name);
	}
}

static void emit_writable_layer(MetricSink *s, const Container *c)
{
	g_autofree char *upper = NULL;
	guint64 bytes, inodes;
	if (!usage_writable_layer(c, &upper, &bytes, &inodes))
		return;
	(void)inodes; /* cAdvisor has no per-container inode figure */
	emit(s, M_FS_USAGE, bytes, upper);
	guint64 size, files, files_free;
	if (!berth_fs_capacity(upper, &size, &files, &files_free, NULL))
		return;
	emit(s, M_FS_LIMIT, size, upper);
	emit(s, M_FS_INODES, files, upper);
	emit(s, M_FS_INODES_FREE, files_free, upper);
}

typedef struct {
	CtrState state;
	gint64 started_at;
	gboolean oom_killed;
} CtrFacts;

static void read_facts(const Container *c, gpointer data)
{
	CtrFacts *f = data;
	f->state = c->state;
	f->started_at = c->started_at;
	f->oom_killed =
		c->reason != NULL && strcmp(c->reason, "OOMKilled") == 0;
}

static Runtime__V1__ContainerMetrics *
container_metrics(CriCall *call, const PodConfig *pc, Container *c)
{
	CtrFacts f = {0};
	container_read(c, read_facts, &f);
	if (f.state != CTR_CREATED && f.state != CTR_RUNNING &&
	    f.state != CTR_EXITED)
		return NULL;
	g_autoptr(GPtrArray) out = g_ptr_array_new();
	MetricSink s = {.call = call, .out = out};
	const char *labels[N_COMMON] = {c->config->name, c->cgroup,
					c->image_name,	 c->id,
					pc->namespace_,	 pc->name};
	for (gsize k = 0; k < N_COMMON; k++)
		s.labels[k] = reply_str(call, labels[k] ? labels[k] : "");
	CgroupStats cs;
	if (c->cgroup[0] != '\0' && stats_cache_cgroup(c->cgroup, &cs)) {
		emit_cgroup(&s, &cs);
		emit_io(&s, c->cgroup);
	} else if (f.oom_killed) {
		/* The cgroup is gone with the container; its monitor saw the
		 * kill. */
		s.ts = g_get_real_time() * 1000;
		emit(&s, M_OOM_EVENTS, 1, NULL);
	}
	if (f.started_at > 0)
		emit(&s, M_START_TIME, (guint64)f.started_at / NS_PER_SEC,
		     NULL);
	emit_writable_layer(&s, c);
	Runtime__V1__ContainerMetrics *m =
		reply_new(call, Runtime__V1__ContainerMetrics,
			  runtime__v1__container_metrics__init);
	m->container_id = reply_str(call, c->id);
	m->metrics = reply_items(call, out, &m->n_metrics);
	return m;
}

/* A pod's own figures (its cgroup, its network namespace) and each of
 * its containers'. ctrs: the pod's containers. */
static Runtime__V1__PodSandboxMetrics *pod_metrics(CriCall *call, Pod *p,
						   GPtrArray *ctrs)
{
	g_auto(PodSnapshot) snap = {0};
	pod_snapshot(p, &snap);
	g_autoptr(GPtrArray) out = g_ptr_array_new();
	MetricSink s = {.call = call, .out = out};
	const PodConfig *pc = p->config;
	const char *labels[N_COMMON] = {"",    snap.cgroup,    "",
					p->id, pc->namespace_, pc->name};
	for (gsize k = 0; k < N_COMMON; k++)
		s.labels[k] = reply_str(call, labels[k] ? labels[k] : "");
	CgroupStats cs;
	if (snap.cgroup != NULL && stats_cache_cgroup(snap.cgroup, &cs)) {
		emit_cgroup(&s, &cs);
		emit_io(&s, snap.cgroup);
	} else {
		s.ts = g_get_real_time() * 1000;
	}
	emit_network(&s, snap.netns);
	Runtime__V1__PodSandboxMetrics *m =
		reply_new(call, Runtime__V1__PodSandboxMetrics,
			  runtime__v1__pod_sandbox_metrics__init);
	m->pod_sandbox_id = reply_str(call, p->id);
	m->metrics = reply_items(call, out, &m->n_metrics);
	m->container_metrics =
		arena_newv(cri_call_arena(call),
			   Runtime__V1__ContainerMetrics *, ctrs->len + 1);
	for (guint i = 0; i < ctrs->len; i++) {
		Runtime__V1__ContainerMetrics *cm =
			container_metrics(call, pc, g_ptr_array_index(ctrs, i));
		if (cm != NULL)
			m->container_metrics[m->n_container_metrics++] = cm;
	}
	return m;
}

/* Every pod that is ready or not ready, with its containers. */
static GPtrArray *all_pods(BerthServer *s, CriCall *call)
{
	g_autoptr(GPtrArray) pods = store_list(pod_manager_store(s->pods));
	g_autoptr(GHashTable) by_pod = server_containers_by_pod(s);
	g_autoptr(GPtrArray) none = g_ptr_array_new();
	GPtrArray *items = g_ptr_array_new();
	for (guint i = 0; i < pods->len; i++) {
		Pod *p = g_ptr_array_index(pods, i);
		PodState st = pod_get_state(p);
		if (st != POD_READY && st != POD_NOTREADY)
			continue;
		GPtrArray *ctrs = g_hash_table_lookup(by_pod, p->id);
		g_ptr_array_add(items,
				pod_metrics(call, p, ctrs ? ctrs : none));
	}
	return items;
}

BERTH_UNARY(server_list_pod_sandbox_metrics)
{
	(void)req;
	(void)error;
	g_autoptr(GPtrArray) items = all_pods(ctx, call);
	Runtime__V1__ListPodSandboxMetricsResponse *r =
		reply_new(call, Runtime__V1__ListPodSandboxMetricsResponse,
			  runtime__v1__list_pod_sandbox_metrics_response__init);
	r->pod_metrics = reply_items(call, items, &r->n_pod_metrics);
	return &r->base;
}

BERTH_STREAM(server_stream_pod_sandbox_metrics)
{
	(void)req;
	g_autoptr(GPtrArray) items = all_pods(ctx, call);
	Runtime__V1__StreamPodSandboxMetricsResponse page =
		RUNTIME__V1__STREAM_POD_SANDBOX_METRICS_RESPONSE__INIT;
	return reply_stream_pages(call, &page.base,
				  (void ***)&page.pod_sandbox_metrics,
				  &page.n_pod_sandbox_metrics, items, error);
}
