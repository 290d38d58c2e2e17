/* berthctl: a small CRI client with crictl's command names and a
 * benchmark mode. main() parses the global flags, connects, and hands the
 * rest of argv to the command (all logic lives in client/). */
#include "client/ctl.h"
#include "util/malloc.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: berthctl [-r ENDPOINT] [--timeout SECONDS] COMMAND "
		"[ARGS]\n\n"
		"  -r, --runtime-endpoint  unix:///path or a path "
		"(env BERTH_ENDPOINT; default %s)\n"
		"  -t, --timeout           seconds per call (default 10; pull "
		"300)\n\n"
		"commands:\n",
		CTL_DEFAULT_ENDPOINT);
	ctl_print_commands(out);
}

/* "10", "10s", "1m", "500ms", as crictl's durations or plain seconds. */
static gboolean parse_timeout(const char *s, gint64 *ms)
{
	char *end = NULL;
	double v = g_ascii_strtod(s, &end);
	if (end == s || v < 0)
		return FALSE;
	if (*end == '\0' || strcmp(end, "s") == 0)
		*ms = (gint64)(v * 1000);
	else if (strcmp(end, "ms") == 0)
		*ms = (gint64)v;
	else if (strcmp(end, "m") == 0)
		*ms = (gint64)(v * 60000);
	else
		return FALSE;
	return TRUE;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"runtime-endpoint", required_argument, NULL, 'r'},
		{"image-endpoint", required_argument, NULL, 'i'},
		{"timeout", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	berth_malloc_tune();
	const char *endpoint = g_getenv("BERTH_ENDPOINT");
	CtlCtx ctx = {.timeout_ms = CTL_DEFAULT_TIMEOUT_MS};
	int c;
	while ((c = getopt_long(argc, argv, "+r:i:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			endpoint = optarg;
			break;
		case 'i':
			/* One server serves both services. */
			break;
		case 't':
			if (!parse_timeout(optarg, &ctx.timeout_ms)) {
				fprintf(stderr,
					"berthctl: bad --timeout \"%s\"\n",
					optarg);
				return CTL_EXIT_USAGE;
			}
			ctx.timeout_given = TRUE;
			break;
		case 'h':
			usage(stdout);
			return CTL_EXIT_OK;
		case 'V':
			printf("berthctl %s (%s)\n", BERTH_VERSION,
			       BERTH_COMMIT);
			return CTL_EXIT_OK;
		default:
			usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (ctl_command_find(argv[optind]) == NULL) {
		fprintf(stderr, "berthctl: unknown command \"%s\"\n",
			argv[optind]);
		usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (endpoint == NULL || endpoint[0] == '\0')
		endpoint = CTL_DEFAULT_ENDPOINT;
	g_autoptr(GError) error = NULL;
	ctx.ch = ctl_channel_new(endpoint, &error);
	if (ctx.ch == NULL)
		return ctl_fail(error);
	ctx.stub = ctl_stub_new(ctx.ch);
	int rc = ctl_run(&ctx, argc - optind, argv + optind);
	fflush(stdout);
	ctl_stub_free(ctx.stub);
	ctl_channel_unref(ctx.ch);
	return rc;
}
