/* Exec mode: one process started with `runtime exec --detach` in a
 * running container, its stdio relayed over one attach connection (the
 * socketpair end berthd passed as --attach-fd) with back-pressure, and
 * its exit status as the last frame. A hang-up of the connection (or
 * SIGTERM, SIGINT, SIGHUP) kills the process; the monitor then exits.
 * Frames: conmon/protocol.h. */
#pragma once

#include "conmon/monitor.h"

/* Run the exec session after the daemonizing forks; the exit status. */
int conmon_exec_run(const ConmonConfig *cfg);

/* Send {"error": why} as an ERROR frame on fd (bad arguments, failed
 * start). */
void conmon_exec_report_error(int fd, const char *why);

/* An output frame for the client. When its socket is full the frame
 * waits (its bytes stay in the reader's buffer) and output is no longer
 * read until the client takes it. */
void conmon_exec_output(Conmon *c, int type, const char *data, size_t len);

/* Watch the connection for what is wanted now: frames unless stdin
 * holds them back, writability while a frame waits. */
void conmon_exec_rewatch(Conmon *c);

/* An epoll event on the connection. */
void conmon_exec_event(Conmon *c, uint32_t events);

/* End the session: the process is killed, the loop stops. */
void conmon_exec_hang_up(Conmon *c, const char *why);

/* The EXIT frame's payload for a waitpid status. */
size_t conmon_exec_exit_payload(int wait_status, char *out, size_t cap);
