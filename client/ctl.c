/* The command table and what every berthctl command shares: calls with
 * the context's timeout, error and usage output, id prefixes, JSON and
 * table printing. */
#include "client/ctl.h"
#include "client/pbjson.h"
#include "client/resolve.h"
#include "util/error.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const CtlCommand ctl_commands[] = {
	{"version", ctl_cmd_version, "version"},
	{"info", ctl_cmd_info, "info"},
	{"pods", ctl_cmd_pods,
	 "pods [--name RE] [--namespace RE] [--state ready|notready] "
	 "[--label K=V]... [--id ID] [-q] [-o json|table]"},
	{"runp", ctl_cmd_runp, "runp [--runtime HANDLER] POD.json"},
	{"stopp", ctl_cmd_stopp, "stopp POD-ID..."},
	{"rmp", ctl_cmd_rmp, "rmp [-f] POD-ID..."},
	{"inspectp", ctl_cmd_inspectp, "inspectp POD-ID..."},
	{"ps", ctl_cmd_ps,
	 "ps [-a] [--pod POD-ID] [--name RE] [--state STATE] [--label K=V]... "
	 "[--id ID] [-q] [-o json|table]"},
	{"create", ctl_cmd_create, "create POD-ID CTR.json POD.json"},
	{"start", ctl_cmd_start, "start ID..."},
	{"stop", ctl_cmd_stop, "stop [-t SECONDS] ID..."},
	{"rm", ctl_cmd_rm, "rm [-f] ID..."},
	{"exec", ctl_cmd_exec, "exec -s [--timeout SECONDS] ID CMD [ARG]..."},
	{"logs", ctl_cmd_logs, "logs [--tail N] ID"},
	{"inspect", ctl_cmd_inspect, "inspect ID..."},
	{"stats", ctl_cmd_stats, "stats [-o json|table] [ID]"},
	{"images", ctl_cmd_images, "images [-q] [-o json|table] [IMAGE]"},
	{"pull", ctl_cmd_pull, "pull IMAGE"},
	{"inspecti", ctl_cmd_inspecti, "inspecti IMAGE..."},
	{"bench", ctl_cmd_bench, "bench [OPTIONS] SCENARIO... (bench --help)"},
	{NULL, NULL, NULL},
};

const CtlCommand *ctl_command_find(const char *name)
{
	for (const CtlCommand *c = ctl_commands; c->name != NULL; c++)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

void ctl_print_commands(FILE *out)
{
	for (const CtlCommand *c = ctl_commands; c->name != NULL; c++)
		fprintf(out, "  %s\n", c->usage);
}

int ctl_run(CtlCtx *ctx, int argc, char **argv)
{
	const CtlCommand *cmd = ctl_command_find(argv[0]);
	if (cmd == NULL) {
		fprintf(stderr, "berthctl: unknown command \"%s\"\n", argv[0]);
		return CTL_EXIT_USAGE;
	}
	return cmd->fn(ctx, argc, argv);
}

gpointer ctl_call_timeout(CtlCtx *ctx, const char *method, gconstpointer req,
			  gint64 timeout_ms, GError **error)
{
	return ctl_stub_call(ctx->stub, method, req, timeout_ms, error);
}

gpointer ctl_call(CtlCtx *ctx, const char *method, gconstpointer req,
		  GError **error)
{
	return ctl_stub_call(ctx->stub, method, req, ctx->timeout_ms, error);
}

int ctl_fail(GError *error)
{
	int code = error->domain == BERTH_ERROR ? error->code
						: BERTH_ERROR_UNKNOWN;
	fprintf(stderr, "berthctl: %s: %s\n", ctl_status_name(code),
		error->message);
	return CTL_EXIT_RPC;
}

int ctl_usage(const CtlCommand *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	fprintf(stderr, "berthctl: %s: %s\nusage: berthctl %s\n", cmd->name,
		msg, cmd->usage);
	return CTL_EXIT_USAGE;
}

char *ctl_resolve_container(CtlCtx *ctx, const char *prefix, GError **error)
{
	if (ctl_is_full_id(prefix))
		return g_strdup(prefix);
	Runtime__V1__ListContainersRequest req =
		RUNTIME__V1__LIST_CONTAINERS_REQUEST__INIT;
	Runtime__V1__ListContainersResponse *r =
		ctl_call(ctx, "ListContainers", &req, error);
	if (r == NULL)
		return NULL;
	g_autofree const char **ids = g_new0(const char *, r->n_containers + 1);
	for (size_t i = 0; i < r->n_containers; i++)
		ids[i] = r->containers[i]->id;
	char *id = ctl_resolve_prefix(prefix, ids, r->n_containers, "container",
				      error);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return id;
}

char *ctl_resolve_pod(CtlCtx *ctx, const char *prefix, GError **error)
{
	if (ctl_is_full_id(prefix))
		return g_strdup(prefix);
	Runtime__V1__ListPodSandboxRequest req =
		RUNTIME__V1__LIST_POD_SANDBOX_REQUEST__INIT;
	Runtime__V1__ListPodSandboxResponse *r =
		ctl_call(ctx, "ListPodSandbox", &req, error);
	if (r == NULL)
		return NULL;
	g_autofree const char **ids = g_new0(const char *, r->n_items + 1);
	for (size_t i = 0; i < r->n_items; i++)
		ids[i] = r->items[i]->id;
	char *id = ctl_resolve_prefix(prefix, ids, r->n_items, "pod sandbox",
				      error);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return id;
}

void ctl_print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_ENCODE_ANY);
	if (s != NULL) {
		puts(s);
		free(s);
	}
}

