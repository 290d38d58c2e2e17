/* The latency scenarios of berthctl bench: version, pod, container,
 * start-to-running, userns, churn, density, metrics, pull, exec, storm. Each
 * one cleans up what it made, whether it succeeds or not. */
#include "client/bench.h"
#include "util/error.h"

#include <string.h>

static guint count_or(Bench *b, guint dflt)
{
	return b->o.n ? b->o.n : dflt;
}

/* --- version ---------------------------------------------------------------
 */

static gboolean job_version(Bench *b, CtlStub *stub, guint i, gpointer data,
			    GError **error)
{
	(void)i;
	CtlSamples *s = data;
	Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	double ms;
	ProtobufCMessage *r = bench_call(b, stub, "Version", &req, &ms, error);
	if (r == NULL)
		return FALSE;
	protobuf_c_message_free_unpacked(r, NULL);
	ctl_samples_add(s, ms);
	return TRUE;
}

static gboolean sample_variant(Bench *b, const char *scenario,
			       const char *variant, guint threads, guint n,
			       BenchJob job, gpointer data_extra,
			       GError **error);

gboolean bench_version(Bench *b, GError **error)
{
	guint n = count_or(b, 1000);
	return sample_variant(b, "version", "sequential", 1, n, job_version,
			      NULL, error) &&
	       sample_variant(b, "version", "concurrent-8", 8, n, job_version,
			      NULL, error);
}

/* Jobs whose data is just the samples, plus an optional extra pointer. */
typedef struct {
	CtlSamples s;
	gpointer extra;
} Sampled;

static gboolean sample_variant(Bench *b, const char *scenario,
			       const char *variant, guint threads, guint n,
			       BenchJob job, gpointer extra, GError **error)
{
	Sampled d = {.extra = extra};
	ctl_samples_init(&d.s);
	double wall;
	/* The job sees &d.s first: Sampled starts with the samples. */
	gboolean ok = bench_parallel(b, threads, n, job, &d, &wall, error);
	if (ok)
		bench_result(b, scenario, variant, &d.s, wall);
	ctl_samples_clear(&d.s);
	return ok;
}

/* --- pod --------------------------------------------------------------------
 */

typedef struct {
	CtlSamples s;
	BenchPod *pods;
	char **ctrs;
	BenchPod *pod; /* the one pod of container scenarios */
} PodJobs;

static gboolean job_pod_run(Bench *b, CtlStub *stub, guint i, gpointer data,
			    GError **error)
{
	PodJobs *d = data;
	double ms;
	if (!bench_pod_run(b, stub, &d->pods[i], &ms, error))
		return FALSE;
	ctl_samples_add(&d->s, ms);
	return TRUE;
}

static gboolean job_pod_stop(Bench *b, CtlStub *stub, guint i, gpointer data,
			     GError **error)
{
	PodJobs *d = data;
	double ms;
	if (!bench_pod_stop(b, stub, &d->pods[i], &ms, error))
		return FALSE;
	ctl_samples_add(&d->s, ms);
	return TRUE;
}

static gboolean job_pod_remove(Bench *b, CtlStub *stub, guint i, gpointer data,
			       GError **error)
{
	PodJobs *d = data;
	double ms;
	if (!bench_pod_remove(b, stub, &d->pods[i], &ms, error))
		return FALSE;
	ctl_samples_add(&d->s, ms);
	return TRUE;
}

/* One phase over n items: fresh samples, one result row. */
static gboolean phase(Bench *b, PodJobs *d, const char *scenario,
		      const char *variant, guint threads, guint n, BenchJob job,
		      GError **error)
{
	ctl_samples_init(&d->s);
	double wall;
	gboolean ok = bench_parallel(b, threads, n, job, d, &wall, error);
	if (ok)
		bench_result(b, scenario, variant, &d->s, wall);
	ctl_samples_clear(&d->s);
	return ok;
}

/* run, stop and remove of n pods; with shared_pid their containers would
 * share one PID namespace (the pods with an infra process), and the
 * variants are named run-shared-pid, ... */
