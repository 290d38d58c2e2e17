/* Typed, checked getters over jansson for manifests and configs. */
#include "image/json.h"

#include <stdlib.h>
#include <string.h>

#include "util/error.h"

json_t *image_json_load(const char *body, gsize len, gsize max,
			const char *what, GError **error)
{
	json_error_t jerr;
	if (len > max) {
		berth_throw(error, INVALID_ARGUMENT,
			    "%s is %zu bytes, more than the %zu allowed", what,
			    len, max);
		return NULL;
	}
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		berth_throw(error, INVALID_ARGUMENT,
			    "%s is not valid JSON: %s (line %d, column %d)",
			    what, jerr.text, jerr.line, jerr.column);
		return NULL;
	}
	if (!json_is_object(root)) {
		json_decref(root);
		berth_throw(error, INVALID_ARGUMENT, "%s is not a JSON object",
			    what);
		return NULL;
	}
	return root;
}

/* The value at key, NULL for absent or JSON null. */
static json_t *image_json_get(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);
	return json_is_null(v) ? NULL : v;
}

static gboolean image_json_missing(const char *key, gboolean required,
				   GError **error)
{
	if (required)
		return berth_throw(error, INVALID_ARGUMENT,
				   "missing field \"%s\"", key);
	return TRUE;
}

gboolean image_json_string(json_t *obj, const char *key, gboolean required,
			   const char **out, GError **error)
{
	json_t *v = image_json_get(obj, key);
	*out = NULL;
	if (v == NULL)
		return image_json_missing(key, required, error);
	if (!json_is_string(v))
		return berth_throw(error, INVALID_ARGUMENT,
				   "field \"%s\" must be a string", key);
	if (strlen(json_string_value(v)) != json_string_length(v))
		return berth_throw(error, INVALID_ARGUMENT,
				   "field \"%s\" contains a NUL byte", key);
	*out = json_string_value(v);
	return TRUE;
}

gboolean image_json_size(json_t *obj, const char *key, gint64 *out,
			 GError **error)
{
	json_t *v = image_json_get(obj, key);
	if (v == NULL)
		return image_json_missing(key, TRUE, error);
	if (!json_is_integer(v))
		return berth_throw(error, INVALID_ARGUMENT,
				   "field \"%s\" must be an integer", key);
	if (json_integer_value(v) < 0)
		return berth_throw(error, INVALID_ARGUMENT,
				   "field \"%s\" must not be negative", key);
	*out = json_integer_value(v);
	return TRUE;
}

gboolean image_json_object(json_t *obj, const char *key, gboolean required,
			   json_t **out, GError **error)
{
	json_t *v = image_json_get(obj, key);
	*out = NULL;
	if (v == NULL)
		return image_json_missing(key, required, error);
	if (!json_is_object(v))
		return berth_throw(error, INVALID_ARGUMENT,
				   "field \"%s\" must be an object", key);
	*out = v;
	return TRUE;
}

gboolean image_json_array(json_t *obj, const char *key, gboolean required,
			  json_t **out, GError **error)
{
	json_t *v = image_json_get(obj, key);
	*out = NULL;
	if (v == NULL)
		return image_json_missing(key, required, error);
	if (!json_is_array(v))
		return berth_throw(error, INVALID_ARGUMENT,
				   "field \"%s\" must be an array", key);
	*out = v;
	return TRUE;
}

gboolean image_json_strv(json_t *obj, const char *key, char ***out,
			 GError **error)
{
	json_t *arr;
	if (!image_json_array(obj, key, FALSE, &arr, error))
		return FALSE;
	gsize n = arr ? json_array_size(arr) : 0;
	g_auto(GStrv) v = g_new0(char *, n + 1);
	for (gsize i = 0; i < n; i++) {
		json_t *s = json_array_get(arr, i);
		if (!json_is_string(s) ||
		    strlen(json_string_value(s)) != json_string_length(s))
			return berth_throw(error, INVALID_ARGUMENT,
					   "field \"%s\": element %zu must be "
					   "a string without NUL bytes",
					   key, i);
		v[i] = g_strdup(json_string_value(s));
	}
	*out = g_steal_pointer(&v);
	return TRUE;
}

static int image_json_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

gboolean image_json_keys(json_t *obj, const char *key, char ***out,
			 GError **error)
{
	json_t *o;
	if (!image_json_object(obj, key, FALSE, &o, error))
		return FALSE;
	gsize n = o ? json_object_size(o) : 0, i = 0;
	char **v = g_new0(char *, n + 1);
	const char *k;
	json_t *val;
	if (o != NULL) {
		json_object_foreach(o, k, val)
		{
			v[i++] = g_strdup(k);
		}
	}
	qsort(v, i, sizeof(char *), image_json_cmp);
	*out = v;
	return TRUE;
}

gboolean image_json_string_map(json_t *obj, const char *key, GHashTable **out,
			       GError **error)
{
	json_t *o;
	if (!image_json_object(obj, key, FALSE, &o, error))
		return FALSE;
	g_autoptr(GHashTable) map =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	const char *k;
	json_t *val;
	if (o != NULL) {
		json_object_foreach(o, k, val)
		{
			if (!json_is_string(val))
				return berth_throw(error, INVALID_ARGUMENT,
						   "field \"%s\": value of "
						   "\"%s\" must be a string",
						   key, k);
			g_hash_table_insert(map, g_strdup(k),
					    g_strdup(json_string_value(val)));
		}
	}
	*out = g_steal_pointer(&map);
	return TRUE;
}
