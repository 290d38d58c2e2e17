/* The control socket: resize the terminal, reopen the log, signal the
 * container, tell its pid. One message per command, one reply per command (see
 * conmon/protocol.h). */
#pragma once

#include "conmon/monitor.h"

typedef enum {
	CONMON_CTL_RESIZE,
	CONMON_CTL_REOPEN,
	CONMON_CTL_KILL,
	CONMON_CTL_PID,
} ConmonCtlKind;

typedef struct {
	ConmonCtlKind kind;
	unsigned short rows, cols;
	int signo;
} ConmonCtlCommand;

/* Parse one command (a trailing newline is allowed); 0, or -1 with a
 * reason in why. */
int conmon_ctl_parse(const char *msg, size_t len, ConmonCtlCommand *cmd,
		     char *why, size_t why_len);

/* Bind <socket-dir>/ctl and add it to the loop; 0 or -errno. */
int conmon_ctl_listen(Conmon *c);
void conmon_ctl_accept(Conmon *c);
void conmon_ctl_client_event(Conmon *c, int fd, uint32_t events);
/* Close the listener and remove the socket (clients are closed with it:
 * the monitor is about to exit). */
void conmon_ctl_close(Conmon *c);
