/* containers-registries.conf(5) v2 (and the old v1 lists) read into a
 * Registries, longest-prefix matching of references against [[registry]]
 * entries, and the mirror/source endpoint list for a pull. Written from
 * the man page; see registries.h for berth's choices. */
#include "image/registries.h"

#include <dirent.h>
#include <stdarg.h>
#include <string.h>

#include "config/toml.h"
#include "util/error.h"
#include "util/fs.h"

typedef enum {
	MIRROR_PULL_DEFAULT, /* "all" unless mirror-by-digest-only */
	MIRROR_PULL_ALL,
	MIRROR_PULL_DIGEST_ONLY,
	MIRROR_PULL_TAG_ONLY,
} MirrorPull;

typedef struct {
	char *location;
	gboolean insecure;
	MirrorPull pull;
} RegMirror;

typedef struct {
	char *prefix;	   /* "*.example.com" when wildcard */
	char *location;	   /* NULL for a wildcard prefix */
	gboolean wildcard; /* prefix matches subdomains of prefix + 1 */
	gboolean insecure;
	gboolean blocked;
	gboolean mirror_by_digest_only;
	GPtrArray *mirrors; /* RegMirror* */
} RegEntry;

struct Registries {
	char **search;	       /* NULL-terminated */
	GPtrArray *entries;    /* RegEntry* */
	GHashTable *aliases;   /* short name → qualified name */
	GPtrArray *insecure;   /* RegEntry* (prefix only) from berth */
	char *short_name_mode; /* as configured; informational */
};

/* Where a document is being read, for "file:line:col: ..." errors. */
typedef struct {
	const char *file;
	gboolean v1; /* a [registries] table was seen */
	gboolean v2; /* any version 2 key was seen */
} RegDoc;

static const char *const short_name_modes[] = {"", "enforcing", "permissive",
					       "disabled", NULL};

/* ---- small helpers ---------------------------------------------------- */

static void reg_mirror_free(RegMirror *m)
{
	g_free(m->location);
	g_free(m);
}

static void reg_entry_free(RegEntry *e)
{
	if (e == NULL)
		return;
	g_free(e->prefix);
	g_free(e->location);
	if (e->mirrors)
		g_ptr_array_unref(e->mirrors);
	g_free(e);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RegEntry, reg_entry_free)

static RegEntry *reg_entry_new(void)
{
	RegEntry *e = g_new0(RegEntry, 1);
	e->mirrors =
		g_ptr_array_new_with_free_func((GDestroyNotify)reg_mirror_free);
	return e;
}

static gboolean G_GNUC_PRINTF(5, 6)
	reg_fail(GError **error, const RegDoc *doc, guint line, guint col,
		 const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return berth_throw(error, INVALID_ARGUMENT, "%s:%u:%u: %s", doc->file,
			   line, col, msg);
}

static gboolean reg_expect(const TomlValue *v, TomlType type, const RegDoc *doc,
			   const char *what, GError **error)
{
	if (toml_type(v) == type)
		return TRUE;
	return reg_fail(error, doc, toml_line(v), toml_col(v),
			"%s must be a %s, not a %s", what, toml_type_name(type),
			toml_type_name(toml_type(v)));
}

static gboolean reg_unknown_key(const TomlValue *t, guint i, const RegDoc *doc,
				const char *where, GError **error)
{
	return reg_fail(error, doc, toml_key_line(t, i), toml_key_col(t, i),
			"unknown key \"%s\" in %s", toml_table_key_at(t, i),
			where);
}

/* The first component of a name looks like a registry host. */
static gboolean reg_first_is_host(const char *name)
{
	gsize len = strcspn(name, "/");
	if (len == strlen("localhost") && strncmp(name, "localhost", len) == 0)
		return TRUE;
	return memchr(name, '.', len) != NULL || memchr(name, ':', len) != NULL;
}

