/* Config defaults, the key table, merging TOML documents and validation. */
#include "config/config.h"
#include "config/keys.h"
#include "config/toml.h"
#include "util/error.h"
#include "util/log.h"

#include <errno.h>
#include <string.h>

static const char *const default_caps[] = {
	"CHOWN",  "DAC_OVERRIDE", "FSETID",	      "FOWNER", "SETGID",
	"SETUID", "SETPCAP",	  "NET_BIND_SERVICE", "KILL",	NULL};

static BerthRuntimeHandler *runtime_new(const char *name, const char *path,
					const char *root)
{
	BerthRuntimeHandler *h = g_new0(BerthRuntimeHandler, 1);
	h->name = g_strdup(name);
	h->runtime_path = g_strdup(path);
	h->runtime_root = g_strdup(root);
	return h;
}

static void runtime_free(gpointer p)
{
	BerthRuntimeHandler *h = p;
	g_free(h->name);
	g_free(h->runtime_path);
	g_free(h->runtime_root);
	g_free(h);
}

/* Built-in handlers: crun and runc where Debian installs them. */
static void add_builtin_runtime(BerthConfig *c, const char *name)
{
	g_autofree char *found = g_find_program_in_path(name);
	g_autofree char *path = found ? g_steal_pointer(&found)
				      : g_strdup_printf("/usr/bin/%s", name);
	g_ptr_array_add(c->runtimes, runtime_new(name, path, ""));
}

BerthConfig *berth_config_new_default(void)
{
	BerthConfig *c = g_new0(BerthConfig, 1);
	c->root = g_strdup("/var/lib/berth");
	c->runroot = g_strdup("/run/berth");
	c->listen = g_strdup("/run/berth/berth.sock");
	c->listen_group = g_strdup("");
	c->log_level = g_strdup("info");
	c->grpc_max_recv_msg_size = 16 * 1024 * 1024;
	c->grpc_max_send_msg_size = 16 * 1024 * 1024;
	c->shutdown_grace = 10;
	c->default_runtime = g_strdup("");
	c->conmon = g_strdup("");
	c->cgroup_manager = g_strdup("");
	c->default_cgroup_parent = g_strdup("");
	c->conmon_cgroup = g_strdup("system.slice");
	c->default_capabilities = g_strdupv((char **)default_caps);
	c->default_sysctls = g_new0(char *, 1);
	c->pids_limit = 0;
	c->stop_timeout = 30;
	c->runtime_timeout = 120;
	const char *cdi_dirs[] = {"/etc/cdi", "/var/run/cdi", NULL};
	c->cdi_spec_dirs = g_strdupv((char **)cdi_dirs);
	c->runtimes = g_ptr_array_new_with_free_func(runtime_free);
	add_builtin_runtime(c, "crun");
	add_builtin_runtime(c, "runc");
	c->registries_conf = g_strdup("/etc/containers/registries.conf");
	c->auth_file = g_strdup("");
	c->insecure_registries = g_new0(char *, 1);
	c->max_parallel_downloads = 3;
	c->pull_progress_timeout = 30;
	c->pinned_images = g_new0(char *, 1);
	c->cni_conf_dir = g_strdup("/etc/cni/net.d");
	const char *dirs[] = {"/usr/lib/cni", "/opt/cni/bin", NULL};
	c->cni_plugin_dirs = g_strdupv((char **)dirs);
	c->cni_default_network = g_strdup("");
	c->cni_timeout = 60;
	c->enable_metrics = FALSE;
	c->stats_collection_period = 0;
	c->metrics_address = g_strdup("127.0.0.1:9090");
	c->stream_address = g_strdup("127.0.0.1");
	c->stream_port = 0;
	c->metrics_cert = g_strdup("");
	c->metrics_key = g_strdup("");
	c->stream_tls_cert = g_strdup("");
	c->stream_tls_key = g_strdup("");
	c->stream_idle_timeout = 4 * 3600;
	c->stream_token_lifetime = 60;
	c->origins =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, g_free);
	return c;
}

void berth_config_free(BerthConfig *c)
{
	if (c == NULL)
		return;
	for (const ConfigKey *k = config_keys; k->key != NULL; k++) {
		void *slot = config_key_slot(c, k);
		if (k->type == CK_STRING)
			g_free(*(char **)slot);
		else if (k->type == CK_STRINGS)
			g_strfreev(*(char ***)slot);
	}
	g_ptr_array_unref(c->runtimes);
	g_hash_table_unref(c->origins);
	g_free(c);
}

const BerthRuntimeHandler *berth_config_runtime(const BerthConfig *c,
						const char *name)
{
	for (guint i = 0; i < c->runtimes->len; i++) {
		const BerthRuntimeHandler *h =
			g_ptr_array_index(c->runtimes, i);
		if (strcmp(h->name, name) == 0)
			return h;
	}
	return NULL;
}