static gboolean pod_round(Bench *b, guint n, gboolean shared_pid,
			  GError **error)
{
	PodJobs d = {.pods = g_new0(BenchPod, n)};
	for (guint i = 0; i < n; i++)
		d.pods[i].shared_pid = shared_pid;
	const char *sfx = shared_pid ? "-shared-pid" : "";
	g_autofree char *run = g_strconcat("run", sfx, NULL);
	g_autofree char *stop = g_strconcat("stop", sfx, NULL);
	g_autofree char *rm = g_strconcat("remove", sfx, NULL);
	gboolean ok = phase(b, &d, "pod", run, 1, n, job_pod_run, error) &&
		      phase(b, &d, "pod", stop, 1, n, job_pod_stop, error) &&
		      phase(b, &d, "pod", rm, 1, n, job_pod_remove, error);
	bench_pods_cleanup(b, d.pods, n);
	g_free(d.pods);
	return ok;
}

gboolean bench_pod(Bench *b, GError **error)
{
	guint n = count_or(b, 20);
	return pod_round(b, n, FALSE, error) && pod_round(b, n, TRUE, error);
}

/* --- container ----------------------------------------------------------- */

static gboolean job_ctr_create(Bench *b, CtlStub *stub, guint i, gpointer data,
			       GError **error)
{
	PodJobs *d = data;
	double ms;
	d->ctrs[i] = bench_ctr_create(b, stub, d->pod, &ms, error);
	if (d->ctrs[i] == NULL)
		return FALSE;
	ctl_samples_add(&d->s, ms);
	return TRUE;
}

#define CTR_JOB(fn, op)                                                        \
	static gboolean fn(Bench *b, CtlStub *stub, guint i, gpointer data,    \
			   GError **error)                                     \
	{                                                                      \
		PodJobs *d = data;                                             \
		double ms;                                                     \
		if (!op(b, stub, d->ctrs[i], &ms, error))                      \
			return FALSE;                                          \
		ctl_samples_add(&d->s, ms);                                    \
		return TRUE;                                                   \
	}

CTR_JOB(job_ctr_start, bench_ctr_start)
CTR_JOB(job_ctr_stop, bench_ctr_stop)
CTR_JOB(job_ctr_remove, bench_ctr_remove)

gboolean bench_container(Bench *b, GError **error)
{
	guint n = count_or(b, 20);
	BenchPod pod = {0};
	PodJobs d = {.pod = &pod, .ctrs = g_new0(char *, n + 1)};
	gboolean ok =
		bench_pod_run(b, b->ctx->stub, &pod, NULL, error) &&
		phase(b, &d, "container", "create", 1, n, job_ctr_create,
		      error) &&
		phase(b, &d, "container", "start", 1, n, job_ctr_start,
		      error) &&
		phase(b, &d, "container", "stop", 1, n, job_ctr_stop, error) &&
		phase(b, &d, "container", "remove", 1, n, job_ctr_remove,
		      error);
	bench_pods_cleanup(b, &pod, 1);
	g_strfreev(d.ctrs);
	return ok;
}

/* --- start-to-running ---------------------------------------------------- */

static gboolean job_start_to_running(Bench *b, CtlStub *stub, guint i,
				     gpointer data, GError **error)
{
	PodJobs *d = data;
	double t0 = ctl_now_ms();
	g_autofree char *id = NULL;
	if (!bench_pod_with_ctr(b, stub, &d->pods[i], &id, error))
		return FALSE;
	ctl_samples_add(&d->s, ctl_now_ms() - t0);
	return TRUE;
}

gboolean bench_start_to_running(Bench *b, GError **error)
{
	guint n = count_or(b, 20);
	static const struct {
		const char *variant;
		guint threads;
	} variants[] = {{"sequential", 1}, {"concurrent-8", 8}};
	for (gsize v = 0; v < G_N_ELEMENTS(variants); v++) {
		PodJobs d = {.pods = g_new0(BenchPod, n)};
		gboolean ok = phase(b, &d, "start-to-running",
				    variants[v].variant, variants[v].threads, n,
				    job_start_to_running, error);
		bench_pods_cleanup(b, d.pods, n);
		g_free(d.pods);
		if (!ok)
			return FALSE;
	}
	return TRUE;
}

/* --- userns ----------------------------------------------------------------
 * RunPodSandbox and start-to-running of pods with a user namespace of their
 * own (hostUsers: false) beside the same of plain pods, the two variants
 * interleaved round by round so that drift on the host hits both. */

static gboolean userns_round(Bench *b, const char *what, gboolean userns,
			     guint n, BenchJob job, GError **error)
{
	PodJobs d = {.pods = g_new0(BenchPod, n)};
	for (guint i = 0; userns && i < n; i++)
		d.pods[i].userns_host = bench_userns_host(b);
	g_autofree char *variant =
		g_strdup_printf("%s-%s", what, userns ? "userns" : "plain");
	gboolean ok = phase(b, &d, "userns", variant, 1, n, job, error);
	bench_pods_cleanup(b, d.pods, n);
	g_free(d.pods);
	return ok;
}

