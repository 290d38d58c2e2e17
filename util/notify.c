/* systemd notifications (sd_notify) and the environment children get. */
#include "util/notify.h"
#include "util/log.h"

#include <stdarg.h>
#include <string.h>
#include <systemd/sd-daemon.h>

extern char **environ;

void berth_notify_ready(const char *status)
{
	sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

void berth_notify_status(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *status = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	sd_notifyf(0, "STATUS=%s", status);
}

void berth_notify_stopping(void)
{
	sd_notify(0, "STOPPING=1\nSTATUS=stopping");
}

typedef struct {
	guint64 interval_us;
	gboolean (*alive)(gpointer);
	gpointer data;
} Watchdog;

static gpointer watchdog_run(gpointer p)
{
	Watchdog *w = p;
	for (;;) {
		g_usleep(w->interval_us / 2);
		if (w->alive == NULL || w->alive(w->data))
			sd_notify(0, "WATCHDOG=1");
		else
			log_warn("watchdog: not well, no keep-alive sent");
	}
	return NULL;
}

void berth_notify_watchdog_start(gboolean (*alive)(gpointer), gpointer data)
{
	uint64_t usec = 0;
	if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0)
		return;
	Watchdog *w = g_new0(Watchdog, 1);
	w->interval_us = usec;
	w->alive = alive;
	w->data = data;
	log_info("systemd watchdog: a keep-alive every %" G_GUINT64_FORMAT
		 " ms",
		 usec / 2000);
	g_thread_unref(g_thread_new("watchdog", watchdog_run, w));
}

static gboolean meant_for_berthd(const char *entry)
{
	static const char *const names[] = {
		"NOTIFY_SOCKET=", "WATCHDOG_USEC=",  "WATCHDOG_PID=",
		"LISTEN_FDS=",	  "LISTEN_FDNAMES=", "LISTEN_PID=",
	};
	for (gsize i = 0; i < G_N_ELEMENTS(names); i++)
		if (g_str_has_prefix(entry, names[i]))
			return TRUE;
	return FALSE;
}

static gpointer make_child_environ(gpointer unused)
{
	(void)unused;
	GPtrArray *env = g_ptr_array_new();
	for (char **e = environ; e && *e; e++)
		if (!meant_for_berthd(*e))
			g_ptr_array_add(env, g_strdup(*e));
	g_ptr_array_add(env, NULL);
	return g_ptr_array_free(env, FALSE);
}

char *const *berth_child_environ(void)
{
	static GOnce once = G_ONCE_INIT;
	return g_once(&once, make_child_environ, NULL);
}

gboolean berth_systemd_is_pid1(void)
{
	if (sd_booted() <= 0)
		return FALSE;
	g_autofree char *comm = NULL;
	if (!g_file_get_contents("/proc/1/comm", &comm, NULL, NULL))
		return FALSE;
	return strcmp(g_strstrip(comm), "systemd") == 0;
}
