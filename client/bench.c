/* berthctl bench: flags, the run (server identity, image, scenarios in
 * order, clean-up also on failure and SIGINT) and the report as a table
 * and as JSON. */
#include "client/bench.h"
#include "client/pbjson.h"
#include "util/error.h"

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char bench_usage[] =
	"usage: berthctl bench [OPTIONS] SCENARIO...\n"
	"scenarios: version pod container start-to-running churn density "
	"pull exec memory (or all); userns, metrics, storm (not in all)\n"
	"  -n N                   count per variant (default per scenario)\n"
	"  --samples N            density: calls per variant (200)\n"
	"  --clients K            churn: client threads (8); storm (16)\n"
	"  --image REF            image for containers (pulled if missing)\n"
	"  --pull-image REF       pull: the image (default --image)\n"
	"  --pull-runs N          pull: pulls per variant (3)\n"
	"  --command CMD          container command (default sleep 3600)\n"
	"  --runtime-handler H    RuntimeClass handler for pods\n"
	"  --pod-config FILE      pod config template (crictl JSON)\n"
	"  --container-config FILE  container config template\n"
	"  --cgroup-parent P      pods' cgroup parent\n"
	"  --json FILE            also write the results as JSON\n"
	"  --metrics-address A    metrics: also scrape http://A/metrics\n"
	"  --settle S             before each scenario, wait up to S s for\n"
	"                         the CPUs to be 90% idle over 0.5 s (0)\n"
	"  --server-pid PID       memory: the server (default: socket peer)\n"
	"  --helper-exe PATH      memory: helpers by /proc/PID/exe\n"
	"  --helper-match STR     memory: helpers by a cmdline substring\n";

static void on_sigint(int sig)
{
	(void)sig;
	bench_interrupted = 1;
}

static gboolean parse_uint(const char *s, guint *out)
{
	char *end = NULL;
	errno = 0;
	guint64 v = g_ascii_strtoull(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v > G_MAXINT)
		return FALSE;
	*out = (guint)v;
	return TRUE;
}

/* A JSON array of strings, or words split on blanks. */
static char **parse_command(const char *s)
{
	json_t *j = json_loads(s, 0, NULL);
	if (json_is_array(j)) {
		char **v = g_new0(char *, json_array_size(j) + 1);
		size_t i;
		json_t *e;
		json_array_foreach(j, i, e) v[i] = g_strdup(
			json_string_value(e) ? json_string_value(e) : "");
		json_decref(j);
		return v;
	}
	json_decref(j);
	char **v = NULL;
	if (!g_shell_parse_argv(s, NULL, &v, NULL))
		return NULL;
	return v;
}

