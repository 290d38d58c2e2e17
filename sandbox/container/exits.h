/* Container exits arrive as files: berth-conmon writes <dir>/<id>
 * atomically (a tmp file renamed into place) when a container's init
 * exits; names are container ids. This watches the dir with
 * inotify (no polling) and hands each new file's name to a callback, on the
 * watcher's own thread. */
#pragma once

#include <glib.h>

typedef void (*ExitFn)(const char *id, gpointer data);

typedef struct ExitWatch ExitWatch;

/* Creates dir when missing. Files already there are not reported: the
 * caller reads them at recovery (exits_list). */
ExitWatch *exit_watch_new(const char *dir, ExitFn fn, gpointer data,
			  GError **error);
void exit_watch_free(ExitWatch *w);

/* Names of the exit files in dir now. */
GPtrArray *exits_list(const char *dir);
