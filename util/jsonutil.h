/* Small jansson helpers shared by every module: the one g_autoptr for
 * json_t, and the conversions the records on disk use. */
#pragma once

#include <glib.h>
#include <jansson.h>

G_DEFINE_AUTOPTR_CLEANUP_FUNC(json_t, json_decref)

/* json_dumps of o as a string to g_free (NULL when o cannot be dumped). */
char *berth_json_text(const json_t *o, size_t flags);

/* A NULL-terminated string list as a JSON array (NULL gives []). */
json_t *berth_json_from_strv(char *const *v);
/* A JSON array's strings as a NULL-terminated list (non-strings skipped;
 * anything but an array gives an empty list). */
char **berth_json_to_strv(json_t *a);
