/* The CRI operations bench scenarios are made of: configs built from the
 * defaults or the user's templates with unique names, timed calls, the
 * parallel job runner, and clean-up. */
#include "client/bench.h"
#include "client/pbjson.h"
#include "util/error.h"
#include "util/fs.h"

#include <errno.h>
#include <netdb.h>
#include <sys/socket.h>
#include <unistd.h>
#include <string.h>
#include <sys/stat.h>

volatile sig_atomic_t bench_interrupted;

gpointer bench_call(Bench *b, CtlStub *stub, const char *method,
		    gconstpointer req, double *ms, GError **error)
{
	return bench_call_in(b, stub, method, req, ms, NULL, error);
}

gpointer bench_call_in(Bench *b, CtlStub *stub, const char *method,
		       gconstpointer req, double *ms, Arena *arena,
		       GError **error)
{
	gint64 t = b->op_timeout;
	if (strcmp(method, "PullImage") == 0 && !b->ctx->timeout_given)
		t = CTL_PULL_TIMEOUT_MS;
	double t0 = ctl_now_ms();
	gpointer r = ctl_stub_call_in(stub, method, req, t, arena, error);
	if (ms != NULL)
		*ms = ctl_now_ms() - t0;
	if (r == NULL)
		g_prefix_error(error, "%s: ", method);
	return r;
}

static gboolean call_free(Bench *b, CtlStub *stub, const char *method,
			  gconstpointer req, double *ms, GError **error)
{
	ProtobufCMessage *r = bench_call(b, stub, method, req, ms, error);
	if (r == NULL)
		return FALSE;
	protobuf_c_message_free_unpacked(r, NULL);
	return TRUE;
}

gboolean bench_ensure_image(Bench *b, const char *image, GError **error)
{
	Runtime__V1__ImageSpec spec = RUNTIME__V1__IMAGE_SPEC__INIT;
	spec.image = (char *)image;
	Runtime__V1__ImageStatusRequest req =
		RUNTIME__V1__IMAGE_STATUS_REQUEST__INIT;
	req.image = &spec;
	Runtime__V1__ImageStatusResponse *r =
		bench_call(b, b->ctx->stub, "ImageStatus", &req, NULL, error);
	if (r == NULL)
		return FALSE;
	gboolean present = r->image != NULL;
	protobuf_c_message_free_unpacked(&r->base, NULL);
	if (present)
		return TRUE;
	fprintf(stderr, "bench: pulling %s\n", image);
	Runtime__V1__PullImageRequest preq =
		RUNTIME__V1__PULL_IMAGE_REQUEST__INIT;
	preq.image = &spec;
	return call_free(b, b->ctx->stub, "PullImage", &preq, NULL, error);
}

guint32 bench_userns_host(Bench *b)
{
	guint n = (guint)g_atomic_int_add(&b->seq, 1) % 40000;
	return 0x40000000u + n * 65536u;
}

/* userns_options mode POD (0) with one uid and one gid range. */
static json_t *userns_json(guint32 host)
{
	return json_pack("{s:i, s:[{s:I, s:i, s:i}], s:[{s:I, s:i, s:i}]}",
			 "mode", RUNTIME__V1__NAMESPACE_MODE__POD, "uids",
			 "host_id", (json_int_t)host, "container_id", 0,
			 "length", 65536, "gids", "host_id", (json_int_t)host,
			 "container_id", 0, "length", 65536);
}

static void set_userns(json_t *j, guint32 host)
{
	if (host == 0)
		return;
	json_t *sc = json_object_get(json_object_get(j, "linux"),
				     "security_context");
	json_t *ns = json_object_get(sc, "namespace_options");
	if (ns != NULL)
		json_object_set_new(ns, "userns_options", userns_json(host));
}

