/* CDI names and spec documents: the vendor/class/device name rules, and one
 * checker for the JSON tree of a spec (from JSON or YAML) that rejects what
 * the CDI spec does not allow and records the version its features need. */
#include "sandbox/spec/cdi-private.h"
#include "util/error.h"

#include <string.h>

#define SPEC_MAX_SIZE (16 * 1024 * 1024)
#define ANNOTATIONS_MAX_SIZE (256 * 1024)

/* --- names ---------------------------------------------------------------- */

/* vendor and class: a letter, then letters, digits, '_', '-', '.', ending
 * in a letter or digit. NULL: fine; else what is wrong. */
static const char *vendor_class_problem(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return "is empty";
	if (!g_ascii_isalpha(s[0]))
		return "must start with a letter";
	if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789_-.") != n)
		return "may hold only letters, digits, '_', '-' and '.'";
	if (!g_ascii_isalnum(s[n - 1]))
		return "must end with a letter or digit";
	return NULL;
}

/* A device name: a letter or digit, then also '_', '-', '.', ':', ending
 * in a letter or digit. */
static const char *device_name_problem(const char *s)
{
	size_t n = strlen(s);
	if (n == 0)
		return "is empty";
	if (!g_ascii_isalnum(s[0]))
		return "must start with a letter or digit";
	if (strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		      "0123456789_-.:") != n)
		return "may hold only letters, digits, '_', '-', '.' and ':'";
	if (!g_ascii_isalnum(s[n - 1]))
		return "must end with a letter or digit";
	return NULL;
}

gboolean cdi_parse_name(const char *name, char **vendor, char **class_,
			char **device, GError **error)
{
	const char *eq = strchr(name, '=');
	const char *slash = strchr(name, '/');
	if (eq == NULL || slash == NULL || slash > eq || slash == name ||
	    slash + 1 == eq || eq[1] == '\0')
		return berth_throw(error, INVALID_ARGUMENT,
				   "CDI device \"%s\" is not a fully qualified "
				   "name (vendor.com/class=name)",
				   name);
	g_autofree char *v = g_strndup(name, (gsize)(slash - name));
	g_autofree char *c = g_strndup(slash + 1, (gsize)(eq - slash - 1));
	const char *problem = NULL, *part = NULL;
	if ((problem = vendor_class_problem(v)) != NULL)
		part = "vendor";
	else if ((problem = vendor_class_problem(c)) != NULL)
		part = "class";
	else if ((problem = device_name_problem(eq + 1)) != NULL)
		part = "device name";
	if (problem != NULL)
		return berth_throw(error, INVALID_ARGUMENT,
				   "CDI device \"%s\": the %s %s", name, part,
				   problem);
	if (vendor)
		*vendor = g_steal_pointer(&v);
	if (class_)
		*class_ = g_steal_pointer(&c);
	if (device)
		*device = g_strdup(eq + 1);
	return TRUE;
}

/* --- the checker ---------------------------------------------------------- */

static const char *const versions[] = {"0.1.0", "0.2.0", "0.3.0", "0.4.0",
				       "0.5.0", "0.6.0", "0.7.0", "0.8.0",
				       "1.0.0", "1.1.0", NULL};
enum { V030 = 2, V040, V050, V060, V070, V080, V100, V110 };

typedef struct {
	const char *file;
	int version;	 /* index into versions */
	int need;	 /* the newest version a feature used needs */
	char *need_what; /* that feature (a field path) */
	GHashTable *raw; /* YAML: number -> its text; else NULL */
	GError **error;
} Check;