/* host[:port][/path...][(:tag|@digest)], the form of prefix and location. */
static gboolean reg_check_name(const char *name, GError **error)
{
	if (*name == '\0')
		return berth_throw(error, INVALID_ARGUMENT, "empty name");
	if (strstr(name, "://") != NULL)
		return berth_throw(error, INVALID_ARGUMENT,
				   "\"%s\" must not include a scheme "
				   "(use insecure = true for http)",
				   name);
	if (!reg_first_is_host(name))
		return berth_throw(error, INVALID_ARGUMENT,
				   "\"%s\" does not start with a registry host",
				   name);
	g_autofree char *host = g_strndup(name, strcspn(name, "/"));
	if (!image_ref_validate_domain(host, error))
		return FALSE;
	for (const char *p = name; *p; p++)
		if (!g_ascii_isgraph(*p))
			return berth_throw(error, INVALID_ARGUMENT,
					   "\"%s\" contains whitespace or "
					   "non-ASCII characters",
					   name);
	if (g_str_has_suffix(name, "/"))
		return berth_throw(error, INVALID_ARGUMENT,
				   "\"%s\" ends with \"/\"", name);
	return TRUE;
}

/* "*.example.com": only a leading "*." and a host without port or path. */
static gboolean reg_check_prefix(const char *prefix, gboolean *wildcard,
				 GError **error)
{
	*wildcard = g_str_has_prefix(prefix, "*.");
	if (!*wildcard) {
		if (strchr(prefix, '*') != NULL)
			return berth_throw(error, INVALID_ARGUMENT,
					   "invalid prefix \"%s\": a wildcard "
					   "is only allowed as a leading "
					   "\"*.\"",
					   prefix);
		return reg_check_name(prefix, error);
	}
	const char *domain = prefix + 2;
	if (strpbrk(domain, "*/:@") != NULL ||
	    !image_ref_validate_domain(domain, NULL))
		return berth_throw(error, INVALID_ARGUMENT,
				   "invalid wildcard prefix \"%s\": want "
				   "\"*.\" and a host name without port or "
				   "path",
				   prefix);
	return TRUE;
}

/* ---- parsing a document ----------------------------------------------- */

static gboolean reg_get_string(const TomlValue *v, const RegDoc *doc,
			       const char *what, char **out, GError **error)
{
	if (!reg_expect(v, TOML_STRING, doc, what, error))
		return FALSE;
	g_free(*out);
	*out = g_strdup(toml_string(v));
	return TRUE;
}

static gboolean reg_get_bool(const TomlValue *v, const RegDoc *doc,
			     const char *what, gboolean *out, GError **error)
{
	if (!reg_expect(v, TOML_BOOLEAN, doc, what, error))
		return FALSE;
	*out = toml_boolean(v);
	return TRUE;
}

/* An array of strings, each checked as a registry host[:port]. */
static gboolean reg_get_hosts(const TomlValue *v, const RegDoc *doc,
			      const char *what, char ***out, GError **error)
{
	if (!reg_expect(v, TOML_ARRAY, doc, what, error))
		return FALSE;
	g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func(g_free);
	for (guint i = 0; i < toml_array_len(v); i++) {
		const TomlValue *item = toml_array_get(v, i);
		if (!reg_expect(item, TOML_STRING, doc, what, error))
			return FALSE;
		g_autoptr(GError) local = NULL;
		if (!image_ref_validate_domain(toml_string(item), &local))
			return reg_fail(error, doc, toml_line(item),
					toml_col(item), "%s: %s", what,
					local->message);
		g_ptr_array_add(list, g_strdup(toml_string(item)));
	}
	g_ptr_array_add(list, NULL);
	g_strfreev(*out);
	*out = (char **)g_ptr_array_free(g_steal_pointer(&list), FALSE);
	return TRUE;
}

static gboolean reg_parse_pull(const TomlValue *v, const RegDoc *doc,
			       MirrorPull *out, GError **error)
{
	static const char *const names[] = {"all", "digest-only", "tag-only"};
	if (!reg_expect(v, TOML_STRING, doc, "pull-from-mirror", error))
		return FALSE;
	for (guint i = 0; i < G_N_ELEMENTS(names); i++) {
		if (strcmp(toml_string(v), names[i]) == 0) {
			*out = MIRROR_PULL_ALL + i;
			return TRUE;
		}
	}
	return reg_fail(error, doc, toml_line(v), toml_col(v),
			"pull-from-mirror must be \"all\", \"digest-only\" or "
			"\"tag-only\", not \"%s\"",
			toml_string(v));
}

