/* The container's stdio inside the monitor: output read from the pipes
 * (or the pty) goes to the log writer and to every attach client; stdin
 * frames are queued and written to the container without ever blocking. */
#pragma once

#include "conmon/monitor.h"

/* Read what fd (one of c->out) has; false once it reached EOF (it is
 * then closed and removed from the loop). */
bool conmon_io_pump(Conmon *c, int fd);

/* Read everything left on the output fds without waiting, then write the
 * partial lines out: the container is gone. */
void conmon_io_drain(Conmon *c);

/* Exec mode: read the output fds until each is empty for now or closed;
 * false when it stopped because the client cannot take more yet. */
bool conmon_io_drain_now(Conmon *c);

/* Put the output fds in the epoll set, or take them out while
 * c->output_paused; on a tty with stdin queued also watch writability. */
void conmon_io_watch_outputs(Conmon *c);

/* Set the terminal's window size; -ENOTTY without a terminal, or
 * -errno. */
int conmon_io_resize(Conmon *c, unsigned rows, unsigned cols);

/* Write partial lines that waited longer than the idle delay; returns the
 * epoll timeout (ms) until the next one is due, -1 for none. */
int conmon_io_flush_idle(Conmon *c);

/* Write bytes to the container's stdin, queueing what it cannot take now;
 * while the queue holds bytes the attach clients are not read (their own
 * socket buffers push back on them). Dropped when stdin is closed. */
void conmon_io_stdin_write(Conmon *c, const char *data, size_t len);
/* Close stdin once what is queued is written (on a tty: send EOF). */
void conmon_io_stdin_close(Conmon *c);
/* The stdin fd became writable. */
void conmon_io_stdin_ready(Conmon *c);
/* Whether more stdin can be queued now. */
bool conmon_io_stdin_has_room(const Conmon *c);
