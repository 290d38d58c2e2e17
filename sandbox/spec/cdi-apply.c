/* Applying resolved CDI container edits to an OCI runtime spec (a
 * config.json tree): env, device nodes and their cgroup rules, mounts,
 * hooks, additional gids, intelRdt and netDevices, as the CDI reference
 * library does. Works on a copy, so a failure leaves the spec untouched. */
#include "sandbox/spec/cdi-private.h"
#include "util/error.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

typedef struct {
	json_t *spec;	  /* the working copy */
	gboolean mounts;  /* mounts were added: order them at the end */
	gboolean user_ns; /* the spec has a user namespace */
} Apply;

/* parent[key] as an object (or array), made when missing or not one. */
static json_t *child(json_t *parent, const char *key, gboolean array)
{
	json_t *v = json_object_get(parent, key);
	if (array ? json_is_array(v) : json_is_object(v))
		return v;
	v = array ? json_array() : json_object();
	json_object_set_new(parent, key, v);
	return v;
}

static const char *str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void set_copy(json_t *dst, const char *key, json_t *src)
{
	json_t *v = json_object_get(src, key);
	if (v != NULL)
		json_object_set_new(dst, key, json_deep_copy(v));
}

/* --- env and gids --------------------------------------------------------- */

static void apply_env(Apply *a, json_t *edits)
{
	json_t *list = json_object_get(edits, "env");
	if (json_array_size(list) == 0)
		return;
	json_t *env = child(child(a->spec, "process", FALSE), "env", TRUE);
	for (gsize i = 0; i < json_array_size(list); i++) {
		const char *e = json_string_value(json_array_get(list, i));
		size_t klen = (size_t)(strchr(e, '=') - e) + 1; /* with '=' */
		gsize j = 0;
		for (; j < json_array_size(env); j++) {
			const char *old =
				json_string_value(json_array_get(env, j));
			if (old && strncmp(old, e, klen) == 0)
				break;
		}
		if (j < json_array_size(env))
			json_array_set_new(env, j, json_string(e));
		else
			json_array_append_new(env, json_string(e));
	}
}

static void apply_gids(Apply *a, json_t *edits)
{
	json_t *list = json_object_get(edits, "additionalGids");
	if (json_array_size(list) == 0)
		return;
	json_t *user = child(child(a->spec, "process", FALSE), "user", FALSE);
	json_t *gids = child(user, "additionalGids", TRUE);
	for (gsize i = 0; i < json_array_size(list); i++) {
		json_int_t g = json_integer_value(json_array_get(list, i));
		gboolean have = g == 0; /* 0 is ignored, says the spec */
		for (gsize j = 0; !have && j < json_array_size(gids); j++)
			have = json_integer_value(json_array_get(gids, j)) == g;
		if (!have)
			json_array_append_new(gids, json_integer(g));
	}
}

/* --- device nodes --------------------------------------------------------- */

typedef struct {
	const char *type;
	json_int_t major, minor;
	json_t *file_mode; /* NULL: none known */
} NodeInfo;

static const char *host_type(const struct stat *st)
{
	if (S_ISBLK(st->st_mode))
		return "b";
	if (S_ISCHR(st->st_mode))
		return "c";
	if (S_ISFIFO(st->st_mode))
		return "p";
	return NULL;
}

/* Type, numbers and mode from the spec, the rest from the host node.
 * A node the spec gives fully (type, and a major unless a fifo) needs no
 * host node; anything less does, of the same type. */
static gboolean node_info(json_t *n, NodeInfo *out, GError **error)
{
	const char *path = str(n, "path");
	const char *host = str(n, "hostPath") ? str(n, "hostPath") : path;
	const char *type = str(n, "type") ? str(n, "type") : "";
	json_int_t major = json_integer_value(json_object_get(n, "major"));
	json_int_t minor = json_integer_value(json_object_get(n, "minor"));
	gboolean full = *type && (major != 0 || strcmp(type, "p") == 0);
	out->file_mode = json_object_get(n, "fileMode");
	struct stat st;
	int errsv = stat(host, &st) < 0 ? errno : 0;
	const char *ht = errsv ? NULL : host_type(&st);
	if (ht == NULL && !full)
		return berth_throw(
			error, FAILED_PRECONDITION, "device node %s: %s", host,
			errsv ? g_strerror(errsv) : "not a device node");
	if (ht != NULL && out->file_mode == NULL)
		out->file_mode = json_integer(st.st_mode & 07777);
	else if (out->file_mode != NULL)
		json_incref(out->file_mode);
	if (ht != NULL && !full) {
		if (*type && strcmp(type, ht) != 0) {
			g_clear_pointer(&out->file_mode, json_decref);
			return berth_throw(error, FAILED_PRECONDITION,
					   "device node %s: the spec says type "
					   "%s, the host node is %s",
					   host, type, ht);
		}
		type = ht;
		if (strcmp(type, "p") != 0 && major == 0) {
			major = major(st.st_rdev);
			minor = minor(st.st_rdev);
		}
	}
	out->type = type;
	out->major = major;
	out->minor = minor;
	return TRUE;
}