static gboolean reg_check_at(const TomlValue *v, const RegDoc *doc, gboolean ok,
			     GError **local, GError **error)
{
	if (ok)
		return TRUE;
	return reg_fail(error, doc, toml_line(v), toml_col(v), "%s",
			(*local)->message);
}

static gboolean reg_parse_mirror(const TomlValue *t, const RegDoc *doc,
				 RegEntry *e, GError **error)
{
	if (!reg_expect(t, TOML_TABLE, doc, "registry.mirror", error))
		return FALSE;
	RegMirror *m = g_new0(RegMirror, 1);
	g_ptr_array_add(e->mirrors, m);
	for (guint i = 0; i < toml_table_size(t); i++) {
		const char *key = toml_table_key_at(t, i);
		const TomlValue *v = toml_table_value_at(t, i);
		g_autoptr(GError) local = NULL;
		gboolean ok;
		if (strcmp(key, "location") == 0) {
			ok = reg_get_string(v, doc, key, &m->location, error) &&
			     reg_check_at(v, doc,
					  reg_check_name(m->location, &local),
					  &local, error);
		} else if (strcmp(key, "insecure") == 0) {
			ok = reg_get_bool(v, doc, key, &m->insecure, error);
		} else if (strcmp(key, "pull-from-mirror") == 0) {
			ok = reg_parse_pull(v, doc, &m->pull, error);
		} else {
			ok = reg_unknown_key(t, i, doc, "[[registry.mirror]]",
					     error);
		}
		if (!ok)
			return FALSE;
	}
	if (m->location == NULL)
		return reg_fail(error, doc, toml_line(t), toml_col(t),
				"[[registry.mirror]] needs a location");
	return TRUE;
}

static gboolean reg_parse_mirrors(const TomlValue *v, const RegDoc *doc,
				  RegEntry *e, GError **error)
{
	if (!reg_expect(v, TOML_ARRAY, doc, "registry.mirror", error))
		return FALSE;
	for (guint i = 0; i < toml_array_len(v); i++)
		if (!reg_parse_mirror(toml_array_get(v, i), doc, e, error))
			return FALSE;
	return TRUE;
}

static gboolean reg_parse_entry_key(const TomlValue *t, guint i,
				    const RegDoc *doc, RegEntry *e,
				    GError **error)
{
	const char *key = toml_table_key_at(t, i);
	const TomlValue *v = toml_table_value_at(t, i);
	if (strcmp(key, "prefix") == 0)
		return reg_get_string(v, doc, key, &e->prefix, error);
	if (strcmp(key, "location") == 0)
		return reg_get_string(v, doc, key, &e->location, error);
	if (strcmp(key, "insecure") == 0)
		return reg_get_bool(v, doc, key, &e->insecure, error);
	if (strcmp(key, "blocked") == 0)
		return reg_get_bool(v, doc, key, &e->blocked, error);
	if (strcmp(key, "mirror-by-digest-only") == 0)
		return reg_get_bool(v, doc, key, &e->mirror_by_digest_only,
				    error);
	if (strcmp(key, "mirror") == 0)
		return reg_parse_mirrors(v, doc, e, error);
	return reg_unknown_key(t, i, doc, "[[registry]]", error);
}

/* prefix defaults to location; a wildcard prefix takes no location (the
 * reference is used as written) and any other entry needs one of them. */
static gboolean reg_finish_entry(const TomlValue *t, const RegDoc *doc,
				 RegEntry *e, GError **error)
{
	g_autoptr(GError) local = NULL;
	if (e->location != NULL && *e->location == '\0')
		g_clear_pointer(&e->location, g_free);
	if (e->prefix == NULL && e->location == NULL)
		return reg_fail(error, doc, toml_line(t), toml_col(t),
				"[[registry]] needs a prefix or a location");
	if (e->prefix == NULL)
		e->prefix = g_strdup(e->location);
	if (!reg_check_prefix(e->prefix, &e->wildcard, &local))
		return reg_fail(error, doc, toml_line(t), toml_col(t),
				"[[registry]]: %s", local->message);
	if (e->wildcard && e->location != NULL)
		return reg_fail(error, doc, toml_line(t), toml_col(t),
				"[[registry]] with wildcard prefix \"%s\" "
				"must not set a location",
				e->prefix);
	if (!e->wildcard && e->location == NULL)
		e->location = g_strdup(e->prefix);
	if (!e->wildcard && !reg_check_name(e->location, &local))
		return reg_fail(error, doc, toml_line(t), toml_col(t),
				"[[registry]] location: %s", local->message);
	return TRUE;
}

