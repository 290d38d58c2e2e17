/* Notices monitors that die: one thread on epoll over the pidfds of the
 * berth-conmon processes (no polling). A monitor writes its container's
 * exit file before it exits, so a monitor gone without one was killed. */
#pragma once

#include <glib.h>

typedef void (*MonitorGoneFn)(const char *id, gpointer data);

typedef struct MonWatch MonWatch;

MonWatch *monwatch_new(MonitorGoneFn fn, gpointer data, GError **error);
void monwatch_free(MonWatch *w);

/* Watch the monitor pid of container id; fn(id) runs on the watcher's
 * thread when it exits. A pid already gone reports at once. */
gboolean monwatch_add(MonWatch *w, int pid, const char *id, GError **error);