gboolean bench_userns(Bench *b, GError **error)
{
	guint n = count_or(b, 20);
	for (int userns = 0; userns < 2; userns++)
		if (!userns_round(b, "run", userns, n, job_pod_run, error))
			return FALSE;
	for (int userns = 0; userns < 2; userns++)
		if (!userns_round(b, "start-to-running", userns, n,
				  job_start_to_running, error))
			return FALSE;
	return TRUE;
}

/* --- churn ------------------------------------------------------------------
 */

typedef struct {
	CtlSamples *s;
	BenchPod *pods; /* one per client */
	guint clients;
} Churn;

static gboolean job_churn(Bench *b, CtlStub *stub, guint i, gpointer data,
			  GError **error)
{
	Churn *c = data;
	BenchPod *pod = &c->pods[i % c->clients];
	double t0 = ctl_now_ms();
	g_autofree char *id = bench_ctr_create(b, stub, pod, NULL, error);
	if (id == NULL || !bench_ctr_start(b, stub, id, NULL, error) ||
	    !bench_ctr_stop(b, stub, id, NULL, error) ||
	    !bench_ctr_remove(b, stub, id, NULL, error))
		return FALSE;
	ctl_samples_add(c->s, ctl_now_ms() - t0);
	return TRUE;
}

static gboolean job_make_pod(Bench *b, CtlStub *stub, guint i, gpointer data,
			     GError **error)
{
	BenchPod *pods = data;
	return bench_pod_run(b, stub, &pods[i], NULL, error);
}

gboolean bench_churn_run(Bench *b, guint clients, guint cycles, CtlSamples *s,
			 double *wall_ms, GError **error)
{
	Churn c = {
		.s = s, .clients = clients, .pods = g_new0(BenchPod, clients)};
	gboolean ok = bench_parallel(b, MIN(clients, 4), clients, job_make_pod,
				     c.pods, NULL, error) &&
		      bench_parallel(b, clients, cycles, job_churn, &c, wall_ms,
				     error);
	bench_pods_cleanup(b, c.pods, clients);
	g_free(c.pods);
	return ok;
}

gboolean bench_churn(Bench *b, GError **error)
{
	guint k = b->o.clients ? b->o.clients : 8;
	guint n = count_or(b, 40);
	CtlSamples s;
	ctl_samples_init(&s);
	double wall;
	gboolean ok = bench_churn_run(b, k, n, &s, &wall, error);
	if (ok) {
		g_autofree char *variant = g_strdup_printf("clients-%u", k);
		bench_result(b, "churn", variant, &s, wall);
	}
	ctl_samples_clear(&s);
	return ok;
}

/* --- density ------------------------------------------------------------ */

typedef struct {
	CtlSamples s;
	BenchPod *pods;
	char **ctrs;
	guint n;
	/* The phase running (density_phase): its job, the calls made, and
	 * when it stops once it has PHASE_MIN_CALLS. */
	BenchJob job;
	guint calls;
	gint64 deadline;
} Density;

static gboolean job_dense_setup(Bench *b, CtlStub *stub, guint i, gpointer data,
				GError **error)
{
	Density *d = data;
	return bench_pod_with_ctr(b, stub, &d->pods[i], &d->ctrs[i], error);
}

/* One sampled call at this size. The reply is decoded into an arena: the
 * figure is the server's answer, and a malloc and a free for each field of
 * a thousand containers would add about a millisecond of the client's own
 * (the same for every server). */
static gboolean density_call(Bench *b, CtlStub *stub, Density *d,
			     const char *method, gconstpointer req,
			     GError **error)
{
	g_autoptr(Arena) a = arena_new();
	double ms;
	if (bench_call_in(b, stub, method, req, &ms, a, error) == NULL)
		return FALSE;
	ctl_samples_add(&d->s, ms);
	return TRUE;
}

/* A job that makes one argument-less list call of this size. */
#define LIST_JOB(fn, T, init, method)                                          \
	static gboolean fn(Bench *b, CtlStub *stub, guint i, gpointer data,    \
			   GError **error)                                     \
	{                                                                      \
		(void)i;                                                       \
		T req = init;                                                  \
		return density_call(b, stub, data, method, &req, error);       \
	}

