/* berthd's command line: --config/--config-dir pick the files, and every
 * key with a flag in the key table can be overridden on the command line.
 * Flags are applied after all files, in the order given. */
#include "config/config.h"
#include "config/keys.h"
#include "util/error.h"
#include "util/notify.h"

#include <stdio.h>
#include <string.h>

typedef struct {
	const ConfigKey *key;
	char *value;
} FlagValue;

typedef struct {
	char *config_file;
	char *config_dir;
	gboolean version;
	GArray *flags; /* FlagValue, command-line order */
} Args;

static gboolean on_flag(const char *name, const char *value, gpointer data,
			GError **error)
{
	Args *a = data;
	const char *flag = name + 2; /* skip "--" */
	for (const ConfigKey *k = config_keys; k->key != NULL; k++) {
		if (k->flag == NULL || strcmp(k->flag, flag) != 0)
			continue;
		FlagValue fv = {k, g_strdup(value ? value : "true")};
		g_array_append_val(a->flags, fv);
		return TRUE;
	}
	return berth_throw(error, INVALID_ARGUMENT, "unknown flag %s", name);
}

static gboolean parse_bool(const char *s, gboolean *out)
{
	if (g_ascii_strcasecmp(s, "true") == 0 || strcmp(s, "1") == 0) {
		*out = TRUE;
		return TRUE;
	}
	if (g_ascii_strcasecmp(s, "false") == 0 || strcmp(s, "0") == 0) {
		*out = FALSE;
		return TRUE;
	}
	return FALSE;
}

/* Apply one flag. The first use of a list flag replaces the list from the
 * files; later uses append. Commas separate several values in one use. */
static gboolean apply_flag(BerthConfig *c, const FlagValue *fv,
			   GHashTable *lists_seen, GError **error)
{
	const ConfigKey *k = fv->key;
	void *slot = config_key_slot(c, k);
	switch (k->type) {
	case CK_STRING:
		g_free(*(char **)slot);
		*(char **)slot = g_strdup(fv->value);
		break;
	case CK_STRINGS: {
		g_autoptr(GStrvBuilder) b = g_strv_builder_new();
		if (g_hash_table_contains(lists_seen, k))
			g_strv_builder_addv(b, (const char **)*(char ***)slot);
		g_hash_table_add(lists_seen, (gpointer)k);
		g_auto(GStrv) parts = g_strsplit(fv->value, ",", -1);
		for (char **p = parts; *p != NULL; p++) {
			g_strstrip(*p);
			if (**p != '\0')
				g_strv_builder_add(b, *p);
		}
		g_strfreev(*(char ***)slot);
		*(char ***)slot = g_strv_builder_end(b);
		break;
	}
	case CK_INT: {
		gint64 v;
		if (!g_ascii_string_to_signed(fv->value, 10, G_MININT64,
					      G_MAXINT64, &v, NULL))
			return berth_throw(error, INVALID_ARGUMENT,
					   "--%s: \"%s\" is not an integer",
					   k->flag, fv->value);
		*(gint64 *)slot = v;
		break;
	}
	case CK_BOOL:
		if (!parse_bool(fv->value, (gboolean *)slot))
			return berth_throw(error, INVALID_ARGUMENT,
					   "--%s: \"%s\" is not true or false",
					   k->flag, fv->value);
		break;
	}
	g_hash_table_replace(c->origins,
			     g_strdup_printf("%s.%s", k->section, k->key),
			     g_strdup_printf("--%s", k->flag));
	if (!config_key_check(c, k, error)) {
		g_prefix_error(error, "--%s: ", k->flag);
		return FALSE;
	}
	return TRUE;
}

static GOptionEntry *build_entries(void)
{
	GArray *entries = g_array_new(TRUE, TRUE, sizeof(GOptionEntry));
	for (const ConfigKey *k = config_keys; k->key != NULL; k++) {
		if (k->flag == NULL)
			continue;
		GOptionEntry e = {
			.long_name = k->flag,
			.flags = k->type == CK_BOOL ? G_OPTION_FLAG_OPTIONAL_ARG
						    : 0,
			.arg = G_OPTION_ARG_CALLBACK,
			.arg_data = (gpointer)on_flag,
			.description = k->help,
			.arg_description = k->type == CK_INT	? "N"
					   : k->type == CK_BOOL ? "BOOL"
								: "VALUE",
		};
		g_array_append_val(entries, e);
	}
	return (GOptionEntry *)g_array_free(entries, FALSE);
}