gboolean bench_http_get(const char *address, const char *path, double *ms,
			GError **error)
{
	const char *colon = strrchr(address, ':');
	if (colon == NULL)
		return berth_throw(error, INVALID_ARGUMENT,
				   "metrics address \"%s\" is not host:port",
				   address);
	g_autofree char *host = g_strndup(address, colon - address);
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM};
	struct addrinfo *ai = NULL;
	int rc = getaddrinfo(host, colon + 1, &hints, &ai);
	if (rc != 0)
		return berth_throw(error, INVALID_ARGUMENT, "%s: %s", address,
				   gai_strerror(rc));
	double t0 = ctl_now_ms();
	autofd fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	gboolean ok = fd >= 0 && connect(fd, ai->ai_addr, ai->ai_addrlen) == 0;
	freeaddrinfo(ai);
	if (!ok)
		return berth_throw_errno(error, errno, "connect to %s",
					 address);
	g_autofree char *req = g_strdup_printf(
		"GET %s HTTP/1.0\r\nHost: %s\r\n\r\n", path, address);
	if (write(fd, req, strlen(req)) != (ssize_t)strlen(req))
		return berth_throw_errno(error, errno, "send to %s", address);
	g_autoptr(GString) reply = g_string_new(NULL);
	char buf[65536];
	ssize_t n;
	while ((n = read(fd, buf, sizeof buf)) > 0)
		g_string_append_len(reply, buf, n);
	if (n < 0)
		return berth_throw_errno(error, errno, "read from %s", address);
	*ms = ctl_now_ms() - t0;
	if (!g_str_has_prefix(reply->str, "HTTP/1.") ||
	    strncmp(reply->str + 8, " 200", 4) != 0)
		return berth_throw(error, UNAVAILABLE, "GET http://%s%s: %.40s",
				   address, path, reply->str);
	return TRUE;
}

/* Our fields over the template's: names, the run label, log dir. */
static json_t *pod_json(Bench *b, const char *name, const BenchPod *pod)
{
	json_t *j = b->pod_tmpl ? json_deep_copy(b->pod_tmpl) : json_object();
	g_autofree char *uid = g_strdup_printf("%s-uid", name);
	g_autofree char *logdir = g_build_filename(b->log_root, name, NULL);
	json_t *over = json_pack(
		"{s:{s:s,s:s,s:s,s:i},s:{s:s},s:s}", "metadata", "name", name,
		"namespace", BENCH_NAMESPACE, "uid", uid, "attempt", 0,
		"labels", BENCH_RUN_LABEL, b->run_id, "log_directory", logdir);
	if (json_object_get(j, "linux") == NULL)
		json_object_set_new(
			j, "linux",
			json_pack("{s:{s:{s:i}}}", "security_context",
				  "namespace_options", "pid",
				  RUNTIME__V1__NAMESPACE_MODE__CONTAINER));
	if (b->o.cgroup_parent != NULL)
		json_object_set_new(json_object_get(j, "linux"),
				    "cgroup_parent",
				    json_string(b->o.cgroup_parent));
	json_object_update_recursive(j, over);
	json_decref(over);
	if (pod->shared_pid) {
		json_t *shared =
			json_pack("{s:{s:{s:{s:i}}}}", "linux",
				  "security_context", "namespace_options",
				  "pid", RUNTIME__V1__NAMESPACE_MODE__POD);
		json_object_update_recursive(j, shared);
		json_decref(shared);
	}
	set_userns(j, pod->userns_host);
	return j;
}