LIST_JOB(job_list_ctrs, Runtime__V1__ListContainersRequest,
	 RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT, "ListContainers")
LIST_JOB(job_list_pods, Runtime__V1__ListPodSandboxRequest,
	 RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT, "ListPodSandbox")

static gboolean job_ctr_status(Bench *b, CtlStub *stub, guint i, gpointer data,
			       GError **error)
{
	Density *d = data;
	Runtime__V1__ContainerStatusRequest req =
		RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
	req.container_id = d->ctrs[i % d->n];
	return density_call(b, stub, d, "ContainerStatus", &req, error);
}

typedef struct {
	const char *variant;
	BenchJob job;
	guint divisor; /* samples / divisor calls (at least 10); 0: 1 */
} DensePhase;

/* A phase makes its calls for at most PHASE_BUDGET_S once it has made
 * PHASE_MIN_CALLS: some servers take seconds a call at 1,000 containers
 * (containerd 1.6's ListPodSandboxStats took about 45 s), and a hundred
 * of those would be most of an hour. */
#define PHASE_BUDGET_S 120
#define PHASE_MIN_CALLS 10

static gboolean job_budgeted(Bench *b, CtlStub *stub, guint i, gpointer data,
			     GError **error)
{
	Density *d = data;
	if (d->calls >= PHASE_MIN_CALLS && g_get_monotonic_time() > d->deadline)
		return TRUE;
	d->calls++;
	return d->job(b, stub, i, data, error);
}

static gboolean density_phase(Bench *b, Density *d, const char *scenario,
			      const DensePhase *ph, GError **error)
{
	guint samples = b->o.samples ? b->o.samples : 200;
	if (ph->divisor > 1)
		samples = MAX(samples / ph->divisor, MIN(samples, 10u));
	ctl_samples_init(&d->s);
	double wall;
	GError *err = NULL;
	d->job = ph->job;
	d->calls = 0;
	d->deadline = g_get_monotonic_time() + PHASE_BUDGET_S * G_USEC_PER_SEC;
	gboolean ok =
		bench_parallel(b, 1, samples, job_budgeted, d, &wall, &err);
	if (ok)
		bench_result(b, scenario, ph->variant, &d->s, wall);
	ctl_samples_clear(&d->s);
	/* A call the server does not have (containerd 1.6 and the metrics
	 * RPCs) leaves its figure out; the other phases still run. */
	if (!ok &&
	    g_error_matches(err, BERTH_ERROR, BERTH_ERROR_UNIMPLEMENTED)) {
		fprintf(stderr,
			"bench: %s: %s: not implemented by the server, "
			"skipped: %s\n",
			scenario, ph->variant, err->message);
		g_error_free(err);
		return TRUE;
	}
	if (err != NULL)
		g_propagate_error(error, err);
	return ok;
}

/* The latency at this size, not the wake of making it: the last pods'
 * monitors, runtimes and network set-up still use the CPUs for a while. */
static gboolean density_settle(void)
{
	bench_settle("density", 60);
	return TRUE;
}

/* N pods with one running container each, then each phase's calls one
 * at a time. */
static gboolean dense_scenario(Bench *b, const char *scenario, guint dflt,
			       const DensePhase *phases, gsize n_phases,
			       GError **error)
{
	Density d = {.n = count_or(b, dflt)};
	d.pods = g_new0(BenchPod, d.n);
	d.ctrs = g_new0(char *, d.n + 1);
	fprintf(stderr, "bench: %s: starting %u pods\n", scenario, d.n);
	gboolean ok =
		bench_parallel(b, 4, d.n, job_dense_setup, &d, NULL, error) &&
		density_settle();
	for (gsize i = 0; ok && i < n_phases; i++)
		ok = density_phase(b, &d, scenario, &phases[i], error);
	bench_pods_cleanup(b, d.pods, d.n);
	g_free(d.pods);
	g_strfreev(d.ctrs);
	return ok;
}

LIST_JOB(job_list_ctr_stats, Runtime__V1__ListContainerStatsRequest,
	 RUNTIME__V1__LIST_CONTAINER_STATS_REQUEST__INIT, "ListContainerStats")

LIST_JOB(job_list_pod_stats, Runtime__V1__ListPodSandboxStatsRequest,
	 RUNTIME__V1__LIST_POD_SANDBOX_STATS_REQUEST__INIT,
	 "ListPodSandboxStats")

