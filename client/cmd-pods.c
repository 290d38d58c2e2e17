/* Pod sandbox commands: pods, runp, stopp, rmp, inspectp. */
#include "client/ctl.h"
#include "client/pbjson.h"
#include "util/error.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define TRUNC_ID 13

static const char *pod_state_name(int state)
{
	return state == RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY
		       ? "Ready"
		       : "NotReady";
}

static gboolean regex_ok(const char *pattern, const char *text)
{
	if (pattern == NULL || pattern[0] == '\0')
		return TRUE;
	return g_regex_match_simple(pattern, text, 0, 0);
}

static int pod_cmp_created_desc(gconstpointer a, gconstpointer b)
{
	const Runtime__V1__PodSandbox *x = *(Runtime__V1__PodSandbox *const *)a;
	const Runtime__V1__PodSandbox *y = *(Runtime__V1__PodSandbox *const *)b;
	return (y->created_at > x->created_at) -
	       (y->created_at < x->created_at);
}

typedef struct {
	const char *name, *ns, *state, *id, *output;
	gboolean quiet, no_trunc;
	GPtrArray *labels;
} PodsOpts;

/* -1 when the flags are good, else the exit code of a usage error. */
static int pods_parse(PodsOpts *o, int argc, char **argv)
{
	const CtlCommand *self = ctl_command_find("pods");
	static const struct option opts[] = {
		{"name", required_argument, NULL, 'N'},
		{"namespace", required_argument, NULL, 'S'},
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
	while ((c = getopt_long(argc, argv, "+s:qo:", opts, NULL)) != -1) {
		switch (c) {
		case 'N':
			o->name = optarg;
			break;
		case 'S':
			o->ns = optarg;
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
	if (o->state != NULL && g_ascii_strcasecmp(o->state, "ready") != 0 &&
	    g_ascii_strcasecmp(o->state, "notready") != 0)
		return ctl_usage(self, "--state should be ready or notready");
	g_ptr_array_add(o->labels, NULL);
	return -1;
}

/* The ListPodSandbox request for the server-side filters. */
static json_t *pods_filter(const PodsOpts *o, GError **error)
{
	g_autoptr(json_t) filter = json_object();
	if (o->id != NULL)
		json_object_set_new(filter, "id", json_string(o->id));
	if (o->state != NULL) {
		int st =
			g_ascii_strcasecmp(o->state, "ready") == 0
				? RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_READY
				: RUNTIME__V1__POD_SANDBOX_STATE__SANDBOX_NOTREADY;
		json_object_set_new(filter, "state",
				    json_pack("{s:i}", "state", st));
	}
	json_t *sel = json_object();
	json_object_set_new(filter, "label_selector", sel);
	if (!ctl_parse_labels((char **)o->labels->pdata, sel, error))
		return NULL;
	return json_pack("{s:O}", "filter", filter);
}

static void pods_print_table(GPtrArray *kept, gboolean no_trunc)
{
	g_autoptr(CtlTable) t = ctl_table_new();
	ctl_table_row(t, "POD ID", "CREATED", "STATE", "NAME", "NAMESPACE",
		      "ATTEMPT", "RUNTIME", NULL);
	for (guint i = 0; i < kept->len; i++) {
		Runtime__V1__PodSandbox *p = kept->pdata[i];
		g_autofree char *ago = ctl_human_ago(p->created_at);
		g_autofree char *pid =
			g_strndup(p->id, no_trunc ? strlen(p->id) : TRUNC_ID);
		g_autofree char *attempt = g_strdup_printf(
			"%u", p->metadata ? p->metadata->attempt : 0);
		const char *handler = p->runtime_handler[0] ? p->runtime_handler
							    : "(default)";
		ctl_table_row(t, pid, ago, pod_state_name(p->state),
			      p->metadata ? p->metadata->name : "",
			      p->metadata ? p->metadata->namespace_ : "",
			      attempt, handler, NULL);
	}
	ctl_table_print(t, stdout);
}

int ctl_cmd_pods(CtlCtx *ctx, int argc, char **argv)
{
	g_autoptr(GPtrArray) labels = g_ptr_array_new();
	PodsOpts o = {.output = "table", .labels = labels};
	int rc = pods_parse(&o, argc, argv);
	if (rc >= 0)
		return rc;
	g_autoptr(GError) error = NULL;
	g_autoptr(json_t) req_json = pods_filter(&o, &error);
	if (req_json == NULL)
		return ctl_usage(ctl_command_find("pods"), "%s",
				 error->message);
	ProtobufCMessage *req =
		ctl_request_from_json("ListPodSandbox", req_json, &error);
	if (req == NULL)
		return ctl_fail(error);
	Runtime__V1__ListPodSandboxResponse *r =
		ctl_call(ctx, "ListPodSandbox", req, &error);
	protobuf_c_message_free_unpacked(req, NULL);
	if (r == NULL)
		return ctl_fail(error);
	/* Client-side filters and order, as crictl applies them. */
	GPtrArray *kept = g_ptr_array_new();
	for (size_t i = 0; i < r->n_items; i++) {
		Runtime__V1__PodSandbox *p = r->items[i];
		const char *pname = p->metadata ? p->metadata->name : "";
		const char *pns = p->metadata ? p->metadata->namespace_ : "";
		if (regex_ok(o.name, pname) && regex_ok(o.ns, pns))
			g_ptr_array_add(kept, p);
	}
	g_ptr_array_sort(kept, pod_cmp_created_desc);
	if (strcmp(o.output, "json") == 0) {
		Runtime__V1__ListPodSandboxResponse out =
			RUNTIME__V1__LIST_POD_SANDBOX_RESPONSE__INIT;
		out.n_items = kept->len;
		out.items = (Runtime__V1__PodSandbox **)kept->pdata;
		json_t *j = ctl_pbjson_dump(&out.base);
		ctl_print_json(j);
		json_decref(j);
	} else if (o.quiet) {
		for (guint i = 0; i < kept->len; i++)
			printf("%s\n",
			       ((Runtime__V1__PodSandbox *)kept->pdata[i])->id);
	} else {
		pods_print_table(kept, o.no_trunc);
	}
	g_ptr_array_free(kept, TRUE);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return CTL_EXIT_OK;
}

int ctl_cmd_runp(CtlCtx *ctx, int argc, char **argv)
{
	const CtlCommand *self = ctl_command_find("runp");
	static const struct option opts[] = {
		{"runtime", required_argument, NULL, 'r'},
		{NULL, 0, NULL, 0},
	};
	const char *handler = "";
	int c;
	ctl_getopt_reset();
	while ((c = getopt_long(argc, argv, "+r:", opts, NULL)) != -1) {
		if (c != 'r')
			return ctl_usage(self, "bad flag");
		handler = optarg;
	}
	if (argc - optind != 1)
		return ctl_usage(self, "one pod config file expected");
	g_autoptr(GError) error = NULL;
	Runtime__V1__PodSandboxConfig *cfg =
		(Runtime__V1__PodSandboxConfig *)ctl_pbjson_parse_file(
			&runtime__v1__pod_sandbox_config__descriptor,
			argv[optind], &error);
	if (cfg == NULL)
		return ctl_fail(error);
	Runtime__V1__RunPodSandboxRequest req =
		RUNTIME__V1__RUN_POD_SANDBOX_REQUEST__INIT;
	req.config = cfg;
	req.runtime_handler = (char *)handler;
	Runtime__V1__RunPodSandboxResponse *r =
		ctl_call(ctx, "RunPodSandbox", &req, &error);
	protobuf_c_message_free_unpacked(&cfg->base, NULL);
	if (r == NULL)
		return ctl_fail(error);
	printf("%s\n", r->pod_sandbox_id);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return CTL_EXIT_OK;
}

static gboolean stop_pod(CtlCtx *ctx, const char *id, GError **error)
{
	Runtime__V1__StopPodSandboxRequest req =
		RUNTIME__V1__STOP_POD_SANDBOX_REQUEST__INIT;
	req.pod_sandbox_id = (char *)id;
	ProtobufCMessage *r = ctl_call(ctx, "StopPodSandbox", &req, error);
	if (r == NULL)
		return FALSE;
	protobuf_c_message_free_unpacked(r, NULL);
	return TRUE;
}

static gboolean remove_pod(CtlCtx *ctx, const char *id, GError **error)
{
	Runtime__V1__RemovePodSandboxRequest req =
		RUNTIME__V1__REMOVE_POD_SANDBOX_REQUEST__INIT;
	req.pod_sandbox_id = (char *)id;
	ProtobufCMessage *r = ctl_call(ctx, "RemovePodSandbox", &req, error);
	if (r == NULL)
		return FALSE;
	protobuf_c_message_free_unpacked(r, NULL);
	return TRUE;
}

int ctl_cmd_stopp(CtlCtx *ctx, int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage(ctl_command_find("stopp"), "pod id expected");
	int rc = CTL_EXIT_OK;
	for (int i = 1; i < argc; i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *id = ctl_resolve_pod(ctx, argv[i], &error);
		if (id == NULL || !stop_pod(ctx, id, &error)) {
			rc = ctl_fail(error);
			continue;
		}
		printf("Stopped sandbox %s\n", id);
	}
	return rc;
}

int ctl_cmd_rmp(CtlCtx *ctx, int argc, char **argv)
{
	const CtlCommand *self = ctl_command_find("rmp");
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
		return ctl_usage(self, "pod id expected");
	int rc = CTL_EXIT_OK;
	for (int i = optind; i < argc; i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *id = ctl_resolve_pod(ctx, argv[i], &error);
		if (id == NULL || (force && !stop_pod(ctx, id, &error)) ||
		    !remove_pod(ctx, id, &error)) {
			rc = ctl_fail(error);
			continue;
		}
		printf("Removed sandbox %s\n", id);
	}
	return rc;
}

/* crictl shows the pod's creation time as RFC 3339, not nanoseconds. */
static void pod_times(json_t *status, const ProtobufCMessage *reply)
{
	const Runtime__V1__PodSandboxStatusResponse *r =
		(const Runtime__V1__PodSandboxStatusResponse *)reply;
	g_autofree char *t = ctl_rfc3339nano(r->status->created_at, FALSE);
	json_object_set_new(status, "createdAt", json_string(t));
}

int ctl_cmd_inspectp(CtlCtx *ctx, int argc, char **argv)
{
	if (argc < 2)
		return ctl_usage(ctl_command_find("inspectp"),
				 "pod id expected");
	int rc = CTL_EXIT_OK;
	for (int i = 1; i < argc; i++) {
		g_autoptr(GError) error = NULL;
		g_autofree char *id = ctl_resolve_pod(ctx, argv[i], &error);
		if (id == NULL) {
			rc = ctl_fail(error);
			continue;
		}
		Runtime__V1__PodSandboxStatusRequest req =
			RUNTIME__V1__POD_SANDBOX_STATUS_REQUEST__INIT;
		req.pod_sandbox_id = id;
		req.verbose = TRUE;
		ProtobufCMessage *r =
			ctl_call(ctx, "PodSandboxStatus", &req, &error);
		if (r == NULL) {
			rc = ctl_fail(error);
			continue;
		}
		ctl_print_status_info(r, "status", pod_times);
		protobuf_c_message_free_unpacked(r, NULL);
	}
	return rc;
}