static RegEntry *reg_find_entry(GPtrArray *entries, const char *prefix)
{
	for (guint i = 0; i < entries->len; i++) {
		RegEntry *e = entries->pdata[i];
		if (strcmp(e->prefix, prefix) == 0)
			return e;
	}
	return NULL;
}

static gboolean reg_parse_entries(Registries *r, const TomlValue *v,
				  const RegDoc *doc, GError **error)
{
	if (!reg_expect(v, TOML_ARRAY, doc, "registry", error))
		return FALSE;
	g_autoptr(GPtrArray) parsed =
		g_ptr_array_new_with_free_func((GDestroyNotify)reg_entry_free);
	for (guint i = 0; i < toml_array_len(v); i++) {
		const TomlValue *t = toml_array_get(v, i);
		if (!reg_expect(t, TOML_TABLE, doc, "[[registry]]", error))
			return FALSE;
		g_autoptr(RegEntry) e = reg_entry_new();
		for (guint k = 0; k < toml_table_size(t); k++)
			if (!reg_parse_entry_key(t, k, doc, e, error))
				return FALSE;
		if (!reg_finish_entry(t, doc, e, error))
			return FALSE;
		if (reg_find_entry(parsed, e->prefix) != NULL)
			return reg_fail(error, doc, toml_line(t), toml_col(t),
					"[[registry]] prefix \"%s\" is "
					"defined twice",
					e->prefix);
		g_ptr_array_add(parsed, g_steal_pointer(&e));
	}
	/* Drop-in rule: an entry replaces an earlier one of the same prefix. */
	for (guint i = 0; i < parsed->len; i++) {
		RegEntry *e = parsed->pdata[i];
		RegEntry *old = reg_find_entry(r->entries, e->prefix);
		if (old != NULL)
			g_ptr_array_remove(r->entries, old);
		g_ptr_array_add(r->entries, e);
		parsed->pdata[i] = NULL;
	}
	return TRUE;
}

/* Keys are short names (no registry, tag or digest); values are fully
 * qualified names without tag or digest. */
static gboolean reg_check_alias(const char *name, gboolean value,
				GError **error)
{
	g_autoptr(ImageRef) ref = NULL;
	const char *last = strrchr(name, '/');
	if (strchr(name, '@') != NULL || strchr(last ? last : name, ':'))
		return berth_throw(error, INVALID_ARGUMENT,
				   "alias %s\"%s\" must not have a tag or "
				   "digest",
				   value ? "value " : "", name);
	if (!image_ref_parse(name, &ref, error))
		return FALSE;
	if (value && !ref->qualified)
		return berth_throw(error, INVALID_ARGUMENT,
				   "alias value \"%s\" must be fully "
				   "qualified (start with a registry host)",
				   name);
	if (!value && ref->qualified)
		return berth_throw(error, INVALID_ARGUMENT,
				   "alias \"%s\" must be a short name "
				   "(no registry host)",
				   name);
	return TRUE;
}

static gboolean reg_parse_aliases(Registries *r, const TomlValue *t,
				  const RegDoc *doc, GError **error)
{
	if (!reg_expect(t, TOML_TABLE, doc, "aliases", error))
		return FALSE;
	for (guint i = 0; i < toml_table_size(t); i++) {
		const char *key = toml_table_key_at(t, i);
		const TomlValue *v = toml_table_value_at(t, i);
		g_autoptr(GError) local = NULL;
		if (!reg_expect(v, TOML_STRING, doc, "an alias", error))
			return FALSE;
		if (!reg_check_alias(key, FALSE, &local))
			return reg_fail(error, doc, toml_key_line(t, i),
					toml_key_col(t, i), "%s",
					local->message);
		if (*toml_string(v) == '\0') {
			g_hash_table_remove(r->aliases, key);
			continue;
		}
		if (!reg_check_alias(toml_string(v), TRUE, &local))
			return reg_fail(error, doc, toml_line(v), toml_col(v),
					"%s", local->message);
		g_hash_table_replace(r->aliases, g_strdup(key),
				     g_strdup(toml_string(v)));
	}
	return TRUE;
}

