/* Container commands: ps, create, start, stop, rm, exec -s, logs,
 * inspect. */
#include "client/ctl.h"
#include "client/pbjson.h"
#include "util/error.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TRUNC_ID 13

static const char *ctr_state_name(int state)
{
	switch (state) {
	case RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED:
		return "Created";
	case RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING:
		return "Running";
	case RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED:
		return "Exited";
	default:
		return "Unknown";
	}
}

static int ctr_state_parse(const char *s)
{
	if (g_ascii_strcasecmp(s, "created") == 0)
		return RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED;
	if (g_ascii_strcasecmp(s, "running") == 0)
		return RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING;
	if (g_ascii_strcasecmp(s, "exited") == 0)
		return RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED;
	if (g_ascii_strcasecmp(s, "unknown") == 0)
		return RUNTIME__V1__CONTAINER_STATE__CONTAINER_UNKNOWN;
	return -1;
}

static int ctr_cmp_created_desc(gconstpointer a, gconstpointer b)
{
	const Runtime__V1__Container *x = *(Runtime__V1__Container *const *)a;
	const Runtime__V1__Container *y = *(Runtime__V1__Container *const *)b;
	return (y->created_at > x->created_at) -
	       (y->created_at < x->created_at);
}

typedef struct {
	const char *pod, *name, *state, *id, *output;
	gboolean all, quiet, no_trunc;
	GPtrArray *labels;
} PsOpts;

