/* Image config blobs (OCI image config and Docker's container image v1,
 * which share their layout) into ImageConfig. */
#include "image/manifest.h"

#include <string.h>

#include "image/digest.h"
#include "image/json.h"
#include "util/error.h"

static gboolean config_parse_created(json_t *root, ImageConfig *c,
				     GError **error)
{
	const char *created;
	if (!image_json_string(root, "created", FALSE, &created, error))
		return FALSE;
	if (created == NULL)
		return TRUE;
	g_autoptr(GDateTime) dt = g_date_time_new_from_iso8601(created, NULL);
	if (dt == NULL)
		return berth_throw(error, INVALID_ARGUMENT,
				   "field \"created\": \"%s\" is not an RFC "
				   "3339 time",
				   created);
	c->created = g_strdup(created);
	c->created_unix = g_date_time_to_unix(dt);
	return TRUE;
}

static gboolean config_parse_platform(json_t *root, ImageConfig *c,
				      GError **error)
{
	const char *arch, *os, *variant;
	if (!image_json_string(root, "architecture", TRUE, &arch, error) ||
	    !image_json_string(root, "os", TRUE, &os, error) ||
	    !image_json_string(root, "variant", FALSE, &variant, error))
		return FALSE;
	if (*arch == '\0' || *os == '\0')
		return berth_throw(error, INVALID_ARGUMENT,
				   "empty architecture or os");
	c->architecture = g_strdup(arch);
	c->os = g_strdup(os);
	c->variant = variant && *variant ? g_strdup(variant) : NULL;
	return TRUE;
}

static gboolean config_check_env(char **env, GError **error)
{
	for (char **e = env; *e; e++)
		if (strchr(*e, '=') == NULL || **e == '=')
			return berth_throw(error, INVALID_ARGUMENT,
					   "field \"Env\": \"%s\" is not "
					   "NAME=value",
					   *e);
	return TRUE;
}

static gboolean config_port_number_ok(const char *s, gsize len)
{
	guint64 n = 0;
	if (len == 0 || len > 5)
		return FALSE;
	for (gsize i = 0; i < len; i++) {
		if (!g_ascii_isdigit(s[i]))
			return FALSE;
		n = n * 10 + (s[i] - '0');
	}
	return n >= 1 && n <= 65535;
}

/* "80", "80/tcp", "53/udp", "9/sctp", "8000-8010/tcp". */
static gboolean config_port_ok(const char *key)
{
	const char *slash = strchr(key, '/');
	gsize len = slash ? (gsize)(slash - key) : strlen(key);
	if (slash != NULL && strcmp(slash, "/tcp") != 0 &&
	    strcmp(slash, "/udp") != 0 && strcmp(slash, "/sctp") != 0)
		return FALSE;
	const char *dash = memchr(key, '-', len);
	if (dash == NULL)
		return config_port_number_ok(key, len);
	return config_port_number_ok(key, dash - key) &&
	       config_port_number_ok(dash + 1, len - (dash - key) - 1);
}

static gboolean config_check_keys(ImageConfig *c, GError **error)
{
	for (char **p = c->exposed_ports; *p; p++)
		if (!config_port_ok(*p))
			return berth_throw(error, INVALID_ARGUMENT,
					   "field \"ExposedPorts\": invalid "
					   "port \"%s\"",
					   *p);
	for (char **v = c->volumes; *v; v++)
		if (**v != '/')
			return berth_throw(error, INVALID_ARGUMENT,
					   "field \"Volumes\": \"%s\" is not "
					   "an absolute path",
					   *v);
	return TRUE;
}

static char *config_dup_nonempty(const char *s)
{
	return s && *s ? g_strdup(s) : NULL;
}