static gboolean bad(Check *c, const char *path, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

static gboolean bad(Check *c, const char *path, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return berth_throw(c->error, INVALID_ARGUMENT, "%s: %s%s%s", c->file,
			   path, *path ? ": " : "", msg);
}

static void need(Check *c, int version, const char *path)
{
	if (version <= c->need)
		return;
	c->need = version;
	g_free(c->need_what);
	c->need_what = g_strdup(path);
}

static char *sub(const char *path, const char *key)
{
	return *path ? g_strdup_printf("%s.%s", path, key) : g_strdup(key);
}

static char *item(const char *path, const char *key, gsize i)
{
	return g_strdup_printf("%s%s%s[%zu]", path, *path ? "." : "", key, i);
}

/* Unknown fields are errors; null ones are dropped (Go reads null as
 * the zero value, and YAML writes an empty field as null). */
static gboolean fields_known(Check *c, json_t *o, const char *path,
			     const char *const *known)
{
	g_autoptr(GPtrArray) nulls = g_ptr_array_new();
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		if (!g_strv_contains(known, key))
			return bad(c, path, "unknown field \"%s\"", key);
		if (json_is_null(v))
			g_ptr_array_add(nulls, (char *)key);
	}
	for (guint i = nulls->len; i > 0; i--)
		json_object_del(o, nulls->pdata[i - 1]);
	return TRUE;
}

/* A YAML plain scalar that read as a number where a string is wanted:
 * the scalar's own text. */
static json_t *as_string(Check *c, json_t *v)
{
	const char *text = (c->raw && json_is_number(v))
				   ? g_hash_table_lookup(c->raw, v)
				   : NULL;
	return text ? json_string(text) : NULL;
}

static gboolean want_string(Check *c, json_t *o, const char *path,
			    const char *key, gboolean required,
			    const char **out)
{
	json_t *v = json_object_get(o, key);
	json_t *s = v ? as_string(c, v) : NULL;
	if (s != NULL) {
		g_hash_table_remove(c->raw, v);
		json_object_set_new(o, key, s);
		v = s;
	}
	*out = json_string_value(v);
	if (v != NULL && !json_is_string(v))
		return bad(c, path, "%s must be a string", key);
	if (required && (*out == NULL || **out == '\0'))
		return bad(c, path, "%s is required", key);
	return TRUE;
}

static gboolean want_strings(Check *c, json_t *o, const char *path,
			     const char *key)
{
	json_t *a = json_object_get(o, key);
	if (a != NULL && !json_is_array(a))
		return bad(c, path, "%s must be a list of strings", key);
	for (gsize i = 0; i < json_array_size(a); i++) {
		json_t *v = json_array_get(a, i);
		json_t *s = as_string(c, v);
		if (s != NULL) {
			g_hash_table_remove(c->raw, v);
			json_array_set_new(a, i, s);
		} else if (!json_is_string(v)) {
			return bad(c, path, "%s[%zu] must be a string", key, i);
		}
	}
	return TRUE;
}

static gboolean want_int(Check *c, json_t *o, const char *path, const char *key,
			 json_int_t min, json_int_t max)
{
	json_t *v = json_object_get(o, key);
	if (v == NULL)
		return TRUE;
	if (!json_is_integer(v))
		return bad(c, path, "%s must be an integer", key);
	json_int_t i = json_integer_value(v);
	if (i < min || i > max)
		return bad(c, path,
			   "%s %" JSON_INTEGER_FORMAT " is not between "
			   "%" JSON_INTEGER_FORMAT " and %" JSON_INTEGER_FORMAT,
			   key, i, min, max);
	return TRUE;
}

static gboolean want_bool(Check *c, json_t *o, const char *path,
			  const char *key)
{
	json_t *v = json_object_get(o, key);
	if (v != NULL && !json_is_boolean(v))
		return bad(c, path, "%s must be true or false", key);
	return TRUE;
}

/* An optional field of a JSON type: *out NULL when absent. */
static gboolean want_type(Check *c, json_t *o, const char *path,
			  const char *key, json_type type, json_t **out)
{
	*out = json_object_get(o, key);
	if (*out != NULL && json_typeof(*out) != type)
		return bad(c, path, "%s must be %s", key,
			   type == JSON_ARRAY ? "a list" : "a mapping");
	return TRUE;
}