static void args_clear(Args *a)
{
	g_free(a->config_file);
	g_free(a->config_dir);
	for (guint i = 0; i < a->flags->len; i++)
		g_free(g_array_index(a->flags, FlagValue, i).value);
	g_array_free(a->flags, TRUE);
}

static gboolean parse_command_line(Args *a, int *argc, char ***argv,
				   GError **error)
{
	GOptionEntry main_entries[] = {
		{"config", 'c', 0, G_OPTION_ARG_FILENAME, &a->config_file,
		 "main config file (default " BERTH_DEFAULT_CONFIG ")", "FILE"},
		{"config-dir", 'd', 0, G_OPTION_ARG_FILENAME, &a->config_dir,
		 "drop-in dir, *.conf in lexical order "
		 "(default " BERTH_DEFAULT_CONFIG_DIR ")",
		 "DIR"},
		{"version", 'v', 0, G_OPTION_ARG_NONE, &a->version,
		 "print the version and exit", NULL},
		{NULL}};
	g_autoptr(GOptionContext) ctx = g_option_context_new(
		"[config] - the berth CRI server\n\n"
		"  config    print the effective configuration as TOML");
	g_autofree GOptionEntry *entries = build_entries();
	/* One main group: --help lists the settings flags with the rest. */
	GOptionGroup *g = g_option_group_new(NULL, NULL, NULL, a, NULL);
	g_option_group_add_entries(g, main_entries);
	g_option_group_add_entries(g, entries);
	g_option_context_set_main_group(ctx, g);
	g_autoptr(GError) local = NULL;
	if (!g_option_context_parse(ctx, argc, argv, &local))
		return berth_throw(error, INVALID_ARGUMENT, "%s",
				   local->message);
	return TRUE;
}

/* Files first (the main one, then drop-ins), then flags in order. */
static BerthConfig *config_from_args(const Args *a, GError **error)
{
	g_autoptr(BerthConfig) c = berth_config_new_default();
	const char *file =
		a->config_file ? a->config_file : BERTH_DEFAULT_CONFIG;
	const char *dir =
		a->config_dir ? a->config_dir : BERTH_DEFAULT_CONFIG_DIR;
	g_autoptr(GError) local = NULL;
	if (!berth_config_merge_file(c, file, &local)) {
		/* Only the default main file may be absent. */
		if (a->config_file != NULL ||
		    !g_error_matches(local, BERTH_ERROR,
				     BERTH_ERROR_NOT_FOUND)) {
			g_propagate_error(error, g_steal_pointer(&local));
			return NULL;
		}
	}
	if (!berth_config_merge_dir(c, dir, error))
		return NULL;
	g_autoptr(GHashTable) lists_seen = g_hash_table_new(NULL, NULL);
	for (guint i = 0; i < a->flags->len; i++) {
		if (!apply_flag(c, &g_array_index(a->flags, FlagValue, i),
				lists_seen, error))
			return NULL;
	}
	berth_config_resolve(c, berth_systemd_is_pid1());
	if (!berth_config_validate(c, error))
		return NULL;
	return g_steal_pointer(&c);
}

BerthConfig *berth_config_from_args(int *argc, char ***argv, gboolean *exit_now,
				    GError **error)
{
	*exit_now = FALSE;
	Args a = {.flags = g_array_new(FALSE, TRUE, sizeof(FlagValue))};
	BerthConfig *c = NULL;
	if (parse_command_line(&a, argc, argv, error)) {
		if (a.version) {
			printf("berthd version %s (commit %s)\n", BERTH_VERSION,
			       BERTH_COMMIT);
			*exit_now = TRUE;
		} else {
			c = config_from_args(&a, error);
		}
	}
	args_clear(&a);
	return c;
}