char *berth_config_runtime_root(const BerthConfig *c,
				const BerthRuntimeHandler *h)
{
	if (h->runtime_root != NULL && h->runtime_root[0] != '\0')
		return g_strdup(h->runtime_root);
	return g_build_filename(c->runroot, "runtimes", h->name, NULL);
}

/* --- merging a TOML document -------------------------------------------- */

typedef struct {
	BerthConfig *c;
	const char *file;
} Merge;

static gboolean fail_at(GError **error, const Merge *m, guint line, guint col,
			const char *fmt, ...) G_GNUC_PRINTF(5, 6);

static gboolean fail_at(GError **error, const Merge *m, guint line, guint col,
			const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *msg = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return berth_throw(error, INVALID_ARGUMENT, "%s:%u:%u: %s", m->file,
			   line, col, msg);
}

static void set_origin(Merge *m, const char *section, const char *key,
		       const TomlValue *v)
{
	g_hash_table_replace(m->c->origins,
			     g_strdup_printf("%s.%s", section, key),
			     g_strdup_printf("%s:%u:%u", m->file, toml_line(v),
					     toml_col(v)));
}

static gboolean assign_value(Merge *m, const ConfigKey *k, const TomlValue *v,
			     GError **error)
{
	void *slot = config_key_slot(m->c, k);
	static const TomlType want[] = {
		[CK_STRING] = TOML_STRING,
		[CK_STRINGS] = TOML_ARRAY,
		[CK_INT] = TOML_INTEGER,
		[CK_BOOL] = TOML_BOOLEAN,
	};
	if (toml_type(v) != want[k->type])
		return fail_at(error, m, toml_line(v), toml_col(v),
			       "%s.%s must be %s, not %s", k->section, k->key,
			       k->type == CK_STRINGS
				       ? "an array of strings"
				       : toml_type_article(want[k->type]),
			       toml_type_article(toml_type(v)));
	switch (k->type) {
	case CK_STRING:
		g_free(*(char **)slot);
		*(char **)slot = g_strdup(toml_string(v));
		break;
	case CK_STRINGS: {
		guint n = toml_array_len(v);
		char **list = g_new0(char *, n + 1);
		for (guint i = 0; i < n; i++) {
			const TomlValue *item = toml_array_get(v, i);
			if (toml_type(item) != TOML_STRING) {
				g_strfreev(list);
				return fail_at(error, m, toml_line(item),
					       toml_col(item),
					       "%s.%s must be an array of "
					       "strings",
					       k->section, k->key);
			}
			list[i] = g_strdup(toml_string(item));
		}
		g_strfreev(*(char ***)slot);
		*(char ***)slot = list;
		break;
	}
	case CK_INT:
		*(gint64 *)slot = toml_integer(v);
		break;
	case CK_BOOL:
		*(gboolean *)slot = toml_boolean(v);
		break;
	}
	return config_key_check(m->c, k, error) ||
	       (g_prefix_error(error, "%s:%u:%u: ", m->file, toml_line(v),
			       toml_col(v)),
		FALSE);
}

static gboolean merge_runtime(Merge *m, const char *name, const TomlValue *t,
			      GError **error)
{
	if (toml_type(t) != TOML_TABLE)
		return fail_at(error, m, toml_line(t), toml_col(t),
			       "berth.runtime.runtimes.%s must be a table",
			       name);
	if (!config_runtime_name_valid(name))
		return fail_at(error, m, toml_line(t), toml_col(t),
			       "runtime handler name \"%s\" must be "
			       "lowercase letters, digits, '-' or '_'",
			       name);
	BerthRuntimeHandler *h =
		(BerthRuntimeHandler *)berth_config_runtime(m->c, name);
	if (h == NULL) {
		h = runtime_new(name, "", "");
		g_ptr_array_add(m->c->runtimes, h);
		g_ptr_array_sort(m->c->runtimes, config_runtime_cmp);
	}
	for (guint i = 0; i < toml_table_size(t); i++) {
		const char *key = toml_table_key_at(t, i);
		const TomlValue *v = toml_table_value_at(t, i);
		char **slot;
		if (strcmp(key, "runtime_path") == 0)
			slot = &h->runtime_path;
		else if (strcmp(key, "runtime_root") == 0)
			slot = &h->runtime_root;
		else
			return fail_at(error, m, toml_key_line(t, i),
				       toml_key_col(t, i),
				       "unknown key \"%s\" in "
				       "[berth.runtime.runtimes.%s]",
				       key, name);
		if (toml_type(v) != TOML_STRING)
			return fail_at(error, m, toml_line(v), toml_col(v),
				       "%s must be a string", key);
		g_free(*slot);
		*slot = g_strdup(toml_string(v));
		g_autofree char *section =
			g_strdup_printf("berth.runtime.runtimes.%s", name);
		set_origin(m, section, key, v);
	}
	return TRUE;
}

