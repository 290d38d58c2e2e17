/* berth-conmon: the monitor of one container, or of one exec session
 * with --exec (see conmon/args.h for its flags and conmon/protocol.h for
 * how berthd talks to it). */
#include "conmon/args.h"
#include "conmon/exec.h"
#include "conmon/monitor.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

/* Only the three stdio fds and the sync (or attach) fd survive from the
 * spawner. */
static void close_other_fds(int keep)
{
	if (keep > 3)
		close_range(3, (unsigned)keep - 1, 0);
	close_range((unsigned)keep + 1, ~0u, 0);
}

static void report_error(const ConmonConfig *cfg, const char *why)
{
	if (cfg->exec)
		conmon_exec_report_error(cfg->attach_fd, why);
	else
		conmon_report_error(cfg->sync_fd, why);
}

int main(int argc, char **argv)
{
	ConmonConfig cfg;
	char why[512];
	int r = conmon_args_parse(argc, argv, &cfg, why, sizeof why);
	if (r > 0)
		return 0;
	int *fd = cfg.exec ? &cfg.attach_fd : &cfg.sync_fd;
	if (r == 0 && fcntl(*fd, F_SETFD, FD_CLOEXEC) < 0) {
		snprintf(why, sizeof why, "--%s %d is not open",
			 cfg.exec ? "attach-fd" : "sync-fd", *fd);
		*fd = -1;
		r = -1;
	}
	if (r < 0) {
		fprintf(stderr, "berth-conmon: %s\n", why);
		report_error(&cfg, why);
		return 2;
	}
	close_other_fds(*fd);
	if (conmon_daemonize() < 0) {
		report_error(&cfg, "fork: cannot daemonize");
		return 1;
	}
	return cfg.exec ? conmon_exec_run(&cfg) : conmon_run(&cfg);
}