static gboolean env_ok(Check *c, json_t *o, const char *path, const char *key)
{
	if (!want_strings(c, o, path, key))
		return FALSE;
	json_t *a = json_object_get(o, key);
	for (gsize i = 0; i < json_array_size(a); i++) {
		const char *e = json_string_value(json_array_get(a, i));
		const char *eq = strchr(e, '=');
		if (eq == NULL || eq == e)
			return bad(c, path, "%s[%zu] \"%s\" is not NAME=VALUE",
				   key, i, e);
	}
	return TRUE;
}

/* --- containerEdits ------------------------------------------------------- */

static gboolean check_node(Check *c, json_t *n, const char *path)
{
	static const char *const fields[] = {
		"path",	    "hostPath",	   "type", "major", "minor",
		"fileMode", "permissions", "uid",  "gid",   NULL};
	static const char *const types[] = {"", "b", "c", "u", "p", NULL};
	const char *p, *host, *type, *perms;
	if (!json_is_object(n))
		return bad(c, path, "must be a mapping");
	if (!fields_known(c, n, path, fields) ||
	    !want_string(c, n, path, "path", TRUE, &p) ||
	    !want_string(c, n, path, "hostPath", FALSE, &host) ||
	    !want_string(c, n, path, "type", FALSE, &type) ||
	    !want_string(c, n, path, "permissions", FALSE, &perms) ||
	    !want_int(c, n, path, "major", G_MININT64, G_MAXINT64) ||
	    !want_int(c, n, path, "minor", G_MININT64, G_MAXINT64) ||
	    !want_int(c, n, path, "fileMode", 0, G_MAXUINT32) ||
	    !want_int(c, n, path, "uid", 0, G_MAXUINT32) ||
	    !want_int(c, n, path, "gid", 0, G_MAXUINT32))
		return FALSE;
	if (type && !g_strv_contains(types, type))
		return bad(c, path, "type \"%s\" is not b, c, u or p", type);
	if (perms && *perms && strcmp(perms, "none") != 0 &&
	    strspn(perms, "rwm") != strlen(perms))
		return bad(c, path,
			   "permissions \"%s\" are not a combination of r, "
			   "w and m (or \"none\")",
			   perms);
	if (host && *host)
		need(c, V050, path);
	return TRUE;
}

static gboolean check_mount(Check *c, json_t *m, const char *path)
{
	static const char *const fields[] = {"hostPath", "containerPath",
					     "type", "options", NULL};
	const char *s;
	if (!json_is_object(m))
		return bad(c, path, "must be a mapping");
	if (!fields_known(c, m, path, fields) ||
	    !want_string(c, m, path, "hostPath", TRUE, &s) ||
	    !want_string(c, m, path, "containerPath", TRUE, &s) ||
	    !want_strings(c, m, path, "options") ||
	    !want_string(c, m, path, "type", FALSE, &s))
		return FALSE;
	if (s && *s)
		need(c, V040, path);
	return TRUE;
}

static gboolean check_hook(Check *c, json_t *h, const char *path)
{
	static const char *const fields[] = {"hookName", "path",    "args",
					     "env",	 "timeout", NULL};
	static const char *const names[] = {"prestart",
					    "createRuntime",
					    "createContainer",
					    "startContainer",
					    "poststart",
					    "poststop",
					    NULL};
	const char *name, *p;
	if (!json_is_object(h))
		return bad(c, path, "must be a mapping");
	if (!fields_known(c, h, path, fields) ||
	    !want_string(c, h, path, "hookName", TRUE, &name) ||
	    !want_string(c, h, path, "path", TRUE, &p) ||
	    !want_strings(c, h, path, "args") || !env_ok(c, h, path, "env") ||
	    !want_int(c, h, path, "timeout", 1, G_MAXINT32))
		return FALSE;
	if (!g_strv_contains(names, name))
		return bad(c, path,
			   "hookName \"%s\" is not one of prestart, "
			   "createRuntime, createContainer, startContainer, "
			   "poststart, poststop",
			   name);
	if (!g_path_is_absolute(p))
		return bad(c, path, "path \"%s\" is not absolute", p);
	return TRUE;
}