char *ctl_rfc3339nano(gint64 unix_nanos, gboolean zero)
{
	if (zero)
		return g_strdup("0001-01-01T00:00:00Z");
	gint64 secs = unix_nanos / 1000000000, frac = unix_nanos % 1000000000;
	if (frac < 0) {
		secs--;
		frac += 1000000000;
	}
	g_autoptr(GDateTime) t = g_date_time_new_from_unix_local(secs);
	if (t == NULL)
		return g_strdup("");
	g_autofree char *base = g_date_time_format(t, "%Y-%m-%dT%H:%M:%S");
	char fs[16] = "";
	if (frac != 0) {
		g_snprintf(fs, sizeof fs, ".%09" G_GINT64_FORMAT, frac);
		for (char *e = fs + strlen(fs) - 1; *e == '0'; e--)
			*e = '\0';
	}
	g_autofree char *zone = g_date_time_get_utc_offset(t) == 0
					? g_strdup("Z")
					: g_date_time_format(t, "%:z");
	return g_strconcat(base, fs, zone, NULL);
}

void ctl_print_status_info(const ProtobufCMessage *reply,
			   const char *status_field, CtlStatusFixup fixup)
{
	json_t *all = ctl_pbjson_dump(reply);
	json_t *out = json_object();
	g_autofree char *camel = ctl_pbjson_camel(status_field);
	json_object_set(out, "status", json_object_get(all, camel));
	if (fixup != NULL && json_is_object(json_object_get(out, "status")))
		fixup(json_object_get(out, "status"), reply);
	json_t *info = json_object_get(all, "info");
	/* Keys come sorted from the map dump. */
	const char *k;
	json_t *v;
	json_object_foreach(info, k, v)
	{
		const char *text = json_string_value(v);
		json_t *parsed =
			text ? json_loads(text, JSON_DECODE_ANY, NULL) : NULL;
		json_object_set_new(out, k, parsed ? parsed : json_incref(v));
	}
	ctl_print_json(out);
	json_decref(out);
	json_decref(all);
}

