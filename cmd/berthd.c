/* berthd: the berth CRI server. Flags and config, then serve until
 * SIGTERM/SIGINT. `berthd config` prints the effective configuration. */
#include "config/config.h"
#include "cri/core.h"
#include "cri/methods.h"
#include "server/server.h"
#include "util/notify.h"
#include "util/log.h"
#include "util/malloc.h"

#include <grpc/grpc.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* A helper binary that ships beside berthd in bin/. */
static char *sibling_binary(const char *name)
{
	g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
	g_autofree char *dir = self ? g_path_get_dirname(self) : g_strdup(".");
	return g_build_filename(dir, name, NULL);
}

static int serve(BerthConfig *config)
{
	BerthLogLevel level = BERTH_LOG_INFO;
	berth_log_level_parse(config->log_level, &level);
	berth_log_set_level(level);

	/* Signals are taken by sigwait in main only; every thread created
	 * from here on (gRPC's included) inherits the mask. */
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	g_autofree char *pause = sibling_binary("berth-pause");
	g_autofree char *conmon = config->conmon[0]
					  ? g_strdup(config->conmon)
					  : sibling_binary("berth-conmon");
	g_autoptr(GError) error = NULL;
	berth_notify_status("starting: probing runtimes, recovering pods and "
			    "containers");
	BerthServer *state = berth_server_new(config, pause, conmon, &error);
	if (state == NULL) {
		log_error("cannot start: %s", error->message);
		return 1;
	}
	grpc_init();
	CriServerOptions opts = {
		.listen_path = config->listen,
		.listen_group = config->listen_group,
		.max_recv_msg_size = config->grpc_max_recv_msg_size,
		.max_send_msg_size = config->grpc_max_send_msg_size,
		.shutdown_grace_ms = config->shutdown_grace * 1000,
	};
	CriServer *srv = cri_server_new(&opts, state);
	cri_methods_register(srv);
	int rc = 0;
	if (!cri_server_start(srv, &error)) {
		log_error("cannot serve: %s", error->message);
		rc = 1;
	} else {
		log_info("berthd %s serving CRI v1 on %s (%u methods)",
			 BERTH_VERSION, config->listen,
			 cri_server_method_count(srv));
		g_autofree char *status = berth_server_summary(state);
		berth_notify_ready(status);
		berth_notify_watchdog_start(NULL, NULL);
		for (;;) {
			int sig = 0;
			sigwait(&set, &sig);
			if (sig == SIGTERM || sig == SIGINT) {
				log_info("%s: shutting down", strsignal(sig));
				berth_notify_stopping();
				break;
			}
		}
		berth_server_close_streams(state);
		cri_server_stop(srv);
	}
	cri_server_free(srv);
	grpc_shutdown();
	berth_server_free(state);
	if (rc == 0)
		log_info("stopped");
	return rc;
}

int main(int argc, char **argv)
{
	berth_malloc_tune();
	gboolean exit_now = FALSE;
	g_autoptr(GError) error = NULL;
	g_autoptr(BerthConfig) config =
		berth_config_from_args(&argc, &argv, &exit_now, &error);
	if (exit_now)
		return 0;
	if (config == NULL) {
		fprintf(stderr, "berthd: %s\n", error->message);
		return 2;
	}
	if (argc > 1 && strcmp(argv[1], "config") == 0) {
		g_autofree char *text = berth_config_to_toml(config);
		fputs(text, stdout);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "berthd: unknown command \"%s\" (try --help)\n",
			argv[1]);
		return 2;
	}
	return serve(config);
}