/* Version 1: [registries.search|insecure|block] registries = [...]. */
static gboolean reg_v1_flag(Registries *r, char **hosts, gboolean insecure)
{
	for (char **h = hosts; h && *h; h++) {
		RegEntry *e = reg_find_entry(r->entries, *h);
		if (e == NULL) {
			e = reg_entry_new();
			e->prefix = g_strdup(*h);
			e->location = g_strdup(*h);
			g_ptr_array_add(r->entries, e);
		}
		if (insecure)
			e->insecure = TRUE;
		else
			e->blocked = TRUE;
	}
	return TRUE;
}

static gboolean reg_parse_v1_list(Registries *r, const char *name,
				  const TomlValue *t, const RegDoc *doc,
				  GError **error)
{
	g_auto(GStrv) hosts = NULL;
	g_autofree char *what = g_strdup_printf("registries.%s", name);
	if (!reg_expect(t, TOML_TABLE, doc, what, error))
		return FALSE;
	for (guint i = 0; i < toml_table_size(t); i++) {
		if (strcmp(toml_table_key_at(t, i), "registries") != 0)
			return reg_unknown_key(t, i, doc, what, error);
		if (!reg_get_hosts(toml_table_value_at(t, i), doc, what, &hosts,
				   error))
			return FALSE;
	}
	if (strcmp(name, "search") == 0) {
		g_strfreev(r->search);
		r->search = g_steal_pointer(&hosts);
		if (r->search == NULL)
			r->search = g_new0(char *, 1);
		return TRUE;
	}
	return reg_v1_flag(r, hosts, strcmp(name, "insecure") == 0);
}

static gboolean reg_parse_v1(Registries *r, const TomlValue *t,
			     const RegDoc *doc, GError **error)
{
	if (!reg_expect(t, TOML_TABLE, doc, "registries", error))
		return FALSE;
	for (guint i = 0; i < toml_table_size(t); i++) {
		const char *key = toml_table_key_at(t, i);
		if (strcmp(key, "search") != 0 &&
		    strcmp(key, "insecure") != 0 && strcmp(key, "block") != 0)
			return reg_unknown_key(t, i, doc, "[registries]",
					       error);
		if (!reg_parse_v1_list(r, key, toml_table_value_at(t, i), doc,
				       error))
			return FALSE;
	}
	return TRUE;
}

static gboolean reg_parse_mode(Registries *r, const TomlValue *v,
			       const RegDoc *doc, GError **error)
{
	if (!reg_expect(v, TOML_STRING, doc, "short-name-mode", error))
		return FALSE;
	if (!g_strv_contains(short_name_modes, toml_string(v)))
		return reg_fail(error, doc, toml_line(v), toml_col(v),
				"short-name-mode must be \"enforcing\", "
				"\"permissive\" or \"disabled\", not \"%s\"",
				toml_string(v));
	g_free(r->short_name_mode);
	r->short_name_mode = g_strdup(toml_string(v));
	return TRUE;
}

static gboolean reg_parse_root_key(Registries *r, const TomlValue *root,
				   guint i, RegDoc *doc, GError **error)
{
	const char *key = toml_table_key_at(root, i);
	const TomlValue *v = toml_table_value_at(root, i);
	if (strcmp(key, "registries") == 0) {
		doc->v1 = TRUE;
		return reg_parse_v1(r, v, doc, error);
	}
	doc->v2 = TRUE;
	if (strcmp(key, "unqualified-search-registries") == 0)
		return reg_get_hosts(v, doc, key, &r->search, error);
	if (strcmp(key, "registry") == 0)
		return reg_parse_entries(r, v, doc, error);
	if (strcmp(key, "aliases") == 0)
		return reg_parse_aliases(r, v, doc, error);
	if (strcmp(key, "short-name-mode") == 0)
		return reg_parse_mode(r, v, doc, error);
	/* Accepted for compatibility; berth reads credentials only from its
	 * auth file and has no additional layer stores. */
	if (strcmp(key, "credential-helpers") == 0)
		return reg_expect(v, TOML_ARRAY, doc, key, error);
	if (strcmp(key, "additional-layer-store-auth-helper") == 0)
		return reg_expect(v, TOML_STRING, doc, key, error);
	return reg_unknown_key(root, i, doc, "registries.conf", error);
}

