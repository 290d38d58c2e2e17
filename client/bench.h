/* berthctl bench: CRI latency and memory scenarios against any CRI server
 * (berth, containerd, CRI-O), with results as a table and as JSON in the
 * schema docs/berthctl.md fixes. Everything a run creates carries the label
 * berthctl.bench/run=<run id> and is removed at the end, also on failure
 * and on SIGINT. */
#pragma once

#include "client/ctl.h"
#include "client/stats.h"

#include <signal.h>

#define BENCH_RUN_LABEL "berthctl.bench/run"
#define BENCH_NAMESPACE "berthctl-bench"

typedef struct {
	const char *image;
	const char *pull_image;
	const char *handler;
	const char *cgroup_parent;
	const char *pod_template;
	const char *ctr_template;
	const char *json_out;
	char **command; /* NULL: sleep 3600 */
	guint n;	/* 0: each scenario's default */
	guint samples;
	guint clients;
	guint pull_runs;
	guint settle_s; /* 0: start each scenario at once */
	int server_pid;
	const char *helper_exe;
	const char *helper_match;
	const char *metrics_address; /* host:port of a Prometheus endpoint */
} BenchOpts;

typedef struct {
	BenchOpts o;
	CtlCtx *ctx;
	char run_id[9];
	char *log_root;
	json_t *pod_tmpl; /* parsed --pod-config, or NULL */
	json_t *ctr_tmpl;
	json_t *results;
	gint seq;	   /* unique name counter (atomic) */
	gint64 op_timeout; /* ms, lifecycle calls */
} Bench;

typedef struct {
	char *id;
	Runtime__V1__PodSandboxConfig *cfg;
	gboolean stopped, removed;
	/* Non-zero: the pod asks for a user namespace of its own mapping
	 * 65536 ids from this host id (userns_options mode POD), and so do
	 * its containers. */
	guint32 userns_host;
	/* The pod's containers share one PID namespace (pid mode POD, as
	 * critest's benchmark pods and shareProcessNamespace). */
	gboolean shared_pid;
} BenchPod;

/* Set by SIGINT: loops stop taking new work, then clean up. */
extern volatile sig_atomic_t bench_interrupted;

/* --- operations (bench-ops.c) -------------------------------------------- */

/* One timed RPC; *ms gets its latency. */
gpointer bench_call(Bench *b, CtlStub *stub, const char *method,
		    gconstpointer req, double *ms, GError **error);
/* As bench_call, with the reply decoded into `arena` (see ctl_stub_call_in):
 * it lives as long as the arena. */
gpointer bench_call_in(Bench *b, CtlStub *stub, const char *method,
		       gconstpointer req, double *ms, Arena *arena,
		       GError **error);
gboolean bench_ensure_image(Bench *b, const char *image, GError **error);
/* GET path from address (host:port) over plain HTTP/1.0 and read the whole
 * reply, as a Prometheus scrape does; *ms from connect to the last byte.
 * A status other than 200 is an error. */
gboolean bench_http_get(const char *address, const char *path, double *ms,
			GError **error);
/* A fresh host range for a user-namespaced pod, never one another pod of
 * this run holds. */
guint32 bench_userns_host(Bench *b);
gboolean bench_pod_run(Bench *b, CtlStub *stub, BenchPod *pod, double *ms,
		       GError **error);
gboolean bench_pod_stop(Bench *b, CtlStub *stub, BenchPod *pod, double *ms,
			GError **error);
gboolean bench_pod_remove(Bench *b, CtlStub *stub, BenchPod *pod, double *ms,
			  GError **error);
/* Stop and remove what is left of pods[0..n), then free them. */
void bench_pods_cleanup(Bench *b, BenchPod *pods, guint n);
char *bench_ctr_create(Bench *b, CtlStub *stub, BenchPod *pod, double *ms,
		       GError **error);
gboolean bench_ctr_start(Bench *b, CtlStub *stub, const char *id, double *ms,
			 GError **error);
gboolean bench_ctr_stop(Bench *b, CtlStub *stub, const char *id, double *ms,
			GError **error);
gboolean bench_ctr_remove(Bench *b, CtlStub *stub, const char *id, double *ms,
			  GError **error);
gboolean bench_ctr_wait_running(Bench *b, CtlStub *stub, const char *id,
				GError **error);
/* A pod with one running container (density, memory, exec). */
gboolean bench_pod_with_ctr(Bench *b, CtlStub *stub, BenchPod *pod,
			    char **ctr_id, GError **error);
/* Remove every pod labelled with this run (the safety net at exit). */
void bench_cleanup_run(Bench *b);

typedef gboolean (*BenchJob)(Bench *b, CtlStub *stub, guint i, gpointer data,
			     GError **error);
/* Jobs 0..total-1 on `threads` threads, each with its own stub; stops at
 * the first failure or on SIGINT. *wall_ms is the elapsed time. */
gboolean bench_parallel(Bench *b, guint threads, guint total, BenchJob job,
			gpointer data, double *wall_ms, GError **error);

/* Append one latency result row. */
void bench_result(Bench *b, const char *scenario, const char *variant,
		  CtlSamples *s, double wall_ms);

/* --- scenarios (bench-scenarios.c, bench-memory.c) ------------------------ */

typedef gboolean (*BenchScenario)(Bench *b, GError **error);
BenchScenario bench_scenario_find(const char *name);
gboolean bench_version(Bench *b, GError **error);
gboolean bench_pod(Bench *b, GError **error);
gboolean bench_container(Bench *b, GError **error);
gboolean bench_start_to_running(Bench *b, GError **error);
gboolean bench_userns(Bench *b, GError **error);
gboolean bench_metrics(Bench *b, GError **error);
gboolean bench_churn(Bench *b, GError **error);
gboolean bench_density(Bench *b, GError **error);
gboolean bench_pull(Bench *b, GError **error);
gboolean bench_exec(Bench *b, GError **error);
gboolean bench_memory(Bench *b, GError **error);
gboolean bench_storm(Bench *b, GError **error);

/* Churn cycles on `clients` threads in pods made up front (shared by the
 * churn and memory scenarios). */
gboolean bench_churn_run(Bench *b, guint clients, guint cycles, CtlSamples *s,
			 double *wall_ms, GError **error);

/* Busy and total jiffies of all CPUs from the text of /proc/stat (idle
 * and iowait count as not busy). */
gboolean bench_cpu_parse(const char *stat_text, guint64 *busy, guint64 *total);

/* Wait, up to max_s seconds, until the CPUs are at least 90% idle over
 * half a second, and say on stderr how long that took (or that they never
 * were) for `what`. */
void bench_settle(const char *what, guint max_s);

/* Rss and Pss (KiB) from the text of /proc/PID/smaps_rollup. */
gboolean bench_smaps_parse(const char *text, guint64 *rss_kib,
			   guint64 *pss_kib);
