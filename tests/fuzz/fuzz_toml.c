/* Fuzz target: config/toml.c (the TOML 1.0 reader) and berthd's config on
 * top of it: merge over the built-in defaults, validate, and print the
 * result back as TOML, which must merge back to the same config. */
#include "config/config.h"
#include "config/toml.h"
#include "tests/fuzz/fuzz.h"
#include "util/error.h"

#include <string.h>

static void walk(const TomlValue *v, guint depth)
{
	fuzz_check(depth < 10000);
	fuzz_check(toml_line(v) >= 1 && toml_col(v) >= 1);
	switch (toml_type(v)) {
	case TOML_TABLE:
		for (guint i = 0; i < toml_table_size(v); i++) {
			const char *key = toml_table_key_at(v, i);
			fuzz_check(toml_table_get(v, key) ==
				   toml_table_value_at(v, i));
			fuzz_check(toml_key_line(v, i) >= 1);
			walk(toml_table_value_at(v, i), depth + 1);
		}
		break;
	case TOML_ARRAY:
		for (guint i = 0; i < toml_array_len(v); i++)
			walk(toml_array_get(v, i), depth + 1);
		break;
	case TOML_STRING:
	case TOML_DATETIME:
		fuzz_check(g_utf8_validate(toml_string(v), -1, NULL));
		break;
	default:
		break;
	}
	fuzz_check(toml_type_name(toml_type(v)) != NULL);
}

/* toml_quote_string promises a basic string that parses back. */
static void check_quote(const uint8_t *data, size_t size)
{
	g_autofree char *s = fuzz_cstr(data, size);
	g_autofree char *q = toml_quote_string(s);
	g_autofree char *doc = g_strdup_printf("k = %s\n", q);
	g_autoptr(GError) error = NULL;
	g_autoptr(TomlValue) root =
		toml_parse(doc, strlen(doc), "quote", &error);
	fuzz_check(root != NULL);
	const TomlValue *k = toml_table_get(root, "k");
	fuzz_check(k != NULL && toml_type(k) == TOML_STRING);
	if (g_utf8_validate(s, -1, NULL))
		fuzz_check(strcmp(toml_string(k), s) == 0);
}

/* What berth_config_to_toml prints merges back to the same config. */
static void check_config(const uint8_t *data, size_t size)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(BerthConfig) c = berth_config_new_default();
	if (!berth_config_merge_toml(c, (const char *)data, size, "fuzz.conf",
				     &error)) {
		fuzz_check(error != NULL && error->domain == BERTH_ERROR);
		return;
	}
	g_autoptr(GError) invalid = NULL;
	(void)berth_config_validate(c, &invalid);
	g_autofree char *json = berth_config_to_json(c);
	fuzz_check(json != NULL);
	g_autofree char *toml = berth_config_to_toml(c);
	g_autoptr(BerthConfig) again = berth_config_new_default();
	if (!berth_config_merge_toml(again, toml, strlen(toml), "printed",
				     &error))
		fuzz_fail("printed config does not merge back: %s\n%s",
			  error->message, toml);
	g_autofree char *toml2 = berth_config_to_toml(again);
	fuzz_check(strcmp(toml, toml2) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(TomlValue) root =
		toml_parse((const char *)data, size, "fuzz.toml", &error);
	if (root != NULL)
		walk(root, 0);
	else
		fuzz_check(error != NULL && error->domain == BERTH_ERROR);
	check_quote(data, size);
	check_config(data, size);
	return 0;
}