static json_t *ctr_json(Bench *b, const char *name, guint32 userns_host)
{
	json_t *j = b->ctr_tmpl ? json_deep_copy(b->ctr_tmpl) : json_object();
	g_autofree char *log = g_strdup_printf("%s.log", name);
	json_t *over = json_pack("{s:{s:s,s:i},s:{s:s},s:{s:s},s:s}",
				 "metadata", "name", name, "attempt", 0,
				 "image", "image", b->o.image, "labels",
				 BENCH_RUN_LABEL, b->run_id, "log_path", log);
	json_object_update_recursive(j, over);
	json_decref(over);
	if (b->o.command != NULL || json_object_get(j, "command") == NULL) {
		json_t *cmd = json_array();
		if (b->o.command != NULL) {
			for (char **p = b->o.command; *p; p++)
				json_array_append_new(cmd, json_string(*p));
		} else {
			json_array_append_new(cmd, json_string("sleep"));
			json_array_append_new(cmd, json_string("3600"));
		}
		json_object_set_new(j, "command", cmd);
	}
	if (json_object_get(j, "linux") == NULL)
		json_object_set_new(
			j, "linux",
			json_pack("{s:{s:{s:i}}}", "security_context",
				  "namespace_options", "pid",
				  RUNTIME__V1__NAMESPACE_MODE__CONTAINER));
	set_userns(j, userns_host);
	return j;
}

gboolean bench_pod_run(Bench *b, CtlStub *stub, BenchPod *pod, double *ms,
		       GError **error)
{
	/* A DNS label: lowercase, digits, '-', at most 63 characters. */
	g_autofree char *name = g_strdup_printf("bench-%s-p%d", b->run_id,
						g_atomic_int_add(&b->seq, 1));
	g_autofree char *logdir = g_build_filename(b->log_root, name, NULL);
	if (g_mkdir_with_parents(logdir, 0755) != 0)
		return berth_throw_errno(error, errno, "mkdir %s", logdir);
	g_autoptr(json_t) j = pod_json(b, name, pod);
	pod->cfg = (Runtime__V1__PodSandboxConfig *)ctl_pbjson_parse(
		&runtime__v1__pod_sandbox_config__descriptor, j, error);
	if (pod->cfg == NULL)
		return FALSE;
	Runtime__V1__RunPodSandboxRequest req =
		RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	req.config = pod->cfg;
	req.runtime_handler = (char *)(b->o.handler ? b->o.handler : "");
	Runtime__V1__RunPodSandboxResponse *r =
		bench_call(b, stub, "RunPodSandbox", &req, ms, error);
	if (r == NULL)
		return FALSE;
	pod->id = g_strdup(r->pod_sandbox_id);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return TRUE;
}

gboolean bench_pod_stop(Bench *b, CtlStub *stub, BenchPod *pod, double *ms,
			GError **error)
{
	Runtime__V1__StopPodSandboxRequest req =
		RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
	req.pod_sandbox_id = pod->id;
	if (!call_free(b, stub, "StopPodSandbox", &req, ms, error))
		return FALSE;
	pod->stopped = TRUE;
	return TRUE;
}

gboolean bench_pod_remove(Bench *b, CtlStub *stub, BenchPod *pod, double *ms,
			  GError **error)
{
	Runtime__V1__RemovePodSandboxRequest req =
		RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
	req.pod_sandbox_id = pod->id;
	if (!call_free(b, stub, "RemovePodSandbox", &req, ms, error))
		return FALSE;
	pod->removed = TRUE;
	return TRUE;
}

void bench_pods_cleanup(Bench *b, BenchPod *pods, guint n)
{
	for (guint i = 0; i < n; i++) {
		BenchPod *p = &pods[i];
		if (p->id != NULL && !p->removed) {
			g_autoptr(GError) error = NULL;
			if ((!p->stopped && !bench_pod_stop(b, b->ctx->stub, p,
							    NULL, &error)) ||
			    !bench_pod_remove(b, b->ctx->stub, p, NULL, &error))
				fprintf(stderr,
					"bench: clean-up of pod %s: %s\n",
					p->id, error->message);
		}
		g_free(p->id);
		if (p->cfg != NULL)
			protobuf_c_message_free_unpacked(&p->cfg->base, NULL);
		memset(p, 0, sizeof *p);
	}
}