/* The stats calls (kubelet's summary API, every 10 s or so) read every
 * container's cgroup: a tenth of the samples. */
gboolean bench_density(Bench *b, GError **error)
{
	static const DensePhase phases[] = {
		{"list-containers", job_list_ctrs, 0},
		{"list-pods", job_list_pods, 0},
		{"container-status", job_ctr_status, 0},
		{"list-container-stats", job_list_ctr_stats, 10},
		{"list-pod-stats", job_list_pod_stats, 10},
	};
	return dense_scenario(b, "density", 20, phases, G_N_ELEMENTS(phases),
			      error);
}

/* --- metrics -------------------------------------------------------------- */

LIST_JOB(job_list_pod_metrics, Runtime__V1__ListPodSandboxMetricsRequest,
	 RUNTIME__V1__LIST_POD_SANDBOX_METRICS_REQUEST__INIT,
	 "ListPodSandboxMetrics")

static gboolean job_scrape(Bench *b, CtlStub *stub, guint i, gpointer data,
			   GError **error)
{
	(void)stub;
	(void)i;
	Density *d = data;
	double ms;
	if (!bench_http_get(b->o.metrics_address, "/metrics", &ms, error))
		return FALSE;
	ctl_samples_add(&d->s, ms);
	return TRUE;
}

/* What kubelet's stats and metrics collection asks at this size, and,
 * given --metrics-address, a Prometheus scrape of the server. */
gboolean bench_metrics(Bench *b, GError **error)
{
	static const DensePhase phases[] = {
		{"list-container-stats", job_list_ctr_stats, 0},
		{"list-pod-stats", job_list_pod_stats, 0},
		{"list-pod-metrics", job_list_pod_metrics, 0},
		{"scrape", job_scrape, 0},
	};
	gsize n = G_N_ELEMENTS(phases) - (b->o.metrics_address ? 0 : 1);
	return dense_scenario(b, "metrics", 100, phases, n, error);
}

/* --- pull ----------------------------------------------------------------- */

static gboolean remove_image(Bench *b, const char *image, GError **error)
{
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = (char *)image;
	Runtime__V1__RemoveImageRequest req =
		RUNTIME__V1__REMOVE_IMAGE_REQUEST__INIT;
	req.image = &spec;
	GError *err = NULL;
	ProtobufCMessage *r =
		bench_call(b, b->ctx->stub, "RemoveImage", &req, NULL, &err);
	if (r != NULL) {
		protobuf_c_message_free_unpacked(r, NULL);
		return TRUE;
	}
	if (g_error_matches(err, BERTH_ERROR, BERTH_ERROR_NOT_FOUND)) {
		g_error_free(err);
		return TRUE;
	}
	g_propagate_error(error, err);
	return FALSE;
}

static gboolean pull_variant(Bench *b, const char *image, gboolean cold,
			     GError **error)
{
	guint runs = b->o.pull_runs ? b->o.pull_runs : 3;
	CtlSamples s;
	ctl_samples_init(&s);
	double wall = 0;
	gboolean ok = TRUE;
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = (char *)image;
	Runtime__V1__PullImageRequest req =
		RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	req.image = &spec;
	for (guint i = 0; ok && i < runs && !bench_interrupted; i++) {
		if (cold && !remove_image(b, image, error)) {
			ok = FALSE;
			break;
		}
		double ms;
		ProtobufCMessage *r = bench_call(b, b->ctx->stub, "PullImage",
						 &req, &ms, error);
		if (r == NULL) {
			ok = FALSE;
			break;
		}
		protobuf_c_message_free_unpacked(r, NULL);
		ctl_samples_add(&s, ms);
		wall += ms; /* removal is not part of the pull */
	}
	if (ok && bench_interrupted)
		ok = berth_throw(error, CANCELLED, "interrupted");
	if (ok)
		bench_result(b, "pull", cold ? "cold" : "warm", &s, wall);
	ctl_samples_clear(&s);
	return ok;
}

gboolean bench_pull(Bench *b, GError **error)
{
	const char *image = b->o.pull_image ? b->o.pull_image : b->o.image;
	return pull_variant(b, image, TRUE, error) &&
	       pull_variant(b, image, FALSE, error);
}

/* --- exec ------------------------------------------------------------------
 */

typedef struct {
	CtlSamples s;
	char *ctr;
} ExecJobs;