/* The node's owner: the spec's, else the process user's when not root
 * (what the reference library does). */
static void set_owner(json_t *dev, json_t *n, json_t *user, const char *key,
		      const char *user_key)
{
	json_t *v = json_object_get(n, key);
	json_int_t u = json_integer_value(json_object_get(user, user_key));
	if (v != NULL)
		json_object_set_new(dev, key, json_deep_copy(v));
	else if (u > 0)
		json_object_set_new(dev, key, json_integer(u));
}

static void replace_device(json_t *devices, json_t *dev)
{
	const char *path = str(dev, "path");
	for (gsize i = 0; i < json_array_size(devices); i++) {
		if (g_strcmp0(str(json_array_get(devices, i), "path"), path) ==
		    0) {
			json_array_set_new(devices, i, dev);
			return;
		}
	}
	json_array_append_new(devices, dev);
}

static json_t *cgroup_rule(const NodeInfo *info, const char *perms)
{
	const char *access = perms == NULL || *perms == '\0' ? "rwm"
			     : strcmp(perms, "none") == 0    ? ""
							     : perms;
	return json_pack("{s:b, s:s, s:I, s:I, s:s}", "allow", 1, "type",
			 info->type, "major", info->major, "minor", info->minor,
			 "access", access);
}

static gboolean apply_node(Apply *a, json_t *n, GError **error)
{
	NodeInfo info;
	if (!node_info(n, &info, error))
		return FALSE;
	json_t *dev = json_pack("{s:s, s:s}", "path", str(n, "path"), "type",
				info.type);
	if (strcmp(info.type, "p") != 0) {
		json_object_set_new(dev, "major", json_integer(info.major));
		json_object_set_new(dev, "minor", json_integer(info.minor));
	}
	if (info.file_mode != NULL)
		json_object_set_new(dev, "fileMode", info.file_mode);
	json_t *user =
		json_object_get(json_object_get(a->spec, "process"), "user");
	set_owner(dev, n, user, "uid", "uid");
	set_owner(dev, n, user, "gid", "gid");
	json_t *linux_ = child(a->spec, "linux", FALSE);
	replace_device(child(linux_, "devices", TRUE), dev);
	if (strcmp(info.type, "b") == 0 || strcmp(info.type, "c") == 0)
		json_array_append_new(
			child(child(linux_, "resources", FALSE), "devices",
			      TRUE),
			cgroup_rule(&info, str(n, "permissions")));
	return TRUE;
}

/* --- mounts, hooks, intelRdt, netDevices ---------------------------------- */

/* In a user namespace a bind mount gets an idmap (rbind: ridmap) option,
 * unless it has one. */
static void add_idmap(json_t *m)
{
	json_t *opts = json_object_get(m, "options");
	const char *opt =
		g_strcmp0(str(m, "type"), "bind") == 0 ? "idmap" : NULL;
	for (gsize i = 0; i < json_array_size(opts); i++) {
		const char *o = json_string_value(json_array_get(opts, i));
		if (strcmp(o, "idmap") == 0 || strcmp(o, "ridmap") == 0)
			return;
		if (strcmp(o, "bind") == 0)
			opt = "idmap";
		else if (strcmp(o, "rbind") == 0)
			opt = "ridmap";
	}
	if (opt != NULL)
		json_array_append_new(child(m, "options", TRUE),
				      json_string(opt));
}

static void apply_mount(Apply *a, json_t *cm)
{
	const char *dest = str(cm, "containerPath");
	json_t *mounts = child(a->spec, "mounts", TRUE);
	for (gsize i = json_array_size(mounts); i > 0; i--) {
		if (g_strcmp0(str(json_array_get(mounts, i - 1), "destination"),
			      dest) == 0)
			json_array_remove(mounts, i - 1);
	}
	json_t *m = json_pack("{s:s}", "destination", dest);
	set_copy(m, "type", cm);
	json_object_set_new(m, "source", json_string(str(cm, "hostPath")));
	set_copy(m, "options", cm);
	if (a->user_ns)
		add_idmap(m);
	json_array_append_new(mounts, m);
	a->mounts = TRUE;
}

static void apply_hook(Apply *a, json_t *h)
{
	json_t *hook = json_pack("{s:s}", "path", str(h, "path"));
	set_copy(hook, "args", h);
	set_copy(hook, "env", h);
	set_copy(hook, "timeout", h);
	json_t *hooks = child(a->spec, "hooks", FALSE);
	json_array_append_new(child(hooks, str(h, "hookName"), TRUE), hook);
}