/* enableCMT and enableMBM until 1.0.0; schemata and enableMonitoring
 * from 1.1.0, which dropped the other two. */
static gboolean check_rdt(Check *c, json_t *r, const char *path)
{
	static const char *const fields[] = {
		"closID",   "l3CacheSchema",	"memBwSchema",
		"schemata", "enableMonitoring", NULL};
	static const char *const old_fields[] = {
		"closID",	    "l3CacheSchema", "memBwSchema", "schemata",
		"enableMonitoring", "enableCMT",     "enableMBM",   NULL};
	const char *s, *clos;
	need(c, V070, path);
	if (!fields_known(c, r, path,
			  c->version < V110 ? old_fields : fields) ||
	    !want_string(c, r, path, "closID", FALSE, &clos) ||
	    !want_string(c, r, path, "l3CacheSchema", FALSE, &s) ||
	    !want_string(c, r, path, "memBwSchema", FALSE, &s) ||
	    !want_strings(c, r, path, "schemata") ||
	    !want_bool(c, r, path, "enableMonitoring") ||
	    !want_bool(c, r, path, "enableCMT") ||
	    !want_bool(c, r, path, "enableMBM"))
		return FALSE;
	if (clos && strcmp(clos, "/") != 0 &&
	    (strlen(clos) >= 4096 || strcmp(clos, ".") == 0 ||
	     strcmp(clos, "..") == 0 || strpbrk(clos, "/\n") != NULL))
		return bad(c, path, "closID \"%s\" is not a valid file name",
			   clos);
	if (json_object_get(r, "schemata") ||
	    json_is_true(json_object_get(r, "enableMonitoring")))
		need(c, V110, path);
	return TRUE;
}

static gboolean check_netdevs(Check *c, json_t *list, const char *path)
{
	static const char *const fields[] = {"hostInterfaceName", "name", NULL};
	g_autoptr(GHashTable) hosts = g_hash_table_new(g_str_hash, g_str_equal);
	g_autoptr(GHashTable) names = g_hash_table_new(g_str_hash, g_str_equal);
	for (gsize i = 0; i < json_array_size(list); i++) {
		g_autofree char *p = item(path, "netDevices", i);
		json_t *d = json_array_get(list, i);
		const char *host, *name;
		if (!json_is_object(d))
			return bad(c, p, "must be a mapping");
		if (!fields_known(c, d, p, fields) ||
		    !want_string(c, d, p, "hostInterfaceName", TRUE, &host) ||
		    !want_string(c, d, p, "name", TRUE, &name))
			return FALSE;
		if (!g_hash_table_add(hosts, (char *)host))
			return bad(c, p,
				   "hostInterfaceName \"%s\" is listed "
				   "twice",
				   host);
		if (!g_hash_table_add(names, (char *)name))
			return bad(c, p, "name \"%s\" is listed twice", name);
		need(c, V110, p);
	}
	return TRUE;
}

typedef gboolean (*CheckItem)(Check *c, json_t *v, const char *path);

static gboolean check_list(Check *c, json_t *e, const char *path,
			   const char *key, CheckItem fn)
{
	json_t *a;
	if (!want_type(c, e, path, key, JSON_ARRAY, &a))
		return FALSE;
	for (gsize i = 0; i < json_array_size(a); i++) {
		g_autofree char *p = item(path, key, i);
		if (!fn(c, json_array_get(a, i), p))
			return FALSE;
	}
	return TRUE;
}

