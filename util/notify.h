/* systemd's service notifications for a Type=notify unit, through
 * libsystemd: READY once CRI is served, STATUS while starting, STOPPING at
 * shutdown, and WATCHDOG keep-alives when the unit sets WatchdogSec. Where
 * no systemd listens (no NOTIFY_SOCKET) every call does nothing. */
#pragma once

#include <glib.h>

/* "READY=1" with a status line. */
void berth_notify_ready(const char *status);
/* A STATUS= line: what berthd is doing now. */
void berth_notify_status(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
void berth_notify_stopping(void);
/* Send WATCHDOG=1 at half the unit's watchdog interval from a thread of
 * its own, while alive() (called each time) says the daemon is well. No
 * thread when the unit has no watchdog. */
void berth_notify_watchdog_start(gboolean (*alive)(gpointer), gpointer data);

/* The environment children get: berthd's own without what systemd meant
 * for berthd alone (NOTIFY_SOCKET, WATCHDOG_*, LISTEN_*), which a child
 * would otherwise take as its own (runc and crun do). Made once. */
char *const *berth_child_environ(void);

/* TRUE only when PID 1 is systemd: /run/systemd/system exists (as
 * sd_booted says) and PID 1 calls itself systemd (not a container's init
 * on a host whose /run is shared). */
gboolean berth_systemd_is_pid1(void);