static int ps_parse(PsOpts *o, int argc, char **argv)
{
	const CtlCommand *self = ctl_command_find("ps");
	static const struct option opts[] = {
		{"all", no_argument, NULL, 'a'},
		{"pod", required_argument, NULL, 'p'},
		{"name", required_argument, NULL, 'N'},
		{"state", required_argument, NULL, 's'},
		{"label", required_argument, NULL, 'l'},
		{"id", required_argument, NULL, 'i'},
		{"quiet", no_argument, NULL, 'q'},
		{"output", required_argument, NULL, 'o'},
		{"no-trunc", no_argument, NULL, 'T'},
		{NULL, 0, NULL, 0},
	};
	int c;
	ctl_getopt_reset();
	while ((c = getopt_long(argc, argv, "+ap:s:qo:", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			o->all = TRUE;
			break;
		case 'p':
			o->pod = optarg;
			break;
		case 'N':
			o->name = optarg;
			break;
		case 's':
			o->state = optarg;
			break;
		case 'l':
			g_ptr_array_add(o->labels, optarg);
			break;
		case 'i':
			o->id = optarg;
			break;
		case 'q':
			o->quiet = TRUE;
			break;
		case 'o':
			o->output = optarg;
			break;
		case 'T':
			o->no_trunc = TRUE;
			break;
		default:
			return ctl_usage(self, "bad flag");
		}
	}
	if (optind != argc)
		return ctl_usage(self, "unexpected argument %s", argv[optind]);
	if (strcmp(o->output, "json") != 0 && strcmp(o->output, "table") != 0)
		return ctl_usage(self, "unsupported output format \"%s\"",
				 o->output);
	if (o->state != NULL && ctr_state_parse(o->state) < 0)
		return ctl_usage(self, "--state should be one of created, "
				       "running, exited, unknown");
	g_ptr_array_add(o->labels, NULL);
	return -1;
}

static json_t *ps_filter(CtlCtx *ctx, PsOpts *o, GError **error)
{
	g_autoptr(json_t) filter = json_object();
	if (o->id != NULL)
		json_object_set_new(filter, "id", json_string(o->id));
	if (o->pod != NULL) {
		g_autofree char *pod = ctl_resolve_pod(ctx, o->pod, error);
		if (pod == NULL)
			return NULL;
		json_object_set_new(filter, "pod_sandbox_id", json_string(pod));
	}
	int st =
		o->state
			? ctr_state_parse(o->state)
			: (o->all ? -1
				  : RUNTIME__V1__CONTAINER_STATE__CONTAINER_RUNNING);
	if (st >= 0)
		json_object_set_new(filter, "state",
				    json_pack("{s:i}", "state", st));
	json_t *sel = json_object();
	json_object_set_new(filter, "label_selector", sel);
	if (!ctl_parse_labels((char **)o->labels->pdata, sel, error))
		return NULL;
	return json_pack("{s:O}", "filter", filter);
}

static void ps_print_table(GPtrArray *kept,
			   Runtime__V1__ListPodSandboxResponse *pods,
			   gboolean no_trunc)
{
	g_autoptr(CtlTable) t = ctl_table_new();
	ctl_table_row(t, "CONTAINER", "IMAGE", "CREATED", "STATE", "NAME",
		      "ATTEMPT", "POD ID", "POD", NULL);
	for (guint i = 0; i < kept->len; i++) {
		Runtime__V1__Container *c = kept->pdata[i];
		const char *podname = "unknown";
		for (size_t k = 0; pods != NULL && k < pods->n_items; k++)
			if (strcmp(pods->items[k]->id, c->pod_sandbox_id) ==
				    0 &&
			    pods->items[k]->metadata != NULL)
				podname = pods->items[k]->metadata->name;
		guint n = no_trunc ? G_MAXINT : TRUNC_ID;
		g_autofree char *id = g_strndup(c->id, n);
		g_autofree char *pid = g_strndup(c->pod_sandbox_id, n);
		const char *image = c->image ? c->image->image : "";
		if (g_str_has_prefix(image, "sha256:") && !no_trunc)
			image += strlen("sha256:");
		g_autofree char *img = g_strndup(
			image, no_trunc ? G_MAXINT
			       : (strchr(image, ':') || strchr(image, '/'))
				       ? G_MAXINT
				       : TRUNC_ID);
		g_autofree char *ago = ctl_human_ago(c->created_at);
		g_autofree char *attempt = g_strdup_printf(
			"%u", c->metadata ? c->metadata->attempt : 0);
		ctl_table_row(t, id, img, ago, ctr_state_name(c->state),
			      c->metadata ? c->metadata->name : "", attempt,
			      pid, podname, NULL);
	}
	ctl_table_print(t, stdout);
}

int ctl_cmd_ps(CtlCtx *ctx, int argc, char **argv)
{
	g_autoptr(GPtrArray) labels = g_ptr_array_new();
	PsOpts o = {.output = "table", .labels = labels};
	int rc = ps_parse(&o, argc, argv);
	if (rc >= 0)
		return rc;
	g_autoptr(GError) error = NULL;
	g_autoptr(json_t) req_json = ps_filter(ctx, &o, &error);
	if (req_json == NULL)
		return error->code == BERTH_ERROR_INVALID_ARGUMENT &&
				       strstr(error->message, "label")
			       ? ctl_usage(ctl_command_find("ps"), "%s",
					   error->message)
			       : ctl_fail(error);
	ProtobufCMessage *req =
		ctl_request_from_json("ListContainers", req_json, &error);
	if (req == NULL)
		return ctl_fail(error);
	Runtime__V1__ListContainersResponse *r =
		ctl_call(ctx, "ListContainers", req, &error);
	protobuf_c_message_free_unpacked(req, NULL);
	if (r == NULL)
		return ctl_fail(error);
	GPtrArray *kept = g_ptr_array_new();
	for (size_t i = 0; i < r->n_containers; i++) {
		Runtime__V1__Container *c = r->containers[i];
		const char *n = c->metadata ? c->metadata->name : "";
		if (o.name == NULL || g_regex_match_simple(o.name, n, 0, 0))
			g_ptr_array_add(kept, c);
	}
	g_ptr_array_sort(kept, ctr_cmp_created_desc);
	if (strcmp(o.output, "json") == 0) {
		Runtime__V1__ListContainersResponse out =
			RUNTIME__V1__LIST_CONTAINERS_RESPONSE__INIT;
		out.n_containers = kept->len;
		out.containers = (Runtime__V1__Container **)kept->pdata;
		json_t *j = ctl_pbjson_dump(&out.base);
		ctl_print_json(j);
		json_decref(j);
	} else if (o.quiet) {
		for (guint i = 0; i < kept->len; i++)
			printf("%s\n",
			       ((Runtime__V1__Container *)kept->pdata[i])->id);
	} else {
		Runtime__V1__ListPodSandboxRequest preq =
			RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
		Runtime__V1__ListPodSandboxResponse *pods =
			ctl_call(ctx, "ListPodSandbox", &preq, NULL);
		ps_print_table(kept, pods, o.no_trunc);
		if (pods != NULL)
			protobuf_c_message_free_unpacked(&pods->base, NULL);
	}
	g_ptr_array_free(kept, TRUE);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return CTL_EXIT_OK;
}

int ctl_cmd_create(CtlCtx *ctx, int argc, char **argv)
{
	if (argc != 4)
		return ctl_usage(ctl_command_find("create"),
				 "POD-ID CTR.json POD.json expected");
	g_autoptr(GError) error = NULL;
	g_autofree char *pod = ctl_resolve_pod(ctx, argv[1], &error);
	if (pod == NULL)
		return ctl_fail(error);
	Runtime__V1__ContainerConfig *cfg =
		(Runtime__V1__ContainerConfig *)ctl_pbjson_parse_file(
			&runtime__v1__container_config__descriptor, argv[2],
			&error);
	if (cfg == NULL)
		return ctl_fail(error);
	Runtime__V1__PodSandboxConfig *pcfg =
		(Runtime__V1__PodSandboxConfig *)ctl_pbjson_parse_file(
			&runtime__v1__pod_sandbox_config__descriptor, argv[3],
			&error);
	if (pcfg == NULL) {
		protobuf_c_message_free_unpacked(&cfg->base, NULL);
		return ctl_fail(error);
	}
	Runtime__V1__CreateContainerRequest req =
		RUNTIME__V1__CREATE_CONTAINER_REQUEST__INIT;
	req.pod_sandbox_id = pod;
	req.config = cfg;
	req.sandbox_config = pcfg;
	Runtime__V1__CreateContainerResponse *r =
		ctl_call(ctx, "CreateContainer", &req, &error);
	protobuf_c_message_free_unpacked(&cfg->base, NULL);
	protobuf_c_message_free_unpacked(&pcfg->base, NULL);
	if (r == NULL)
		return ctl_fail(error);
	printf("%s\n", r->container_id);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return CTL_EXIT_OK;
}

/* One id-taking RPC per argument: start, stop, rm share this shape. */
typedef gboolean (*CtrAction)(CtlCtx *ctx, const char *id, gint64 arg,
			      GError **error);

static gboolean call_simple(CtlCtx *ctx, const char *method,
			    ProtobufCMessage *req, GError **error)
{
	ProtobufCMessage *r = ctl_call(ctx, method, req, error);
	if (r == NULL)
		return FALSE;
	protobuf_c_message_free_unpacked(r, NULL);
	return TRUE;
}

static gboolean do_start(CtlCtx *ctx, const char *id, gint64 arg,
			 GError **error)
{
	(void)arg;
	Runtime__V1__StartContainerRequest req =
		RUNTIME__V1__START_CONTAINER_REQUEST__INIT;
	req.container_id = (char *)id;
	return call_simple(ctx, "StartContainer", &req.base, error);
}

static gboolean do_stop(CtlCtx *ctx, const char *id, gint64 timeout_s,
			GError **error)
{
	Runtime__V1__StopContainerRequest req =
		RUNTIME__V1__STOP_CONTAINER_REQUEST__INIT;
	req.container_id = (char *)id;
	req.timeout = timeout_s;
	/* The call may take the whole grace period, plus the kill. */
	gint64 t = ctx->timeout_ms;
	if (t > 0 && !ctx->timeout_given)
		t = MAX(t, timeout_s * 1000 + CTL_DEFAULT_TIMEOUT_MS);
	ProtobufCMessage *r =
		ctl_call_timeout(ctx, "StopContainer", &req, t, error);
	if (r == NULL)
		return FALSE;
	protobuf_c_message_free_unpacked(r, NULL);
	return TRUE;
}

static gboolean do_rm(CtlCtx *ctx, const char *id, gint64 force, GError **error)
{
	if (force && !do_stop(ctx, id, 0, error))
		return FALSE;
	Runtime__V1__RemoveContainerRequest req =
		RUNTIME__V1__REMOVE_CONTAINER_REQUEST__INIT;
	req.container_id = (char *)id;
	return call_simple(ctx, "RemoveContainer", &req.base, error);
}

static int for_each_id(CtlCtx *ctx, int first, int argc, char **argv,
		       CtrAction act, gint64 arg)
{
	int rc = CTL_EXIT_OK;
	for (int i = first; i < argc; i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *id =
			ctl_resolve_container(ctx, argv[i], &error);
		if (id == NULL || !act(ctx, id, arg, &error)) {
			rc = ctl_fail(error);
			continue;
		}
		printf("%s\n", id);
	}
	return rc;
}

int ctl_cmd_start(CtlCtx *ctx, int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage(ctl_command_find("start"),
				 "container id expected");
	return for_each_id(ctx, 1, argc, argv, do_start, 0);
}

int ctl_cmd_stop(CtlCtx *ctx, int argc, char **argv)
{
	const CtlCommand *self = ctl_command_find("stop");
	static const struct option opts[] = {
		{"timeout", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	gint64 timeout = 0;
	int c;
	ctl_getopt_reset();
	while ((c = getopt_long(argc, argv, "+t:", opts, NULL)) != -1) {
		char *end = NULL;
		if (c != 't' ||
		    (timeout = g_ascii_strtoll(optarg, &end, 10)) < 0 ||
		    *end != '\0')
			return ctl_usage(self, "bad flag");
	}
	if (optind >= argc)
		return ctl_usage(self, "container id expected");
	return for_each_id(ctx, optind, argc, argv, do_stop, timeout);
}

int ctl_cmd_rm(CtlCtx *ctx, int argc, char **argv)
{
	const CtlCommand *self = ctl_command_find("rm");
	static const struct option opts[] = {
		{"force", no_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	gboolean force = FALSE;
	int c;
	ctl_getopt_reset();
	while ((c = getopt_long(argc, argv, "+f", opts, NULL)) != -1) {
		if (c != 'f')
			return ctl_usage(self, "bad flag");
		force = TRUE;
	}
	if (optind >= argc)
		return ctl_usage(self, "container id expected");
	return for_each_id(ctx, optind, argc, argv, do_rm, force);
}

static void write_all(int fd, const guint8 *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w <= 0)
			return;
		p += w;
		n -= (size_t)w;
	}
}

int ctl_cmd_exec(CtlCtx *ctx, int argc, char **argv)
{
	const CtlCommand *self = ctl_command_find("exec");
	static const struct option opts[] = {
		{"sync", no_argument, NULL, 's'},
		{"timeout", required_argument, NULL, 'T'},
		{NULL, 0, NULL, 0},
	};
	gboolean sync = FALSE;
	gint64 timeout = 0;
	int c;
	ctl_getopt_reset();
	while ((c = getopt_long(argc, argv, "+s", opts, NULL)) != -1) {
		if (c == 's')
			sync = TRUE;
		else if (c == 'T')
			timeout = g_ascii_strtoll(optarg, NULL, 10);
		else
			return ctl_usage(self, "bad flag");
	}
	if (!sync)
		return ctl_usage(self, "only exec -s (ExecSync) is supported "
				       "so far");
	if (argc - optind < 2)
		return ctl_usage(self, "container id and command expected");
	g_autoptr(GError) error = NULL;
	g_autofree char *id = ctl_resolve_container(ctx, argv[optind], &error);
	if (id == NULL)
		return ctl_fail(error);
	Runtime__V1__ExecSyncRequest req = RUNTIME__V1__EXEC_SYNC_REQUEST__INIT;
	req.container_id = id;
	req.cmd = argv + optind + 1;
	req.n_cmd = (size_t)(argc - optind - 1);
	req.timeout = timeout;
	gint64 t = ctx->timeout_ms;
	if (timeout > 0 && t > 0)
		t = MAX(t, timeout * 1000 + CTL_DEFAULT_TIMEOUT_MS);
	Runtime__V1__ExecSyncResponse *r =
		ctl_call_timeout(ctx, "ExecSync", &req, t, &error);
	if (r == NULL)
		return ctl_fail(error);
	write_all(STDOUT_FILENO, r->stdout.data, r->stdout.len);
	write_all(STDERR_FILENO, r->stderr.data, r->stderr.len);
	int code = r->exit_code;
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return code;
}

static Runtime__V1__ContainerStatusResponse *
ctr_status(CtlCtx *ctx, const char *prefix, gboolean verbose, GError **error)
{
	g_autofree char *id = ctl_resolve_container(ctx, prefix, error);
	if (id == NULL)
		return NULL;
	Runtime__V1__ContainerStatusRequest req =
		RUNTIME__V1__CONTAINER_STATUS_REQUEST__INIT;
	req.container_id = id;
	req.verbose = verbose;
	return ctl_call(ctx, "ContainerStatus", &req, error);
}

/* crictl's inspect: times as RFC 3339; startedAt only once started,
 * finishedAt only once exited, else Go's zero time. */
static void ctr_times(json_t *status, const ProtobufCMessage *reply)
{
	const Runtime__V1__ContainerStatus *cs =
		((const Runtime__V1__ContainerStatusResponse *)reply)->status;
	gboolean started =
		cs->state != RUNTIME__V1__CONTAINER_STATE__CONTAINER_CREATED;
	gboolean finished =
		cs->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_EXITED ||
		(cs->state == RUNTIME__V1__CONTAINER_STATE__CONTAINER_UNKNOWN &&
		 cs->finished_at > 0);
	g_autofree char *c = ctl_rfc3339nano(cs->created_at, FALSE);
	g_autofree char *s = ctl_rfc3339nano(cs->started_at, !started);
	g_autofree char *f = ctl_rfc3339nano(cs->finished_at, !finished);
	json_object_set_new(status, "createdAt", json_string(c));
	json_object_set_new(status, "startedAt", json_string(s));
	json_object_set_new(status, "finishedAt", json_string(f));
}

int ctl_cmd_inspect(CtlCtx *ctx, int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage(ctl_command_find("inspect"),
				 "container id expected");
	int rc = CTL_EXIT_OK;
	for (int i = 1; i < argc; i++) {
		g_autoptr(GError) error = NULL;
		Runtime__V1__ContainerStatusResponse *r =
			ctr_status(ctx, argv[i], TRUE, &error);
		if (r == NULL) {
			rc = ctl_fail(error);
			continue;
		}
		ctl_print_status_info(&r->base, "status", ctr_times);
		protobuf_c_message_free_unpacked(&r->base, NULL);
	}
	return rc;
}

/* One CRI log line, "<time> <stream> <P|F> <message>": the message goes
 * to stdout or stderr, with a newline only when the line is full. */
static void print_log_line(const char *line)
{
	g_auto(GStrv) parts = g_strsplit(line, " ", 4);
	if (g_strv_length(parts) < 3) {
		printf("%s\n", line);
		return;
	}
	FILE *out = strcmp(parts[1], "stderr") == 0 ? stderr : stdout;
	const char *msg = parts[3] ? parts[3] : "";
	fputs(msg, out);
	if (strcmp(parts[2], "P") != 0)
		fputc('\n', out);
}

int ctl_cmd_logs(CtlCtx *ctx, int argc, char **argv)
{
	const CtlCommand *self = ctl_command_find("logs");
	static const struct option opts[] = {
		{"tail", required_argument, NULL, 't'},
		{NULL, 0, NULL, 0},
	};
	gint64 tail = -1;
	int c;
	ctl_getopt_reset();
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		if (c != 't')
			return ctl_usage(self, "bad flag");
		tail = g_ascii_strtoll(optarg, NULL, 10);
	}
	if (argc - optind != 1)
		return ctl_usage(self, "one container id expected");
	g_autoptr(GError) error = NULL;
	Runtime__V1__ContainerStatusResponse *r =
		ctr_status(ctx, argv[optind], FALSE, &error);
	if (r == NULL)
		return ctl_fail(error);
	g_autofree char *path = g_strdup(
		r->status && r->status->log_path ? r->status->log_path : "");
	protobuf_c_message_free_unpacked(&r->base, NULL);
	if (path[0] == '\0') {
		berth_throw(&error, NOT_FOUND, "container %s has no log path",
			    argv[optind]);
		return ctl_fail(error);
	}
	g_autofree char *text = NULL;
	gsize len = 0;
	if (!g_file_get_contents(path, &text, &len, &error)) {
		g_clear_error(&error);
		berth_throw(&error, NOT_FOUND, "read log %s: not readable",
			    path);
		return ctl_fail(error);
	}
	g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
	guint n = g_strv_length(lines);
	if (n > 0 && lines[n - 1][0] == '\0')
		n--;
	guint first = tail >= 0 && (guint64)tail < n ? n - (guint)tail : 0;
	for (guint i = first; i < n; i++)
		print_log_line(lines[i]);
	fflush(stdout);
	return CTL_EXIT_OK;
}