static gboolean merge_table(Merge *m, const char *section, const TomlValue *t,
			    GError **error);

static gboolean merge_entry(Merge *m, const char *section, const TomlValue *t,
			    guint i, GError **error)
{
	const char *key = toml_table_key_at(t, i);
	const TomlValue *v = toml_table_value_at(t, i);
	g_autofree char *sub = section[0]
				       ? g_strdup_printf("%s.%s", section, key)
				       : g_strdup(key);
	if (strcmp(sub, "berth.runtime.runtimes") == 0) {
		if (toml_type(v) != TOML_TABLE)
			return fail_at(
				error, m, toml_line(v), toml_col(v),
				"berth.runtime.runtimes must be a table");
		for (guint j = 0; j < toml_table_size(v); j++) {
			if (!merge_runtime(m, toml_table_key_at(v, j),
					   toml_table_value_at(v, j), error))
				return FALSE;
		}
		return TRUE;
	}
	if (config_section_known(sub)) {
		if (toml_type(v) != TOML_TABLE)
			return fail_at(error, m, toml_line(v), toml_col(v),
				       "%s must be a table", sub);
		return merge_table(m, sub, v, error);
	}
	const ConfigKey *k = config_key_find(section, key);
	if (k == NULL)
		return fail_at(error, m, toml_key_line(t, i),
			       toml_key_col(t, i), "unknown key \"%s\"%s%s%s",
			       key, section[0] ? " in [" : "", section,
			       section[0] ? "]" : "");
	if (!assign_value(m, k, v, error))
		return FALSE;
	set_origin(m, section, key, v);
	return TRUE;
}

static gboolean merge_table(Merge *m, const char *section, const TomlValue *t,
			    GError **error)
{
	for (guint i = 0; i < toml_table_size(t); i++) {
		if (!merge_entry(m, section, t, i, error))
			return FALSE;
	}
	return TRUE;
}

gboolean berth_config_merge_toml(BerthConfig *c, const char *text, gsize len,
				 const char *filename, GError **error)
{
	g_autoptr(TomlValue) doc = toml_parse(text, len, filename, error);
	if (doc == NULL)
		return FALSE;
	Merge m = {.c = c, .file = filename};
	return merge_table(&m, "", doc, error);
}

gboolean berth_config_merge_file(BerthConfig *c, const char *path,
				 GError **error)
{
	g_autofree char *text = NULL;
	gsize len = 0;
	g_autoptr(GError) local = NULL;
	if (!g_file_get_contents(path, &text, &len, &local)) {
		gboolean missing = g_error_matches(local, G_FILE_ERROR,
						   G_FILE_ERROR_NOENT);
		berth_throw_code(error,
				 missing ? BERTH_ERROR_NOT_FOUND
					 : BERTH_ERROR_INVALID_ARGUMENT,
				 "%s", local->message);
		return FALSE;
	}
	return berth_config_merge_toml(c, text, len, path, error);
}

