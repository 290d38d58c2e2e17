/* Small jansson conversions shared by the records on disk. */
#pragma once

#include <glib.h>
#include <jansson.h>

/* A NULL-terminated string list as a JSON array (NULL gives []). */
json_t *berth_json_from_strv(char *const *v);
/* A JSON array's strings as a NULL-terminated list (non-strings skipped;
 * anything but an array gives an empty list). */
char **berth_json_to_strv(json_t *a);