static gboolean job_exec(Bench *b, CtlStub *stub, guint i, gpointer data,
			 GError **error)
{
	(void)i;
	ExecJobs *d = data;
	char *cmd[] = {"true"};
	Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	req.container_id = d->ctr;
	req.cmd = cmd;
	req.n_cmd = 1;
	req.timeout = 10;
	double ms;
	Runtime__V1__ExecSyncResponse *r =
		bench_call(b, stub, "ExecSync", &req, &ms, error);
	if (r == NULL)
		return FALSE;
	int code = r->exit_code;
	protobuf_c_message_free_unpacked(&r->base, NULL);
	if (code != 0)
		return berth_throw(error, INTERNAL, "exec true: exit code %d",
				   code);
	ctl_samples_add(&d->s, ms);
	return TRUE;
}

gboolean bench_exec(Bench *b, GError **error)
{
	BenchPod pod = {0};
	ExecJobs d = {0};
	ctl_samples_init(&d.s);
	double wall;
	gboolean ok =
		bench_pod_with_ctr(b, b->ctx->stub, &pod, &d.ctr, error) &&
		bench_parallel(b, 1, count_or(b, 100), job_exec, &d, &wall,
			       error);
	if (ok)
		bench_result(b, "exec", "sync", &d.s, wall);
	ctl_samples_clear(&d.s);
	bench_pods_cleanup(b, &pod, 1);
	g_free(d.ctr);
	return ok;
}

/* --- storm -----------------------------------------------------------------
 * What a node sees after a reboot or a drain: n pods with one running
 * container each, started at once by 16 clients (--clients). Figures: the
 * time until all of them run (one sample: the wall time), each pod's own
 * start-to-running, and the latency of Version calls one more client makes
 * all the while, one every 10 ms, as kubelet's health checks would. */

typedef struct {
	Bench *b;
	CtlSamples s;
	gint stop;
	GError *error;
} Prober;

static gpointer probe_version(gpointer data)
{
	Prober *p = data;
	g_autoptr(CtlStub) stub = ctl_stub_new(p->b->ctx->ch);
	while (!g_atomic_int_get(&p->stop) && !bench_interrupted) {
		if (!job_version(p->b, stub, 0, &p->s, &p->error))
			break;
		g_usleep(10 * 1000);
	}
	return NULL;
}

gboolean bench_storm(Bench *b, GError **error)
{
	guint n = count_or(b, 100);
	guint clients = b->o.clients ? b->o.clients : 16;
	PodJobs d = {.pods = g_new0(BenchPod, n)};
	Prober p = {.b = b};
	ctl_samples_init(&d.s);
	ctl_samples_init(&p.s);
	GThread *th = g_thread_new("storm-version", probe_version, &p);
	double wall = 0;
	gboolean ok = bench_parallel(b, clients, n, job_start_to_running, &d,
				     &wall, error);
	g_atomic_int_set(&p.stop, 1);
	g_thread_join(th);
	if (ok && p.error != NULL) {
		g_propagate_prefixed_error(error, g_steal_pointer(&p.error),
					   "Version during the storm: ");
		ok = FALSE;
	}
	g_clear_error(&p.error);
	if (ok) {
		CtlSamples all;
		ctl_samples_init(&all);
		ctl_samples_add(&all, wall);
		g_autofree char *v = g_strdup_printf("all-running-%u", clients);
		bench_result(b, "storm", v, &all, wall);
		ctl_samples_clear(&all);
		bench_result(b, "storm", "each-pod", &d.s, wall);
		bench_result(b, "storm", "version-during", &p.s, wall);
	}
	ctl_samples_clear(&d.s);
	ctl_samples_clear(&p.s);
	bench_pods_cleanup(b, d.pods, n);
	g_free(d.pods);
	return ok;
}

/* --- the table ------------------------------------------------------------ */

static const struct {
	const char *name;
	BenchScenario fn;
} scenarios[] = {
	{"version", bench_version},
	{"pod", bench_pod},
	{"container", bench_container},
	{"start-to-running", bench_start_to_running},
	{"userns", bench_userns},
	{"metrics", bench_metrics},
	{"churn", bench_churn},
	{"density", bench_density},
	{"pull", bench_pull},
	{"exec", bench_exec},
	{"memory", bench_memory},
	{"storm", bench_storm},
};

BenchScenario bench_scenario_find(const char *name)
{
	for (gsize i = 0; i < G_N_ELEMENTS(scenarios); i++)
		if (strcmp(scenarios[i].name, name) == 0)
			return scenarios[i].fn;
	return NULL;
}
