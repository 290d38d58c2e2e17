/* The effective configuration as TOML (accepted back unchanged) and JSON. */
#include "config/config.h"
#include "config/keys.h"
#include "config/toml.h"

#include <jansson.h>
#include <string.h>

static void toml_strings(GString *out, char **list)
{
	g_string_append_c(out, '[');
	for (char **p = list; *p != NULL; p++) {
		g_autofree char *q = toml_quote_string(*p);
		g_string_append_printf(out, "%s%s", p == list ? "" : ", ", q);
	}
	g_string_append_c(out, ']');
}

static void toml_key_value(GString *out, const BerthConfig *c,
			   const ConfigKey *k)
{
	const void *slot = config_key_cslot(c, k);
	g_string_append_printf(out, "# %s\n%s = ", k->help, k->key);
	switch (k->type) {
	case CK_STRING: {
		g_autofree char *q = toml_quote_string(*(char *const *)slot);
		g_string_append(out, q);
		break;
	}
	case CK_STRINGS:
		toml_strings(out, *(char **const *)slot);
		break;
	case CK_INT:
		g_string_append_printf(out, "%" G_GINT64_FORMAT,
				       *(const gint64 *)slot);
		break;
	case CK_BOOL:
		g_string_append(out,
				*(const gboolean *)slot ? "true" : "false");
		break;
	}
	g_string_append(out, "\n\n");
}

char *berth_config_to_toml(const BerthConfig *c)
{
	GString *out =
		g_string_new("# berthd configuration "
			     "(berthd config prints the effective one)\n");
	for (const char *const *s = config_sections; *s != NULL; s++) {
		g_string_append_printf(out, "\n[%s]\n", *s);
		for (const ConfigKey *k = config_keys; k->key != NULL; k++) {
			if (strcmp(k->section, *s) == 0)
				toml_key_value(out, c, k);
		}
		if (strcmp(*s, "berth.runtime") != 0)
			continue;
		for (guint i = 0; i < c->runtimes->len; i++) {
			const BerthRuntimeHandler *h =
				g_ptr_array_index(c->runtimes, i);
			g_autofree char *p = toml_quote_string(h->runtime_path);
			g_autofree char *r = toml_quote_string(h->runtime_root);
			g_string_append_printf(
				out,
				"[berth.runtime.runtimes.%s]\nruntime_path = "
				"%s\nruntime_root = %s\n\n",
				h->name, p, r);
		}
	}
	return g_string_free(out, FALSE);
}

static json_t *json_strings(char **list)
{
	json_t *a = json_array();
	for (char **p = list; *p != NULL; p++)
		json_array_append_new(a, json_string(*p));
	return a;
}

char *berth_config_to_json(const BerthConfig *c)
{
	json_t *root = json_object();
	for (const char *const *s = config_sections; *s != NULL; s++) {
		json_t *sec = json_object();
		for (const ConfigKey *k = config_keys; k->key != NULL; k++) {
			if (strcmp(k->section, *s) != 0)
				continue;
			const void *slot = config_key_cslot(c, k);
			json_t *v = NULL;
			switch (k->type) {
			case CK_STRING:
				v = json_string(*(char *const *)slot);
				break;
			case CK_STRINGS:
				v = json_strings(*(char **const *)slot);
				break;
			case CK_INT:
				v = json_integer(*(const gint64 *)slot);
				break;
			case CK_BOOL:
				v = json_boolean(*(const gboolean *)slot);
				break;
			}
			json_object_set_new(sec, k->key, v);
		}
		if (strcmp(*s, "berth.runtime") == 0) {
			json_t *rts = json_object();
			for (guint i = 0; i < c->runtimes->len; i++) {
				const BerthRuntimeHandler *h =
					g_ptr_array_index(c->runtimes, i);
				json_object_set_new(rts, h->name,
						    json_pack("{s:s, s:s}",
							      "runtime_path",
							      h->runtime_path,
							      "runtime_root",
							      h->runtime_root));
			}
			json_object_set_new(sec, "runtimes", rts);
		}
		json_object_set_new(root, *s, sec);
	}
	char *text = json_dumps(root, JSON_SORT_KEYS | JSON_COMPACT);
	json_decref(root);
	char *out = g_strdup(text);
	free(text);
	return out;
}