gboolean registries_merge_toml(Registries *r, const char *text, gsize len,
			       const char *filename, GError **error)
{
	g_autoptr(TomlValue) root = toml_parse(text, len, filename, error);
	RegDoc doc = {.file = filename};
	if (root == NULL)
		return FALSE;
	for (guint i = 0; i < toml_table_size(root); i++) {
		if (!reg_parse_root_key(r, root, i, &doc, error))
			return FALSE;
		if (doc.v1 && doc.v2)
			return reg_fail(error, &doc, toml_key_line(root, i),
					toml_key_col(root, i),
					"mixes the version 1 [registries] "
					"table with version 2 keys");
	}
	return TRUE;
}

/* ---- loading ---------------------------------------------------------- */

Registries *registries_new_default(void)
{
	Registries *r = g_new0(Registries, 1);
	r->entries =
		g_ptr_array_new_with_free_func((GDestroyNotify)reg_entry_free);
	r->insecure =
		g_ptr_array_new_with_free_func((GDestroyNotify)reg_entry_free);
	r->aliases =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	r->short_name_mode = g_strdup("");
	return r;
}

void registries_free(Registries *r)
{
	if (r == NULL)
		return;
	g_strfreev(r->search);
	g_ptr_array_unref(r->entries);
	g_ptr_array_unref(r->insecure);
	g_hash_table_unref(r->aliases);
	g_free(r->short_name_mode);
	g_free(r);
}

static gboolean reg_merge_file(Registries *r, const char *path, gboolean *found,
			       GError **error)
{
	g_autofree char *text = NULL;
	gsize len = 0;
	g_autoptr(GError) local = NULL;
	*found = FALSE;
	if (!berth_read_file(path, &text, &len, &local)) {
		if (g_error_matches(local, BERTH_ERROR, BERTH_ERROR_NOT_FOUND))
			return TRUE;
		g_propagate_error(error, g_steal_pointer(&local));
		return FALSE;
	}
	*found = TRUE;
	return registries_merge_toml(r, text, len, path, error);
}

static gint reg_strcmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static gboolean reg_merge_dir(Registries *r, const char *dir, GError **error)
{
	g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const char *name;
	if (d == NULL)
		return TRUE;
	while ((name = g_dir_read_name(d)) != NULL)
		if (g_str_has_suffix(name, ".conf"))
			g_ptr_array_add(names, g_strdup(name));
	g_ptr_array_sort(names, reg_strcmp);
	for (guint i = 0; i < names->len; i++) {
		g_autofree char *path =
			g_build_filename(dir, names->pdata[i], NULL);
		gboolean found;
		if (!reg_merge_file(r, path, &found, error))
			return FALSE;
	}
	return TRUE;
}

Registries *registries_load(const char *path, const char *const *insecure,
			    GError **error)
{
	g_autoptr(Registries) r = registries_new_default();
	gboolean found = FALSE;
	if (path != NULL && *path != '\0') {
		g_autofree char *dir = g_strconcat(path, ".d", NULL);
		if (!reg_merge_file(r, path, &found, error) ||
		    !reg_merge_dir(r, dir, error))
			return NULL;
	}
	if (!registries_add_insecure(r, insecure, error))
		return NULL;
	return g_steal_pointer(&r);
}

gboolean registries_add_insecure(Registries *r, const char *const *insecure,
				 GError **error)
{
	for (const char *const *p = insecure; p && *p; p++) {
		g_autoptr(RegEntry) e = reg_entry_new();
		e->prefix = g_strdup(*p);
		if (!reg_check_prefix(e->prefix, &e->wildcard, error)) {
			g_prefix_error(error, "insecure_registries: ");
			return FALSE;
		}
		e->insecure = TRUE;
		g_ptr_array_add(r->insecure, g_steal_pointer(&e));
	}
	return TRUE;
}