static gboolean apply_netdevs(Apply *a, json_t *list, GError **error)
{
	if (json_array_size(list) == 0)
		return TRUE;
	json_t *nd = child(child(a->spec, "linux", FALSE), "netDevices", FALSE);
	for (gsize i = 0; i < json_array_size(list); i++) {
		json_t *d = json_array_get(list, i);
		const char *host = str(d, "hostInterfaceName");
		const char *name = str(d, "name");
		const char *had = str(json_object_get(nd, host), "name");
		if (had != NULL && strcmp(had, name) != 0)
			return berth_throw(error, FAILED_PRECONDITION,
					   "host interface %s is to be moved "
					   "in as both %s and %s",
					   host, had, name);
		json_object_set_new(nd, host, json_pack("{s:s}", "name", name));
	}
	return TRUE;
}

static gboolean apply_entry(Apply *a, json_t *e, GError **error)
{
	apply_env(a, e);
	json_t *nodes = json_object_get(e, "deviceNodes");
	for (gsize i = 0; i < json_array_size(nodes); i++) {
		if (!apply_node(a, json_array_get(nodes, i), error))
			return FALSE;
	}
	if (!apply_netdevs(a, json_object_get(e, "netDevices"), error))
		return FALSE;
	json_t *mounts = json_object_get(e, "mounts");
	for (gsize i = 0; i < json_array_size(mounts); i++)
		apply_mount(a, json_array_get(mounts, i));
	json_t *hooks = json_object_get(e, "hooks");
	for (gsize i = 0; i < json_array_size(hooks); i++)
		apply_hook(a, json_array_get(hooks, i));
	json_t *rdt = json_object_get(e, "intelRdt");
	if (rdt != NULL)
		json_object_set_new(child(a->spec, "linux", FALSE), "intelRdt",
				    json_deep_copy(rdt));
	apply_gids(a, e);
	return TRUE;
}

/* --- the whole ------------------------------------------------------------ */

/* Path components, counted as spec-mounts.c does ("/" 0, "/a/b" 2). */
static int mount_depth(json_t *m)
{
	g_autofree char *clean =
		g_canonicalize_filename(str(m, "destination"), "/");
	int n = 0;
	for (const char *p = clean; *p; p++)
		n += *p == '/' && p[1] != '\0';
	return n;
}

/* Parents before what goes inside them; a stable insertion sort keeps
 * the order of mounts at one depth. */
static void order_mounts(json_t *mounts)
{
	gsize n = json_array_size(mounts);
	g_autofree int *depth = g_new(int, n);
	g_autofree json_t **m = g_new(json_t *, n);
	for (gsize i = 0; i < n; i++) {
		m[i] = json_incref(json_array_get(mounts, i));
		depth[i] = mount_depth(m[i]);
		gsize j = i;
		for (; j > 0 && depth[j - 1] > depth[i]; j--)
			;
		int d = depth[i];
		json_t *x = m[i];
		memmove(&depth[j + 1], &depth[j], (i - j) * sizeof(int));
		memmove(&m[j + 1], &m[j], (i - j) * sizeof(json_t *));
		depth[j] = d;
		m[j] = x;
	}
	json_array_clear(mounts);
	for (gsize i = 0; i < n; i++)
		json_array_append_new(mounts, m[i]);
}

static gboolean has_user_ns(json_t *spec)
{
	json_t *ns =
		json_object_get(json_object_get(spec, "linux"), "namespaces");
	for (gsize i = 0; i < json_array_size(ns); i++) {
		if (g_strcmp0(str(json_array_get(ns, i), "type"), "user") == 0)
			return TRUE;
	}
	return FALSE;
}

gboolean cdi_apply(const CdiEdits *e, json_t *oci_spec, GError **error)
{
	if (!json_is_object(oci_spec))
		return berth_throw(error, INTERNAL,
				   "CDI: the OCI spec is not an object");
	if (e == NULL || e->entries->len == 0)
		return TRUE;
	Apply a = {.spec = json_deep_copy(oci_spec)};
	a.user_ns = has_user_ns(a.spec);
	for (guint i = 0; i < e->entries->len; i++) {
		const CdiEditsEntry *x = e->entries->pdata[i];
		if (!apply_entry(&a, x->edits, error)) {
			g_prefix_error(error, "%s: ", x->origin);
			json_decref(a.spec);
			return FALSE;
		}
	}
	if (a.mounts)
		order_mounts(json_object_get(a.spec, "mounts"));
	json_object_clear(oci_spec);
	json_object_update(oci_spec, a.spec);
	json_decref(a.spec);
	return TRUE;
}