/* The "config" member: how to run the image. Absent means defaults. */
static gboolean config_parse_exec(json_t *root, ImageConfig *c, GError **error)
{
	json_t *cfg;
	const char *user, *wd, *stop;
	if (!image_json_object(root, "config", FALSE, &cfg, error))
		return FALSE;
	if (!image_json_string(cfg, "User", FALSE, &user, error) ||
	    !image_json_string(cfg, "WorkingDir", FALSE, &wd, error) ||
	    !image_json_string(cfg, "StopSignal", FALSE, &stop, error) ||
	    !image_json_strv(cfg, "Env", &c->env, error) ||
	    !image_json_strv(cfg, "Entrypoint", &c->entrypoint, error) ||
	    !image_json_strv(cfg, "Cmd", &c->cmd, error) ||
	    !image_json_string_map(cfg, "Labels", &c->labels, error) ||
	    !image_json_keys(cfg, "ExposedPorts", &c->exposed_ports, error) ||
	    !image_json_keys(cfg, "Volumes", &c->volumes, error) ||
	    !config_check_env(c->env, error) || !config_check_keys(c, error)) {
		g_prefix_error(error, "config: ");
		return FALSE;
	}
	c->user = config_dup_nonempty(user);
	c->working_dir = config_dup_nonempty(wd);
	c->stop_signal = config_dup_nonempty(stop);
	return TRUE;
}

static gboolean config_parse_rootfs(json_t *root, ImageConfig *c,
				    GError **error)
{
	json_t *rootfs;
	const char *type;
	if (!image_json_object(root, "rootfs", TRUE, &rootfs, error) ||
	    !image_json_string(rootfs, "type", TRUE, &type, error) ||
	    !image_json_strv(rootfs, "diff_ids", &c->diff_ids, error)) {
		g_prefix_error(error, "rootfs: ");
		return FALSE;
	}
	if (strcmp(type, "layers") != 0)
		return berth_throw(error, INVALID_ARGUMENT,
				   "rootfs: type \"%s\" is not \"layers\"",
				   type);
	for (guint i = 0; c->diff_ids[i]; i++) {
		if (!digest_validate(c->diff_ids[i], error)) {
			g_prefix_error(error, "rootfs: diff_ids[%u]: ", i);
			return FALSE;
		}
	}
	return TRUE;
}

static gboolean config_check_history_entry(json_t *h, GError **error)
{
	static const char *const strings[] = {"created", "created_by", "author",
					      "comment"};
	const char *s;
	if (!json_is_object(h))
		return berth_throw(error, INVALID_ARGUMENT,
				   "must be an object");
	for (gsize i = 0; i < G_N_ELEMENTS(strings); i++)
		if (!image_json_string(h, strings[i], FALSE, &s, error))
			return FALSE;
	json_t *empty = json_object_get(h, "empty_layer");
	if (empty != NULL && !json_is_boolean(empty) && !json_is_null(empty))
		return berth_throw(error, INVALID_ARGUMENT,
				   "field \"empty_layer\" must be a boolean");
	return TRUE;
}

static gboolean config_parse_history(json_t *root, ImageConfig *c,
				     GError **error)
{
	json_t *history;
	if (!image_json_array(root, "history", FALSE, &history, error))
		return FALSE;
	for (gsize i = 0; history && i < json_array_size(history); i++) {
		if (!config_check_history_entry(json_array_get(history, i),
						error)) {
			g_prefix_error(error, "history[%zu]: ", i);
			return FALSE;
		}
	}
	c->history_count = history ? json_array_size(history) : 0;
	return TRUE;
}

gboolean image_config_parse(const char *body, gsize len, ImageConfig **out,
			    GError **error)
{
	g_autoptr(json_t) root = image_json_load(
		body, len, IMAGE_CONFIG_MAX_SIZE, "image config", error);
	if (root == NULL)
		return FALSE;
	g_autoptr(ImageConfig) c = g_new0(ImageConfig, 1);
	if (!config_parse_platform(root, c, error) ||
	    !config_parse_created(root, c, error) ||
	    !config_parse_exec(root, c, error) ||
	    !config_parse_rootfs(root, c, error) ||
	    !config_parse_history(root, c, error)) {
		g_prefix_error(error, "image config: ");
		return FALSE;
	}
	*out = g_steal_pointer(&c);
	return TRUE;
}

void image_config_free(ImageConfig *c)
{
	if (c == NULL)
		return;
	g_free(c->architecture);
	g_free(c->os);
	g_free(c->variant);
	g_free(c->created);
	g_free(c->user);
	g_strfreev(c->env);
	g_strfreev(c->entrypoint);
	g_strfreev(c->cmd);
	g_free(c->working_dir);
	g_free(c->stop_signal);
	if (c->labels)
		g_hash_table_unref(c->labels);
	g_strfreev(c->exposed_ports);
	g_strfreev(c->volumes);
	g_strfreev(c->diff_ids);
	g_free(c);
}
