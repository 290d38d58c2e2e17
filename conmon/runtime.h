/* Creating the container: the OCI runtime's `create` (or `run --detach`
 * with --start), run with the container's stdio (pipes, or a pty received
 * on a console socket), and its failure turned into the runtime's own
 * message. */
#pragma once

#include "conmon/monitor.h"

#include <stddef.h>

/* Run `<runtime> create` (`run --detach` with --start), or `<runtime>
 * exec --detach` in exec mode; on success c->container_pid (the exec'd
 * process in exec mode), c->out and c->stdin_fd are set. On failure returns -1
 * with the runtime's message in why, -ETIMEDOUT when it ran out of time. */
int conmon_runtime_create(Conmon *c, char *why, size_t why_len);

/* `<runtime> delete --force <id>` with the create's deadline, once the
 * container is reaped; on success CONMON_DELETED_FILE is written in the
 * socket dir (the cwd). 0, -ETIMEDOUT, -ECHILD when the runtime failed,
 * or another -errno. */
int conmon_runtime_delete(Conmon *c);

/* The message of a failed create: the last error in the runtime's JSON
 * log (runc and crun: {"level":"error","msg":...}), else the last line
 * of that log, else of its stderr, else how it exited. */
void conmon_runtime_error_message(const char *log_text, const char *stderr_text,
				  int wait_status, char *out, size_t cap);