const char *const *registries_search(const Registries *r)
{
	static const char *const fallback[] = {IMAGE_REF_DEFAULT_DOMAIN, NULL};
	return r->search ? (const char *const *)r->search : fallback;
}

/* ---- matching --------------------------------------------------------- */

gboolean registries_host_is_loopback(const char *host)
{
	g_autofree char *name = NULL;
	if (host == NULL)
		return FALSE;
	if (*host == '[') {
		const char *end = strchr(host, ']');
		name = end ? g_strndup(host + 1, end - host - 1) : NULL;
	} else {
		name = g_strndup(host, strcspn(host, ":"));
	}
	if (name == NULL)
		return FALSE;
	if (strcmp(name, "localhost") == 0 || strcmp(name, "::1") == 0)
		return TRUE;
	if (!g_str_has_prefix(name, "127."))
		return FALSE;
	guint dots = 0;
	for (const char *p = name; *p; p++) {
		if (*p == '.')
			dots++;
		else if (!g_ascii_isdigit(*p))
			return FALSE;
	}
	return dots == 3;
}

/* How much of name (the reference as "domain/path[:tag][@digest]") the
 * entry's prefix covers; 0 when it does not match. */
static gsize reg_match_len(const RegEntry *e, const char *name)
{
	if (e->wildcard) {
		gsize hlen = strcspn(name, "/");
		const char *suffix = e->prefix + 1; /* ".example.com" */
		gsize slen = strlen(suffix);
		if (hlen <= slen || name[hlen] != '/' ||
		    strncmp(name + hlen - slen, suffix, slen) != 0)
			return 0;
		return hlen;
	}
	gsize plen = strlen(e->prefix);
	if (strncmp(name, e->prefix, plen) != 0)
		return 0;
	char c = name[plen];
	if (c == '\0' || c == '/')
		return plen;
	if ((c == ':' || c == '@') && strchr(e->prefix, '/') != NULL)
		return plen;
	return 0;
}

/* The longest match; an exact host beats a wildcard of the same length. */
static const RegEntry *reg_best(GPtrArray *entries, const char *name,
				gsize *len_out)
{
	const RegEntry *best = NULL;
	gsize best_len = 0;
	for (guint i = 0; i < entries->len; i++) {
		const RegEntry *e = entries->pdata[i];
		gsize len = reg_match_len(e, name);
		if (len == 0)
			continue;
		if (len > best_len ||
		    (len == best_len && best->wildcard && !e->wildcard)) {
			best = e;
			best_len = len;
		}
	}
	if (len_out)
		*len_out = best_len;
	return best;
}

static gboolean reg_listed_insecure(const Registries *r, const ImageRef *ref)
{
	g_autofree char *name = image_ref_string(ref);
	return registries_host_is_loopback(ref->domain) ||
	       reg_best(r->insecure, name, NULL) != NULL;
}

void registry_endpoint_free(RegistryEndpoint *e)
{
	if (e == NULL)
		return;
	g_free(e->host);
	g_free(e->repo);
	image_ref_free(e->ref);
	g_free(e);
}

/* location + the rest of the reference after the matched prefix. */
static RegistryEndpoint *reg_endpoint(const Registries *r, const char *location,
				      const char *rest, gboolean insecure,
				      gboolean mirror, GError **error)
{
	g_autofree char *phys = g_strconcat(location, rest, NULL);
	g_autoptr(ImageRef) ref = NULL;
	if (!image_ref_parse(phys, &ref, error)) {
		g_prefix_error(error, "registries.conf rewrite: ");
		return NULL;
	}
	RegistryEndpoint *e = g_new0(RegistryEndpoint, 1);
	e->host = g_strdup(ref->domain);
	e->repo = g_strdup(ref->path);
	e->insecure = insecure || reg_listed_insecure(r, ref);
	e->mirror = mirror;
	e->ref = g_steal_pointer(&ref);
	return e;
}