static int parse_opts(BenchOpts *o, int argc, char **argv)
{
	enum {
		O_SAMPLES = 256,
		O_CLIENTS,
		O_IMAGE,
		O_PULL_IMAGE,
		O_PULL_RUNS,
		O_COMMAND,
		O_HANDLER,
		O_POD,
		O_CTR,
		O_CGROUP,
		O_JSON,
		O_PID,
		O_HEXE,
		O_HMATCH,
		O_SETTLE,
		O_METRICS
	};
	static const struct option opts[] = {
		{"samples", required_argument, NULL, O_SAMPLES},
		{"clients", required_argument, NULL, O_CLIENTS},
		{"image", required_argument, NULL, O_IMAGE},
		{"pull-image", required_argument, NULL, O_PULL_IMAGE},
		{"pull-runs", required_argument, NULL, O_PULL_RUNS},
		{"command", required_argument, NULL, O_COMMAND},
		{"runtime-handler", required_argument, NULL, O_HANDLER},
		{"pod-config", required_argument, NULL, O_POD},
		{"container-config", required_argument, NULL, O_CTR},
		{"cgroup-parent", required_argument, NULL, O_CGROUP},
		{"json", required_argument, NULL, O_JSON},
		{"server-pid", required_argument, NULL, O_PID},
		{"helper-exe", required_argument, NULL, O_HEXE},
		{"helper-match", required_argument, NULL, O_HMATCH},
		{"settle", required_argument, NULL, O_SETTLE},
		{"metrics-address", required_argument, NULL, O_METRICS},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	guint pid = 0;
	gboolean ok = TRUE;
	ctl_getopt_reset();
	while (ok && (c = getopt_long(argc, argv, "+n:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			ok = parse_uint(optarg, &o->n);
			break;
		case O_SAMPLES:
			ok = parse_uint(optarg, &o->samples);
			break;
		case O_CLIENTS:
			ok = parse_uint(optarg, &o->clients);
			break;
		case O_PULL_RUNS:
			ok = parse_uint(optarg, &o->pull_runs);
			break;
		case O_IMAGE:
			o->image = optarg;
			break;
		case O_PULL_IMAGE:
			o->pull_image = optarg;
			break;
		case O_COMMAND:
			g_strfreev(o->command);
			ok = (o->command = parse_command(optarg)) != NULL &&
			     o->command[0] != NULL;
			break;
		case O_HANDLER:
			o->handler = optarg;
			break;
		case O_POD:
			o->pod_template = optarg;
			break;
		case O_CTR:
			o->ctr_template = optarg;
			break;
		case O_CGROUP:
			o->cgroup_parent = optarg;
			break;
		case O_JSON:
			o->json_out = optarg;
			break;
		case O_PID:
			ok = parse_uint(optarg, &pid);
			o->server_pid = (int)pid;
			break;
		case O_HEXE:
			o->helper_exe = optarg;
			break;
		case O_HMATCH:
			o->helper_match = optarg;
			break;
		case O_SETTLE:
			ok = parse_uint(optarg, &o->settle_s);
			break;
		case O_METRICS:
			o->metrics_address = optarg;
			break;
		case 'h':
			fputs(bench_usage, stdout);
			return CTL_EXIT_OK;
		default:
			ok = FALSE;
		}
	}
	if (!ok || optind >= argc) {
		fprintf(stderr, "berthctl: bench: %s\n%s",
			ok ? "no scenario given" : "bad flag", bench_usage);
		return CTL_EXIT_USAGE;
	}
	return -1;
}

static gboolean needs_image(const char *s)
{
	return strcmp(s, "version") != 0 && strcmp(s, "pod") != 0 &&
	       strcmp(s, "pull") != 0;
}

static json_t *server_info(Bench *b, GError **error)
{
	Runtime__V1__VersionRequest req = RUNTIME__V1__VERSION_REQUEST__INIT;
	Runtime__V1__VersionResponse *r =
		bench_call(b, b->ctx->stub, "Version", &req, NULL, error);
	if (r == NULL)
		return NULL;
	json_t *j = json_pack("{s:s,s:s}", "runtime_name", r->runtime_name,
			      "runtime_version", r->runtime_version);
	protobuf_c_message_free_unpacked(&r->base, NULL);
	return j;
}

static void print_table(json_t *results)
{
	g_autoptr(CtlTable) lat = ctl_table_new();
	g_autoptr(CtlTable) mem = ctl_table_new();
	ctl_table_row(lat, "SCENARIO", "VARIANT", "COUNT", "P50 MS", "P90 MS",
		      "P99 MS", "MAX MS", "OPS/S", NULL);
	ctl_table_row(mem, "MEMORY", "SERVER RSS KIB", "SERVER PSS KIB",
		      "HELPERS", "HELPERS RSS KIB", "HELPERS PSS KIB", NULL);
	gboolean any_lat = FALSE, any_mem = FALSE;
	size_t i;
	json_t *r;
	json_array_foreach(results, i, r)
	{
#define F(key) json_number_value(json_object_get(r, key))
		const char *variant =
			json_string_value(json_object_get(r, "variant"));
		if (json_object_get(r, "server_rss_kib") != NULL) {
			any_mem = TRUE;
			g_autofree char *a =
				g_strdup_printf("%.0f", F("server_rss_kib"));
			g_autofree char *p =
				g_strdup_printf("%.0f", F("server_pss_kib"));
			g_autofree char *n =
				g_strdup_printf("%.0f", F("helpers"));
			g_autofree char *ha =
				g_strdup_printf("%.0f", F("helpers_rss_kib"));
			g_autofree char *hp =
				g_strdup_printf("%.0f", F("helpers_pss_kib"));
			ctl_table_row(mem, variant, a, p, n, ha, hp, NULL);
			continue;
		}
		any_lat = TRUE;
		g_autofree char *n = g_strdup_printf("%.0f", F("count"));
		g_autofree char *p50 = g_strdup_printf("%.2f", F("p50_ms"));
		g_autofree char *p90 = g_strdup_printf("%.2f", F("p90_ms"));
		g_autofree char *p99 = g_strdup_printf("%.2f", F("p99_ms"));
		g_autofree char *mx = g_strdup_printf("%.2f", F("max_ms"));
		g_autofree char *tp =
			g_strdup_printf("%.1f", F("throughput_per_s"));
		ctl_table_row(lat,
			      json_string_value(json_object_get(r, "scenario")),
			      variant, n, p50, p90, p99, mx, tp, NULL);
#undef F
	}
	if (any_lat)
		ctl_table_print(lat, stdout);
	if (any_mem) {
		if (any_lat)
			putchar('\n');
		ctl_table_print(mem, stdout);
	}
}

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static gboolean load_template(const char *path, json_t **out, GError **error)
{
	if (path == NULL)
		return TRUE;
	json_error_t jerr;
	*out = json_load_file(path, 0, &jerr);
	if (*out == NULL || !json_is_object(*out))
		return berth_throw(error, INVALID_ARGUMENT, "%s:%d: %s", path,
				   jerr.line,
				   *out ? "not a JSON object" : jerr.text);
	return TRUE;
}

/* --settle: what the machine still does after the last run (a server's
 * or a shim's exit, garbage collection, a veth going away) must not fall
 * on this scenario's figures. */
static void settle_before(Bench *b, const char *scenario)
{
	if (b->o.settle_s > 0)
		bench_settle(scenario, b->o.settle_s);
}

static gboolean run_scenarios(Bench *b, int argc, char **argv, GError **error)
{
	for (int i = 0; i < argc && !bench_interrupted; i++) {
		if (!bench_scenario_find(argv[i]))
			return berth_throw(error, INVALID_ARGUMENT,
					   "unknown scenario \"%s\"", argv[i]);
		if (needs_image(argv[i]) && b->o.image == NULL)
			return berth_throw(error, INVALID_ARGUMENT,
					   "scenario %s needs --image",
					   argv[i]);
		if (strcmp(argv[i], "pull") == 0 && b->o.image == NULL &&
		    b->o.pull_image == NULL)
			return berth_throw(error, INVALID_ARGUMENT,
					   "scenario pull needs --pull-image");
	}
	for (int i = 0; i < argc; i++) {
		if (bench_interrupted)
			return berth_throw(error, CANCELLED, "interrupted");
		fprintf(stderr, "bench: scenario %s\n", argv[i]);
		if (needs_image(argv[i]) &&
		    !bench_ensure_image(b, b->o.image, error))
			return FALSE;
		settle_before(b, argv[i]);
		if (!bench_scenario_find(argv[i])(b, error)) {
			g_prefix_error(error, "%s: ", argv[i]);
			return FALSE;
		}
	}
	return TRUE;
}

static char *const all_scenarios[] = {
	"version", "pod",  "container", "start-to-running", "churn",
	"density", "pull", "exec",	"memory",
};

int ctl_cmd_bench(CtlCtx *ctx, int argc, char **argv)
{
	Bench b = {.ctx = ctx, .results = json_array()};
	int rc = parse_opts(&b.o, argc, argv);
	if (rc >= 0) {
		json_decref(b.results);
		return rc;
	}
	char **names = argv + optind;
	int n_names = argc - optind;
	if (n_names == 1 && strcmp(names[0], "all") == 0) {
		names = (char **)all_scenarios;
		n_names = G_N_ELEMENTS(all_scenarios);
	}
	b.op_timeout = ctx->timeout_given ? ctx->timeout_ms : 120000;
	g_snprintf(b.run_id, sizeof b.run_id, "%08x", g_random_int());
	b.log_root = g_strdup_printf("/tmp/berthctl-bench-%s", b.run_id);

	struct sigaction sa = {.sa_handler = on_sigint,
			       .sa_flags = SA_RESETHAND};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	g_autoptr(GError) error = NULL;
	json_t *server = NULL;
	gboolean ok = load_template(b.o.pod_template, &b.pod_tmpl, &error) &&
		      load_template(b.o.ctr_template, &b.ctr_tmpl, &error) &&
		      (server = server_info(&b, &error)) != NULL &&
		      run_scenarios(&b, n_names, names, &error);
	if (server != NULL)
		bench_cleanup_run(&b);
	nftw(b.log_root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);

	print_table(b.results);
	json_t *report = json_pack(
		"{s:s,s:o,s:s,s:O}", "endpoint", ctl_channel_endpoint(ctx->ch),
		"server", server ? server : json_object(), "runtime_handler",
		b.o.handler ? b.o.handler : "", "results", b.results);
	if (b.o.json_out != NULL &&
	    json_dump_file(report, b.o.json_out, JSON_INDENT(1)) != 0) {
		fprintf(stderr, "berthctl: bench: cannot write %s\n",
			b.o.json_out);
		ok = ok ? FALSE : ok;
		if (error == NULL)
			berth_throw(&error, INTERNAL, "write %s", b.o.json_out);
	}
	json_decref(report);
	json_decref(b.results);
	json_decref(b.pod_tmpl);
	json_decref(b.ctr_tmpl);
	g_strfreev(b.o.command);
	g_free(b.log_root);
	if (!ok)
		return error && error->code == BERTH_ERROR_INVALID_ARGUMENT &&
				       g_str_has_prefix(error->message,
							"unknown scenario")
			       ? (fprintf(stderr, "berthctl: bench: %s\n%s",
					  error->message, bench_usage),
				  CTL_EXIT_USAGE)
			       : ctl_fail(error);
	return CTL_EXIT_OK;
}