static gboolean check_gids(Check *c, json_t *e, const char *path)
{
	json_t *a;
	if (!want_type(c, e, path, "additionalGids", JSON_ARRAY, &a))
		return FALSE;
	for (gsize i = 0; i < json_array_size(a); i++) {
		json_t *g = json_array_get(a, i);
		json_int_t v = json_integer_value(g);
		if (!json_is_integer(g) || v < 0 || v > G_MAXUINT32)
			return bad(c, path,
				   "additionalGids[%zu] is not a group id", i);
		need(c, V070, path);
	}
	return TRUE;
}

static gboolean check_edits(Check *c, json_t *e, const char *path)
{
	static const char *const fields[] = {
		"env",	    "deviceNodes",    "mounts",	    "hooks",
		"intelRdt", "additionalGids", "netDevices", NULL};
	json_t *rdt, *net;
	if (!fields_known(c, e, path, fields) || !env_ok(c, e, path, "env") ||
	    !check_list(c, e, path, "deviceNodes", check_node) ||
	    !check_list(c, e, path, "mounts", check_mount) ||
	    !check_list(c, e, path, "hooks", check_hook) ||
	    !check_gids(c, e, path) ||
	    !want_type(c, e, path, "intelRdt", JSON_OBJECT, &rdt) ||
	    !want_type(c, e, path, "netDevices", JSON_ARRAY, &net))
		return FALSE;
	g_autofree char *rdt_path = sub(path, "intelRdt");
	return (rdt == NULL || check_rdt(c, rdt, rdt_path)) &&
	       check_netdevs(c, net, path);
}

static gboolean edits_empty(json_t *e)
{
	static const char *const lists[] = {
		"env",	 "deviceNodes",	   "mounts",
		"hooks", "additionalGids", "netDevices"};
	for (gsize i = 0; i < G_N_ELEMENTS(lists); i++) {
		if (json_array_size(json_object_get(e, lists[i])) > 0)
			return FALSE;
	}
	return json_object_get(e, "intelRdt") == NULL;
}

/* --- the document --------------------------------------------------------- */

/* Kubernetes' rule for annotation keys: [prefix/]name, the prefix a DNS
 * subdomain, the name up to 63 of [A-Za-z0-9_.-] with alphanumeric ends. */
