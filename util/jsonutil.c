/* String lists to and from JSON arrays. */
#include "util/jsonutil.h"

char *berth_json_text(const json_t *o, size_t flags)
{
	char *text = json_dumps(o, flags);
	char *out = g_strdup(text);
	free(text);
	return out;
}

json_t *berth_json_from_strv(char *const *v)
{
	json_t *a = json_array();
	for (char *const *p = v; p && *p; p++)
		json_array_append_new(a, json_string(*p));
	return a;
}

char **berth_json_to_strv(json_t *a)
{
	g_autoptr(GStrvBuilder) b = g_strv_builder_new();
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v)
	{
		if (json_is_string(v))
			g_strv_builder_add(b, json_string_value(v));
	}
	return g_strv_builder_end(b);
}
