/* What conmon/client.c shares with conmon/client-exec.c: spawning a
 * monitor with one fd passed as fd 3, and its diagnostics file. Not for
 * use outside conmon/client*.c. */
#pragma once

#include <glib.h>
#include <sys/types.h>

/* The sync pipe (container mode) or the attach socket (exec mode). */
#define CONMON_PASSED_FD 3

/* stdin and stdout /dev/null, stderr diag_fd, pass_fd as fd 3; a session
 * of its own, default signals. */
gboolean conmon_spawn_monitor(GPtrArray *argv, int diag_fd, int pass_fd,
			      pid_t *pid, GError **error);
/* The spawned process forks the monitor and exits at once: reap it. */
gboolean conmon_wait_spawned(pid_t pid, GError **error);
/* fd must not already be fd 3: dup2 onto itself would keep its
 * close-on-exec flag. Moves it (close-on-exec) when it is. */
gboolean conmon_pass_fd_ready(int *fd, GError **error);
/* Open <socket_dir>/conmon.log for appending, or -1. */
int conmon_open_diag(const char *socket_dir, GError **error);
/* Its last line ("" when there is none). */
char *conmon_diag_tail(const char *socket_dir);
