/* Checked field access on jansson objects for the image documents: each
 * getter fails with INVALID_ARGUMENT naming the field when its type or
 * value is wrong. Absent and JSON null read the same. */
#pragma once

#include <glib.h>
#include <jansson.h>

#include "util/jsonutil.h"

/* Parse body (at most max bytes, no duplicate keys) that must be an
 * object; what names the document in errors. */
json_t *image_json_load(const char *body, gsize len, gsize max,
			const char *what, GError **error);

/* *out points into obj, NULL when absent and not required. */
gboolean image_json_string(json_t *obj, const char *key, gboolean required,
			   const char **out, GError **error);
/* A non-negative integer. */
gboolean image_json_size(json_t *obj, const char *key, gint64 *out,
			 GError **error);
/* An array of strings as a new NULL-terminated vector; empty when absent. */
gboolean image_json_strv(json_t *obj, const char *key, char ***out,
			 GError **error);
/* The keys of an object, sorted, as a new vector; empty when absent. */
gboolean image_json_keys(json_t *obj, const char *key, char ***out,
			 GError **error);
/* An object whose values are strings, as a new char* → char* table;
 * empty when absent. */
gboolean image_json_string_map(json_t *obj, const char *key, GHashTable **out,
			       GError **error);
/* An object or NULL when absent; fails on other types. */
gboolean image_json_object(json_t *obj, const char *key, gboolean required,
			   json_t **out, GError **error);
/* An array or NULL when absent; fails on other types. */
gboolean image_json_array(json_t *obj, const char *key, gboolean required,
			  json_t **out, GError **error);