static gboolean annotation_key_ok(const char *key)
{
	const char *slash = strrchr(key, '/');
	const char *name = slash ? slash + 1 : key;
	size_t n = strlen(name);
	if (n == 0 || n > 63 || !g_ascii_isalnum(name[0]) ||
	    !g_ascii_isalnum(name[n - 1]) ||
	    strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789_-.") != n)
		return FALSE;
	if (slash == NULL)
		return TRUE;
	size_t p = (size_t)(slash - key);
	return p > 0 && p <= 253 && g_ascii_isalnum(key[0]) &&
	       g_ascii_isalnum(key[p - 1]) &&
	       strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789-.") >= p;
}

static gboolean check_annotations(Check *c, json_t *o, const char *path)
{
	json_t *a;
	if (!want_type(c, o, path, "annotations", JSON_OBJECT, &a))
		return FALSE;
	const char *key;
	json_t *v;
	gsize total = 0;
	json_object_foreach(a, key, v)
	{
		if (!json_is_string(v))
			return bad(c, path, "annotations.%s must be a string",
				   key);
		if (!annotation_key_ok(key))
			return bad(c, path,
				   "annotation key \"%s\" is not a valid "
				   "[prefix/]name",
				   key);
		total += strlen(key) + json_string_length(v);
	}
	if (total > ANNOTATIONS_MAX_SIZE)
		return bad(c, path, "annotations are larger than 256 KiB");
	if (json_object_size(a) > 0)
		need(c, V060, path);
	return TRUE;
}

static gboolean check_device(Check *c, json_t *d, const char *path,
			     GHashTable *seen)
{
	static const char *const fields[] = {"name", "annotations",
					     "containerEdits", NULL};
	const char *name, *problem;
	json_t *e;
	if (!json_is_object(d))
		return bad(c, path, "must be a mapping");
	if (!fields_known(c, d, path, fields) ||
	    !want_string(c, d, path, "name", FALSE, &name))
		return FALSE;
	if (name == NULL)
		return bad(c, path, "name is required");
	if ((problem = device_name_problem(name)) != NULL)
		return bad(c, path, "name \"%s\" %s", name, problem);
	if (!g_hash_table_add(seen, (char *)name))
		return bad(c, path, "device \"%s\" is defined twice", name);
	if (g_ascii_isdigit(name[0]))
		need(c, V050, path);
	g_autofree char *ep = sub(path, "containerEdits");
	if (!check_annotations(c, d, path) ||
	    !want_type(c, d, path, "containerEdits", JSON_OBJECT, &e))
		return FALSE;
	if (e != NULL && !check_edits(c, e, ep))
		return FALSE;
	if (e == NULL || edits_empty(e))
		return bad(c, path, "device \"%s\" has no containerEdits",
			   name);
	return TRUE;
}

static gboolean check_devices(Check *c, json_t *root)
{
	json_t *list;
	if (!want_type(c, root, "", "devices", JSON_ARRAY, &list))
		return FALSE;
	if (json_array_size(list) == 0)
		return bad(c, "devices", "the spec defines no device");
	g_autoptr(GHashTable) seen = g_hash_table_new(g_str_hash, g_str_equal);
	for (gsize i = 0; i < json_array_size(list); i++) {
		g_autofree char *p = item("", "devices", i);
		if (!check_device(c, json_array_get(list, i), p, seen))
			return FALSE;
	}
	return TRUE;
}

static gboolean check_version(Check *c, json_t *root)
{
	const char *v;
	if (!want_string(c, root, "", "cdiVersion", TRUE, &v))
		return FALSE;
	const char *bare = v[0] == 'v' ? v + 1 : v;
	for (c->version = 0; versions[c->version]; c->version++) {
		if (strcmp(versions[c->version], bare) == 0)
			return TRUE;
	}
	return bad(c, "cdiVersion",
		   "\"%s\" is not a CDI version this reader knows (0.1.0 to "
		   "1.1.0)",
		   v);
}

static gboolean check_kind(Check *c, json_t *root, char **kind)
{
	const char *k, *problem = NULL;
	if (!want_string(c, root, "", "kind", TRUE, &k))
		return FALSE;
	const char *slash = strchr(k, '/');
	if (slash == NULL || slash == k || slash[1] == '\0')
		return bad(c, "kind", "\"%s\" is not vendor/class", k);
	g_autofree char *vendor = g_strndup(k, (gsize)(slash - k));
	if ((problem = vendor_class_problem(vendor)) != NULL)
		return bad(c, "kind", "the vendor of \"%s\" %s", k, problem);
	if ((problem = vendor_class_problem(slash + 1)) != NULL)
		return bad(c, "kind", "the class of \"%s\" %s", k, problem);
	if (strchr(slash + 1, '.'))
		need(c, V060, "kind");
	*kind = g_strdup(k);
	return TRUE;
}

static gboolean check_root(Check *c, json_t *root, char **kind)
{
	static const char *const fields[] = {"cdiVersion",     "kind",
					     "annotations",    "devices",
					     "containerEdits", NULL};
	json_t *e;
	if (!json_is_object(root))
		return bad(c, "", "the document is not a mapping");
	/* The kind first: a spec broken further on still says whose
	 * devices it would have defined. */
	if (!check_kind(c, root, kind) || !fields_known(c, root, "", fields) ||
	    !check_version(c, root) || !check_annotations(c, root, "") ||
	    !want_type(c, root, "", "containerEdits", JSON_OBJECT, &e) ||
	    (e && !check_edits(c, e, "containerEdits")) ||
	    !check_devices(c, root))
		return FALSE;
	if (c->need > c->version)
		return bad(c, c->need_what,
			   "needs cdiVersion %s or later, the spec says %s",
			   versions[c->need], versions[c->version]);
	return TRUE;
}

/* --- CdiSpec -------------------------------------------------------------- */

void cdi_spec_free(CdiSpec *s)
{
	if (s == NULL)
		return;
	g_free(s->path);
	g_free(s->kind);
	g_free(s->version);
	json_decref(s->root);
	g_hash_table_unref(s->devices);
	g_ptr_array_unref(s->names);
	g_free(s);
}

static CdiSpec *spec_new(const char *path, char *kind, int version,
			 json_t *root)
{
	CdiSpec *s = g_new0(CdiSpec, 1);
	s->path = g_strdup(path);
	s->kind = kind;
	s->version = g_strdup(versions[version]);
	s->root = root;
	s->edits = json_object_get(root, "containerEdits");
	s->devices = g_hash_table_new(g_str_hash, g_str_equal);
	s->names = g_ptr_array_new();
	json_t *list = json_object_get(root, "devices");
	for (gsize i = 0; i < json_array_size(list); i++) {
		json_t *d = json_array_get(list, i);
		const char *name =
			json_string_value(json_object_get(d, "name"));
		g_hash_table_insert(s->devices, (char *)name,
				    json_object_get(d, "containerEdits"));
		g_ptr_array_add(s->names, (char *)name);
	}
	g_ptr_array_add(s->names, NULL);
	return s;
}

static json_t *parse_tree(const char *data, gsize len, const char *path,
			  gboolean yaml, GHashTable *raw, GError **error)
{
	if (len > SPEC_MAX_SIZE)
		return berth_throw_null(error, INVALID_ARGUMENT,
					"%s: larger than 16 MiB", path);
	if (yaml)
		return cdi_yaml_to_json(data, len, path, raw, error);
	json_error_t jerr;
	json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		return berth_throw_null(error, INVALID_ARGUMENT,
					"%s:%d:%d: JSON: %s", path, jerr.line,
					jerr.column, jerr.text);
	return root;
}

CdiSpec *cdi_spec_parse_kind(const char *data, gsize len, const char *path,
			     gboolean yaml, char **kind, GError **error)
{
	*kind = NULL;
	g_autoptr(GHashTable) raw =
		yaml ? g_hash_table_new_full(NULL, NULL, NULL, g_free) : NULL;
	json_t *root = parse_tree(data, len, path, yaml, raw, error);
	if (root == NULL)
		return NULL;
	Check c = {.file = path, .need = V030, .raw = raw, .error = error};
	char *k = NULL;
	gboolean ok = check_root(&c, root, &k);
	g_free(c.need_what);
	if (!ok) {
		*kind = k;
		json_decref(root);
		return NULL;
	}
	*kind = g_strdup(k);
	return spec_new(path, k, c.version, root);
}

CdiSpec *cdi_spec_parse(const char *data, gsize len, const char *path,
			gboolean yaml, GError **error)
{
	g_autofree char *kind = NULL;
	return cdi_spec_parse_kind(data, len, path, yaml, &kind, error);
}

CdiSpec *cdi_spec_load(const char *path, GError **error)
{
	g_autofree char *data = NULL;
	gsize len = 0;
	g_autoptr(GError) local = NULL;
	if (!g_file_get_contents(path, &data, &len, &local))
		return berth_throw_null(error, FAILED_PRECONDITION, "%s",
					local->message);
	return cdi_spec_parse(data, len, path, g_str_has_suffix(path, ".yaml"),
			      error);
}

const char *cdi_spec_kind(const CdiSpec *s)
{
	return s->kind;
}

const char *cdi_spec_version(const CdiSpec *s)
{
	return s->version;
}

const char *const *cdi_spec_devices(const CdiSpec *s)
{
	return (const char *const *)s->names->pdata;
}