static gint strcmp_p(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

gboolean berth_config_merge_dir(BerthConfig *c, const char *dir, GError **error)
{
	g_autoptr(GError) local = NULL;
	g_autoptr(GDir) d = g_dir_open(dir, 0, &local);
	if (d == NULL) {
		if (g_error_matches(local, G_FILE_ERROR, G_FILE_ERROR_NOENT))
			return TRUE;
		return berth_throw(error, INVALID_ARGUMENT, "%s",
				   local->message);
	}
	g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
	const char *name;
	while ((name = g_dir_read_name(d)) != NULL) {
		if (g_str_has_suffix(name, ".conf") && name[0] != '.')
			g_ptr_array_add(names, g_strdup(name));
	}
	g_ptr_array_sort(names, strcmp_p);
	for (guint i = 0; i < names->len; i++) {
		g_autofree char *path = g_build_filename(
			dir, (char *)g_ptr_array_index(names, i), NULL);
		if (!berth_config_merge_file(c, path, error))
			return FALSE;
	}
	return TRUE;
}

/* --- whole-config validation -------------------------------------------- */

static const char *origin(const BerthConfig *c, const char *key)
{
	const char *o = g_hash_table_lookup(c->origins, key);
	return o ? o : "default";
}

void berth_config_resolve(BerthConfig *c, gboolean systemd_is_pid1)
{
	c->systemd_is_pid1 = systemd_is_pid1;
	if (c->cgroup_manager[0] == '\0') {
		g_free(c->cgroup_manager);
		c->cgroup_manager =
			g_strdup(systemd_is_pid1 ? "systemd" : "cgroupfs");
		c->cgroup_manager_auto = TRUE;
	}
	if (c->default_cgroup_parent[0] == '\0') {
		g_free(c->default_cgroup_parent);
		c->default_cgroup_parent =
			g_strdup(strcmp(c->cgroup_manager, "systemd") == 0
					 ? "berth.slice"
					 : "/berth");
	}
}

/* default_cgroup_parent and conmon_cgroup suit the cgroup manager: slices
 * for systemd (the full check of a name is at use), paths for cgroupfs. */
static gboolean validate_cgroups(const BerthConfig *c, GError **error)
{
	const char *parent = c->default_cgroup_parent;
	if (c->cgroup_manager[0] == '\0' || parent[0] == '\0')
		return TRUE; /* not resolved yet */
	gboolean systemd = strcmp(c->cgroup_manager, "systemd") == 0;
	gboolean slice =
		g_str_has_suffix(parent, ".slice") && !strchr(parent, '/');
	if (systemd && !slice)
		return berth_throw(
			error, INVALID_ARGUMENT,
			"default_cgroup_parent \"%s\" (%s) must be "
			"a slice such as berth.slice with the "
			"systemd cgroup manager",
			parent,
			origin(c, "berth.runtime.default_cgroup_parent"));
	if (!systemd && parent[0] != '/')
		return berth_throw(
			error, INVALID_ARGUMENT,
			"default_cgroup_parent \"%s\" (%s) must be "
			"an absolute cgroup path with the cgroupfs "
			"cgroup manager",
			parent,
			origin(c, "berth.runtime.default_cgroup_parent"));
	if (strcmp(c->conmon_cgroup, "pod") != 0 &&
	    (!g_str_has_suffix(c->conmon_cgroup, ".slice") ||
	     strchr(c->conmon_cgroup, '/')))
		return berth_throw(error, INVALID_ARGUMENT,
				   "conmon_cgroup \"%s\" (%s) must be a "
				   "slice such as system.slice, or \"pod\"",
				   c->conmon_cgroup,
				   origin(c, "berth.runtime.conmon_cgroup"));
	return TRUE;
}

gboolean berth_config_validate(const BerthConfig *c, GError **error)
{
	if (!validate_cgroups(c, error))
		return FALSE;
	for (guint i = 0; i < c->runtimes->len; i++) {
		const BerthRuntimeHandler *h =
			g_ptr_array_index(c->runtimes, i);
		if (h->runtime_path == NULL || h->runtime_path[0] != '/')
			return berth_throw(
				error, INVALID_ARGUMENT,
				"runtime handler \"%s\" needs an absolute "
				"runtime_path (%s)",
				h->name, origin(c, "berth.runtime.runtimes"));
		if (h->runtime_root[0] != '\0' && h->runtime_root[0] != '/')
			return berth_throw(error, INVALID_ARGUMENT,
					   "runtime handler \"%s\": "
					   "runtime_root must be absolute",
					   h->name);
	}
	if (c->default_runtime[0] != '\0' &&
	    berth_config_runtime(c, c->default_runtime) == NULL)
		return berth_throw(error, INVALID_ARGUMENT,
				   "default_runtime \"%s\" (%s) is not a "
				   "configured runtime handler",
				   c->default_runtime,
				   origin(c, "berth.runtime.default_runtime"));
	for (char **p = c->pinned_images; *p != NULL; p++) {
		const char *star = strchr(*p, '*');
		if (**p == '*' || (star != NULL && star[1] != '\0'))
			return berth_throw(
				error, INVALID_ARGUMENT,
				"berth.image.pinned_images entry \"%s\" (%s): "
				"a name, or a prefix ending in one \"*\"",
				*p, origin(c, "berth.image.pinned_images"));
	}
	if (!g_hostname_is_ip_address(c->stream_address))
		return berth_throw(error, INVALID_ARGUMENT,
				   "berth.streaming.address must be an IP "
				   "address, not \"%s\" (%s)",
				   c->stream_address,
				   origin(c, "berth.streaming.address"));
	if ((c->metrics_cert[0] == '\0') != (c->metrics_key[0] == '\0'))
		return berth_throw(error, INVALID_ARGUMENT,
				   "berth.metrics.metrics_cert and metrics_key "
				   "go together: set both or neither");
	if ((c->stream_tls_cert[0] == '\0') != (c->stream_tls_key[0] == '\0'))
		return berth_throw(error, INVALID_ARGUMENT,
				   "berth.streaming.tls_cert and tls_key go "
				   "together: set both or neither");
	if (strcmp(c->root, c->runroot) == 0)
		return berth_throw(error, INVALID_ARGUMENT,
				   "root and runroot must differ (both %s)",
				   c->root);
	return TRUE;
}