/* The wording of go-units' HumanDuration, which crictl prints. */
char *ctl_human_ago(gint64 unix_nanos)
{
	gint64 s = g_get_real_time() / G_USEC_PER_SEC - unix_nanos / 1000000000;
	const char *suffix = " ago";
	if (s < 1)
		return g_strconcat("Less than a second", suffix, NULL);
	if (s == 1)
		return g_strconcat("1 second", suffix, NULL);
	if (s < 60)
		return g_strdup_printf("%" G_GINT64_FORMAT " seconds%s", s,
				       suffix);
	gint64 m = s / 60;
	if (m == 1)
		return g_strconcat("About a minute", suffix, NULL);
	if (m < 60)
		return g_strdup_printf("%" G_GINT64_FORMAT " minutes%s", m,
				       suffix);
	gint64 h = (s + 1800) / 3600;
	if (h == 1)
		return g_strconcat("About an hour", suffix, NULL);
	if (h < 48)
		return g_strdup_printf("%" G_GINT64_FORMAT " hours%s", h,
				       suffix);
	if (h < 24 * 7 * 2)
		return g_strdup_printf("%" G_GINT64_FORMAT " days%s", h / 24,
				       suffix);
	if (h < 24 * 30 * 2)
		return g_strdup_printf("%" G_GINT64_FORMAT " weeks%s",
				       h / 24 / 7, suffix);
	if (h < 24 * 365 * 2)
		return g_strdup_printf("%" G_GINT64_FORMAT " months%s",
				       h / 24 / 30, suffix);
	return g_strdup_printf("%" G_GINT64_FORMAT " years%s", h / 24 / 365,
			       suffix);
}

char *ctl_human_size(guint64 bytes)
{
	static const char *const units[] = {"B",  "kB", "MB", "GB",
					    "TB", "PB", "EB"};
	double v = (double)bytes;
	guint u = 0;
	while (v >= 1000 && u + 1 < G_N_ELEMENTS(units)) {
		v /= 1000;
		u++;
	}
	/* Three significant digits, trailing zeros dropped (%g). */
	return g_strdup_printf("%.3g%s", v, units[u]);
}

struct CtlTable {
	GPtrArray *rows; /* GStrv */
};

CtlTable *ctl_table_new(void)
{
	CtlTable *t = g_new0(CtlTable, 1);
	t->rows = g_ptr_array_new_with_free_func((GDestroyNotify)g_strfreev);
	return t;
}

void ctl_table_row(CtlTable *t, ...)
{
	GPtrArray *cells = g_ptr_array_new();
	va_list ap;
	va_start(ap, t);
	for (const char *c = va_arg(ap, const char *); c != NULL;
	     c = va_arg(ap, const char *))
		g_ptr_array_add(cells, g_strdup(c));
	va_end(ap);
	g_ptr_array_add(cells, NULL);
	g_ptr_array_add(t->rows, g_ptr_array_free(cells, FALSE));
}

/* Columns at least 20 wide with 3 spaces of padding, as crictl does. */
void ctl_table_print(CtlTable *t, FILE *out)
{
	g_autoptr(GArray) width = g_array_new(FALSE, TRUE, sizeof(gsize));
	for (guint r = 0; r < t->rows->len; r++) {
		char **row = t->rows->pdata[r];
		for (guint c = 0; row[c] != NULL; c++) {
			if (c >= width->len)
				g_array_set_size(width, c + 1);
			gsize w = MAX(strlen(row[c]) + 3, 20);
			if (w > g_array_index(width, gsize, c))
				g_array_index(width, gsize, c) = w;
		}
	}
	for (guint r = 0; r < t->rows->len; r++) {
		char **row = t->rows->pdata[r];
		for (guint c = 0; row[c] != NULL; c++) {
			if (row[c + 1] == NULL)
				fprintf(out, "%s\n", row[c]);
			else
				fprintf(out, "%-*s",
					(int)g_array_index(width, gsize, c),
					row[c]);
		}
	}
}

void ctl_table_free(CtlTable *t)
{
	if (t == NULL)
		return;
	g_ptr_array_free(t->rows, TRUE);
	g_free(t);
}

gboolean ctl_parse_labels(char **kv, json_t *obj, GError **error)
{
	for (char **p = kv; p != NULL && *p != NULL; p++) {
		g_auto(GStrv) pair = g_strsplit(*p, "=", -1);
		if (g_strv_length(pair) != 2)
			return berth_throw(error, INVALID_ARGUMENT,
					   "incorrectly specified label: %s",
					   *p);
		json_object_set_new(obj, pair[0], json_string(pair[1]));
	}
	return TRUE;
}

gpointer ctl_request_from_json(const char *method, json_t *json, GError **error)
{
	const ProtobufCMessageDescriptor *d = ctl_method_input(method);
	g_return_val_if_fail(d != NULL, NULL);
	return ctl_pbjson_parse(d, json, error);
}

void ctl_getopt_reset(void)
{
	/* glibc: 0 re-initialises getopt completely. */
	optind = 0;
}