char *bench_ctr_create(Bench *b, CtlStub *stub, BenchPod *pod, double *ms,
		       GError **error)
{
	g_autofree char *name =
		g_strdup_printf("c%d", g_atomic_int_add(&b->seq, 1));
	g_autoptr(json_t) j = ctr_json(b, name, pod->userns_host);
	Runtime__V1__ContainerConfig *cfg =
		(Runtime__V1__ContainerConfig *)ctl_pbjson_parse(
			&runtime__v1__container_config__descriptor, j, error);
	if (cfg == NULL)
		return NULL;
	Runtime__V1__CreateContainerRequest req =
		RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	req.pod_sandbox_id = pod->id;
	req.config = cfg;
	req.sandbox_config = pod->cfg;
	Runtime__V1__CreateContainerResponse *r =
		bench_call(b, stub, "CreateContainer", &req, ms, error);
	protobuf_c_message_free_unpacked(&cfg->base, NULL);
	if (r == NULL)
		return NULL;
	char *id = g_strdup(r->container_id);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return id;
}

gboolean bench_ctr_start(Bench *b, CtlStub *stub, const char *id, double *ms,
			 GError **error)
{
	Runtime__V1__StartContainerRequest req =
		RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
	req.container_id = (char *)id;
	return call_free(b, stub, "StartContainer", &req, ms, error);
}

/* Timeout 0: `sleep` as pid 1 ignores SIGTERM, so a grace period would
 * only measure the grace period. */
gboolean bench_ctr_stop(Bench *b, CtlStub *stub, const char *id, double *ms,
			GError **error)
{
	Runtime__V1__StopContainerRequest req =
		RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
	req.container_id = (char *)id;
	req.timeout = 0;
	return call_free(b, stub, "StopContainer", &req, ms, error);
}

gboolean bench_ctr_remove(Bench *b, CtlStub *stub, const char *id, double *ms,
			  GError **error)
{
	Runtime__V1__RemoveContainerRequest req =
		RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
	req.container_id = (char *)id;
	return call_free(b, stub, "RemoveContainer", &req, ms, error);
}

gboolean bench_ctr_wait_running(Bench *b, CtlStub *stub, const char *id,
				GError **error)
{
	Runtime__V1__ContainerStatusRequest req =
		RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
	req.container_id = (char *)id;
	gint64 end = g_get_monotonic_time() + b->op_timeout * 1000;
	for (;;) {
		Runtime__V1__ContainerStatusResponse *r = bench_call(
			b, stub, "ContainerStatus", &req, NULL, error);
		if (r == NULL)
			return FALSE;
		int state = r->status ? (int)r->status->state : -1;
		protobuf_c_message_free_unpacked(&r->base, NULL);
		if (state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING)
			return TRUE;
		if (state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED)
			return berth_throw(error, FAILED_PRECONDITION,
					   "container %s exited instead of "
					   "running (check --command)",
					   id);
		if (g_get_monotonic_time() > end || bench_interrupted)
			return berth_throw(error, DEADLINE_EXCEEDED,
					   "container %s not running in time",
					   id);
		g_usleep(1000);
	}
}

gboolean bench_pod_with_ctr(Bench *b, CtlStub *stub, BenchPod *pod,
			    char **ctr_id, GError **error)
{
	if (!bench_pod_run(b, stub, pod, NULL, error))
		return FALSE;
	g_autofree char *id = bench_ctr_create(b, stub, pod, NULL, error);
	if (id == NULL || !bench_ctr_start(b, stub, id, NULL, error) ||
	    !bench_ctr_wait_running(b, stub, id, error))
		return FALSE;
	if (ctr_id != NULL)
		*ctr_id = g_steal_pointer(&id);
	return TRUE;
}

