/* The attach socket: any number of clients at once; each gets the
 * container's output as STDOUT/STDERR frames and may send STDIN,
 * CLOSE_STDIN and RESIZE frames (see conmon/protocol.h). */
#pragma once

#include "conmon/monitor.h"

/* Bind <socket-dir>/attach and add it to the loop; 0 or -errno. */
int conmon_attach_listen(Conmon *c);
void conmon_attach_accept(Conmon *c);
void conmon_attach_client_event(Conmon *c, int fd, uint32_t events);

/* Send one frame to every client; a client that cannot take it now
 * (its socket buffer is full) is dropped rather than stall the
 * container. */
void conmon_attach_broadcast(Conmon *c, int type, const char *data, size_t len);

/* Act on one frame from a client (or the exec connection). */
void conmon_attach_frame(Conmon *c, const char *frame, size_t len);

/* A RESIZE frame's payload; 0, or -1 when it is not 4 bytes. */
int conmon_attach_parse_resize(const char *payload, size_t len, unsigned *rows,
			       unsigned *cols);

/* Stop or resume reading frames from clients (stdin back-pressure). */
void conmon_attach_pause(Conmon *c, bool paused);

/* Close every client and the listener and remove the socket. */
void conmon_attach_close(Conmon *c);
