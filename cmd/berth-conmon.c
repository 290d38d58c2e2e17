/* berth-conmon: the monitor of one container (see conmon/args.h for its
 * flags and conmon/protocol.h for how berthd talks to it). */
#include "conmon/args.h"
#include "conmon/monitor.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

/* Only the three stdio fds and the sync fd survive from the spawner. */
static void close_other_fds(int keep)
{
	if (keep > 3)
		close_range(3, (unsigned)keep - 1, 0);
	close_range((unsigned)keep + 1, ~0u, 0);
}

int main(int argc, char **argv)
{
	ConmonConfig cfg;
	char why[512];
	int r = conmon_args_parse(argc, argv, &cfg, why, sizeof why);
	if (r > 0)
		return 0;
	if (r == 0 && fcntl(cfg.sync_fd, F_SETFD, FD_CLOEXEC) < 0) {
		snprintf(why, sizeof why, "--sync-fd %d is not open",
			 cfg.sync_fd);
		cfg.sync_fd = -1;
		r = -1;
	}
	if (r < 0) {
		fprintf(stderr, "berth-conmon: %s\n", why);
		conmon_report_error(cfg.sync_fd, why);
		return 2;
	}
	close_other_fds(cfg.sync_fd);
	if (conmon_daemonize() < 0) {
		conmon_report_error(cfg.sync_fd, "fork: cannot daemonize");
		return 1;
	}
	return conmon_run(&cfg);
}