void bench_cleanup_run(Bench *b)
{
	g_autoptr(GError) error = NULL;
	Runtime__V1__ListPodSandboxRequest req =
		RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__PodSandboxFilter filter =
		RUNTIME__V1__POD_SANDBOX_FILTER__INIT;
	Runtime__V1__PodSandboxFilter__LabelSelectorEntry sel =
		RUNTIME__V1__POD_SANDBOX_FILTER__LABEL_SELECTOR_ENTRY__INIT;
	Runtime__V1__PodSandboxFilter__LabelSelectorEntry *selp = &sel;
	sel.key = BENCH_RUN_LABEL;
	sel.value = b->run_id;
	filter.n_label_selector = 1;
	filter.label_selector = &selp;
	req.filter = &filter;
	Runtime__V1__ListPodSandboxResponse *r = bench_call(
		b, b->ctx->stub, "ListPodSandbox", &req, NULL, &error);
	if (r == NULL) {
		fprintf(stderr, "bench: clean-up: %s\n", error->message);
		return;
	}
	for (size_t i = 0; i < r->n_items; i++) {
		BenchPod p = {.id = r->items[i]->id};
		g_clear_error(&error);
		if (!bench_pod_stop(b, b->ctx->stub, &p, NULL, &error) ||
		    !bench_pod_remove(b, b->ctx->stub, &p, NULL, &error))
			fprintf(stderr, "bench: clean-up of pod %s: %s\n", p.id,
				error->message);
	}
	protobuf_c_message_free_unpacked(&r->base, NULL);
}

typedef struct {
	Bench *b;
	guint total;
	BenchJob job;
	gpointer data;
	gint next;
	gint failed;
	GMutex lock;
	GError *error;
} Parallel;

static gpointer parallel_worker(gpointer p)
{
	Parallel *par = p;
	g_autoptr(CtlStub) stub = ctl_stub_new(par->b->ctx->ch);
	while (!g_atomic_int_get(&par->failed) && !bench_interrupted) {
		guint i = (guint)g_atomic_int_add(&par->next, 1);
		if (i >= par->total)
			break;
		GError *err = NULL;
		if (!par->job(par->b, stub, i, par->data, &err)) {
			g_mutex_lock(&par->lock);
			if (par->error == NULL)
				par->error = err;
			else
				g_error_free(err);
			g_mutex_unlock(&par->lock);
			g_atomic_int_set(&par->failed, 1);
		}
	}
	return NULL;
}

gboolean bench_parallel(Bench *b, guint threads, guint total, BenchJob job,
			gpointer data, double *wall_ms, GError **error)
{
	Parallel par = {.b = b, .total = total, .job = job, .data = data};
	g_mutex_init(&par.lock);
	double t0 = ctl_now_ms();
	if (threads <= 1) {
		/* The caller's own stub: no thread hop in sequential runs. */
		for (guint i = 0; i < total && !bench_interrupted; i++)
			if (!job(b, b->ctx->stub, i, data, &par.error))
				break;
	} else {
		g_autoptr(GPtrArray) th = g_ptr_array_new();
		for (guint t = 0; t < threads; t++)
			g_ptr_array_add(
				th,
				g_thread_new("bench", parallel_worker, &par));
		for (guint t = 0; t < threads; t++)
			g_thread_join(th->pdata[t]);
	}
	if (wall_ms != NULL)
		*wall_ms = ctl_now_ms() - t0;
	g_mutex_clear(&par.lock);
	if (par.error != NULL) {
		g_propagate_error(error, par.error);
		return FALSE;
	}
	if (bench_interrupted)
		return berth_throw(error, CANCELLED, "interrupted");
	return TRUE;
}

void bench_result(Bench *b, const char *scenario, const char *variant,
		  CtlSamples *s, double wall_ms)
{
	CtlSummary r = ctl_summarize(s, wall_ms / 1000.0);
	json_array_append_new(
		b->results,
		json_pack("{s:s,s:s,s:i,s:f,s:f,s:f,s:f,s:f}", "scenario",
			  scenario, "variant", variant, "count", (int)r.count,
			  "p50_ms", r.p50, "p90_ms", r.p90, "p99_ms", r.p99,
			  "max_ms", r.max, "throughput_per_s", r.per_s));
	fprintf(stderr,
		"bench: %-16s %-16s n=%-5u p50=%.2f p99=%.2f max=%.2f ms "
		"%.1f/s\n",
		scenario, variant, r.count, r.p50, r.p99, r.max, r.per_s);
}