static gboolean reg_mirror_allowed(const RegEntry *e, const RegMirror *m,
				   const ImageRef *ref)
{
	MirrorPull pull = m->pull;
	if (pull == MIRROR_PULL_DEFAULT)
		pull = e->mirror_by_digest_only ? MIRROR_PULL_DIGEST_ONLY
						: MIRROR_PULL_ALL;
	if (pull == MIRROR_PULL_DIGEST_ONLY)
		return ref->digest != NULL;
	if (pull == MIRROR_PULL_TAG_ONLY)
		return ref->digest == NULL;
	return TRUE;
}

static gboolean reg_add_mirrors(const Registries *r, const RegEntry *e,
				const ImageRef *ref, const char *rest,
				GPtrArray *out, GError **error)
{
	for (guint i = 0; i < e->mirrors->len; i++) {
		const RegMirror *m = e->mirrors->pdata[i];
		if (!reg_mirror_allowed(e, m, ref))
			continue;
		RegistryEndpoint *ep = reg_endpoint(r, m->location, rest,
						    m->insecure, TRUE, error);
		if (ep == NULL)
			return FALSE;
		g_ptr_array_add(out, ep);
	}
	return TRUE;
}

GPtrArray *registries_endpoints(const Registries *r, const ImageRef *ref,
				GError **error)
{
	g_autofree char *name = image_ref_string(ref);
	g_autoptr(GPtrArray) out = g_ptr_array_new_with_free_func(
		(GDestroyNotify)registry_endpoint_free);
	gsize len = 0;
	const RegEntry *e = reg_best(r->entries, name, &len);
	if (e == NULL) {
		RegistryEndpoint *ep =
			reg_endpoint(r, "", name, FALSE, FALSE, error);
		if (ep == NULL)
			return NULL;
		g_ptr_array_add(out, ep);
		return g_steal_pointer(&out);
	}
	if (e->blocked) {
		return berth_throw_null(
			error, PERMISSION_DENIED,
			"registry \"%s\" is blocked by registries.conf "
			"(prefix \"%s\")",
			ref->domain, e->prefix);
	}
	const char *rest = name + len;
	if (!reg_add_mirrors(r, e, ref, rest, out, error))
		return NULL;
	RegistryEndpoint *src;
	if (e->wildcard)
		src = reg_endpoint(r, "", name, e->insecure, FALSE, error);
	else
		src = reg_endpoint(r, e->location, rest, e->insecure, FALSE,
				   error);
	if (src == NULL)
		return NULL;
	g_ptr_array_add(out, src);
	return g_steal_pointer(&out);
}

/* ---- short names ------------------------------------------------------ */

static ImageRef *reg_alias_ref(const char *target, const ImageRef *ref,
			       GError **error)
{
	g_autofree char *s = g_strconcat(
		target, ref->tag ? ":" : "", ref->tag ? ref->tag : "",
		ref->digest ? "@" : "", ref->digest ? ref->digest : "", NULL);
	ImageRef *out = NULL;
	if (!image_ref_parse(s, &out, error))
		return NULL;
	return out;
}

GPtrArray *registries_candidates(const Registries *r, const ImageRef *ref,
				 GError **error)
{
	g_autoptr(GPtrArray) out =
		g_ptr_array_new_with_free_func((GDestroyNotify)image_ref_free);
	if (ref->qualified) {
		g_ptr_array_add(out, image_ref_copy(ref));
		return g_steal_pointer(&out);
	}
	const char *short_name = ref->path;
	if (ref->implied_library)
		short_name += strlen("library/");
	const char *alias = g_hash_table_lookup(r->aliases, short_name);
	if (alias != NULL) {
		ImageRef *a = reg_alias_ref(alias, ref, error);
		if (a == NULL)
			return NULL;
		g_ptr_array_add(out, a);
		return g_steal_pointer(&out);
	}
	for (const char *const *s = registries_search(r); *s; s++) {
		ImageRef *c = image_ref_with_domain(ref, *s, error);
		if (c == NULL)
			return NULL;
		g_ptr_array_add(out, c);
	}
	if (out->len == 0) {
		return berth_throw_null(
			error, NOT_FOUND,
			"short name \"%s\" has no alias and "
			"unqualified-search-registries is empty",
			short_name);
	}
	return g_steal_pointer(&out);
}
