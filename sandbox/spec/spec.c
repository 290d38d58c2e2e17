/* The spec generator's main line: process (command, environment, working
 * dir, user, terminal), root, hostname, namespaces, cgroup path, resources
 * and annotations. Mounts, devices and security are in their own files. */
#include "sandbox/spec/spec-private.h"
#include "sandbox/cgroup/cgroup.h"
#include "util/jsonutil.h"
#include "util/error.h"
#include "util/log.h"

#include <signal.h>
#include <string.h>

#define OCI_VERSION "1.0.2"
#define DEFAULT_PATH                                                           \
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

void oci_spec_result_clear(OciSpecResult *r)
{
	g_clear_pointer(&r->spec, json_decref);
	ctr_user_clear(&r->user);
	r->stop_signal = 0;
}

json_t *oci_json_strv(const char *const *v)
{
	return berth_json_from_strv((char *const *)v);
}

/* --- process -------------------------------------------------------------- */

static gboolean strv_empty(char *const *v)
{
	return v == NULL || v[0] == NULL;
}

/* kubelet's rules: command replaces the image's Entrypoint and drops its
 * Cmd; args alone replace only Cmd. */
static json_t *build_args(const CtrConfig *c, const ImageConfig *img,
			  GError **error)
{
	char *const *entry = c->command;
	char *const *cmd = c->args;
	if (strv_empty(c->command)) {
		entry = img ? img->entrypoint : NULL;
		if (strv_empty(c->args))
			cmd = img ? img->cmd : NULL;
	}
	json_t *args = oci_json_strv((const char *const *)entry);
	json_t *rest = oci_json_strv((const char *const *)cmd);
	json_array_extend(args, rest);
	json_decref(rest);
	if (json_array_size(args) == 0) {
		json_decref(args);
		return berth_throw_null(error, INVALID_ARGUMENT,
					"no command: neither the request nor "
					"the image gives one");
	}
	return args;
}

typedef struct {
	GPtrArray *items;  /* "K=V", owned */
	GHashTable *index; /* key -> position + 1 */
} EnvList;

static void env_set(EnvList *e, const char *key, const char *entry)
{
	guint pos = GPOINTER_TO_UINT(g_hash_table_lookup(e->index, key));
	if (pos > 0) {
		g_free(e->items->pdata[pos - 1]);
		e->items->pdata[pos - 1] = g_strdup(entry);
		return;
	}
	g_ptr_array_add(e->items, g_strdup(entry));
	g_hash_table_insert(e->index, g_strdup(key),
			    GUINT_TO_POINTER(e->items->len));
}

static gboolean env_has(EnvList *e, const char *key)
{
	return g_hash_table_contains(e->index, key);
}

static void env_add_image(EnvList *e, char *const *env)
{
	for (; env && *env; env++) {
		const char *eq = strchr(*env, '=');
		g_autofree char *key = eq ? g_strndup(*env, (gsize)(eq - *env))
					  : g_strdup(*env);
		env_set(e, key, *env);
	}
}

/* Image env, then the request's overriding by name; then PATH, HOSTNAME,
 * TERM (for a tty) and HOME when nobody gave them. */
static json_t *build_env(const CtrConfig *c, const CtrSpecContext *ctx,
			 const CtrUser *user, GError **error)
{
	g_autoptr(GPtrArray) items = g_ptr_array_new_with_free_func(g_free);
	g_autoptr(GHashTable) index =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	EnvList e = {items, index};
	env_add_image(&e, ctx->image ? ctx->image->env : NULL);
	for (guint i = 0; i < c->envs->len; i++) {
		const KeyValue *kv = g_ptr_array_index(c->envs, i);
		if (*kv->key == '\0' || strchr(kv->key, '='))
			return berth_throw_null(
				error, INVALID_ARGUMENT,
				"invalid environment variable name "
				"\"%s\"",
				kv->key);
		g_autofree char *entry =
			g_strconcat(kv->key, "=", kv->value, NULL);
		env_set(&e, kv->key, entry);
	}
	if (!env_has(&e, "PATH"))
		env_set(&e, "PATH", DEFAULT_PATH);
	const char *hn = ctx->pod ? ctx->pod->hostname : NULL;
	if (hn && *hn && !env_has(&e, "HOSTNAME")) {
		g_autofree char *entry = g_strconcat("HOSTNAME=", hn, NULL);
		env_set(&e, "HOSTNAME", entry);
	}
	if (c->tty && !env_has(&e, "TERM"))
		env_set(&e, "TERM", "TERM=xterm");
	if (!env_has(&e, "HOME")) {
		g_autofree char *entry = g_strconcat(
			"HOME=", user->home ? user->home : "/", NULL);
		env_set(&e, "HOME", entry);
	}
	g_ptr_array_add(items, NULL);
	return oci_json_strv((const char *const *)items->pdata);
}

static const char *working_dir(const CtrConfig *c, const ImageConfig *img,
			       GError **error)
{
	const char *cwd = "/";
	if (*c->working_dir)
		cwd = c->working_dir;
	else if (img && img->working_dir)
		cwd = img->working_dir;
	if (!g_path_is_absolute(cwd))
		return berth_throw_null(error, INVALID_ARGUMENT,
					"working directory \"%s\" is not "
					"absolute",
					cwd);
	return cwd;
}

static json_t *user_json(const CtrUser *u)
{
	json_t *gids = json_array();
	for (guint i = 0; i < u->additional_gids->len; i++)
		json_array_append_new(
			gids, json_integer(g_array_index(u->additional_gids,
							 guint32, i)));
	return json_pack("{s:I, s:I, s:o}", "uid", (json_int_t)u->uid, "gid",
			 (json_int_t)u->gid, "additionalGids", gids);
}

/* The CRI's value, raised to what the host lets the runtime set. */
static int oom_score_adj(const CtrConfig *c, const OciHostInfo *host)
{
	gint64 v = CLAMP(c->resources.oom_score_adj, -1000, 1000);
	if (v < host->oom_score_adj_min) {
		log_info("container %s: oom_score_adj %" G_GINT64_FORMAT
			 " raised to %d, the lowest this host allows",
			 c->name, v, host->oom_score_adj_min);
		v = host->oom_score_adj_min;
	}
	return (int)v;
}

static json_t *build_process(const CtrConfig *c, const CtrSpecContext *ctx,
			     const CtrUser *user, GError **error)
{
	json_t *args = build_args(c, ctx->image, error);
	if (args == NULL)
		return NULL;
	json_t *env = build_env(c, ctx, user, error);
	const char *cwd = env ? working_dir(c, ctx->image, error) : NULL;
	if (cwd == NULL) {
		json_decref(args);
		json_decref(env);
		return NULL;
	}
	return json_pack("{s:b, s:o, s:o, s:o, s:s, s:i}", "terminal", c->tty,
			 "user", user_json(user), "args", args, "env", env,
			 "cwd", cwd, "oomScoreAdj",
			 oom_score_adj(c, ctx->host));
}

/* --- namespaces ----------------------------------------------------------- */

static void add_ns(json_t *list, const char *type, const char *path)
{
	json_t *o = json_pack("{s:s}", "type", type);
	if (path)
		json_object_set_new(o, "path", json_string(path));
	json_array_append_new(list, o);
}

static gboolean add_pid_ns(json_t *list, const CtrConfig *c,
			   const CtrSpecContext *ctx, GError **error)
{
	int pid = 0;
	switch (c->security.ns_pid) {
	case POD_NS_NODE:
		return TRUE;
	case POD_NS_CONTAINER:
		add_ns(list, "pid", NULL);
		return TRUE;
	case POD_NS_POD:
		pid = ctx->infra_pid;
		if (pid <= 0)
			return berth_throw(error, FAILED_PRECONDITION,
					   "pid namespace mode POD: the pod "
					   "has no shared PID namespace");
		break;
	case POD_NS_TARGET:
		pid = ctx->target_pid;
		if (pid <= 0)
			return berth_throw(error, FAILED_PRECONDITION,
					   "pid namespace mode TARGET: target "
					   "container \"%s\" is not running",
					   c->security.ns_target_id);
		break;
	default:
		return berth_throw(error, INVALID_ARGUMENT,
				   "unknown pid namespace mode %d",
				   c->security.ns_pid);
	}
	g_autofree char *path = g_strdup_printf("/proc/%d/ns/pid", pid);
	add_ns(list, "pid", path);
	return TRUE;
}

/* The pod's network, IPC and UTS namespaces by pin (absent pin: the
 * host's, so no entry); a new mount namespace; a new cgroup namespace on
 * pure v2 hosts only (on v1 runc and crun disagree on what it shows). */
static json_t *build_namespaces(const CtrConfig *c, const CtrSpecContext *ctx,
				GError **error)
{
	json_t *list = json_array();
	if (!add_pid_ns(list, c, ctx, error)) {
		json_decref(list);
		return NULL;
	}
	if (ctx->netns)
		add_ns(list, "network", ctx->netns);
	if (ctx->ipcns)
		add_ns(list, "ipc", ctx->ipcns);
	if (ctx->utsns)
		add_ns(list, "uts", ctx->utsns);
	add_ns(list, "mount", NULL);
	if (ctx->host->cgroup_v2)
		add_ns(list, "cgroup", NULL);
	return list;
}

/* --- resources ------------------------------------------------------------ */

static void set_int_if(json_t *o, const char *key, gint64 v)
{
	if (v > 0)
		json_object_set_new(o, key, json_integer(v));
}

static void set_str_if(json_t *o, const char *key, const char *v)
{
	if (v && *v)
		json_object_set_new(o, key, json_string(v));
}

static void set_obj_if(json_t *parent, const char *key, json_t *o)
{
	if (json_object_size(o) > 0)
		json_object_set_new(parent, key, o);
	else
		json_decref(o);
}

static void add_memory(json_t *res, const CtrConfig *c, const OciHostInfo *host)
{
	const CtrResources *r = &c->resources;
	json_t *mem = json_object();
	set_int_if(mem, "limit", r->memory_limit);
	if (r->memory_swap_limit > 0 && !host->swap_accounting)
		log_info("container %s: memory_swap_limit_in_bytes ignored: "
			 "no swap accounting on this host",
			 c->name);
	else
		set_int_if(mem, "swap", r->memory_swap_limit);
	set_obj_if(res, "memory", mem);
}

static void add_cpu(json_t *res, const CtrResources *r)
{
	json_t *cpu = json_object();
	set_int_if(cpu, "shares", r->cpu_shares);
	set_int_if(cpu, "quota", r->cpu_quota);
	set_int_if(cpu, "period", r->cpu_period);
	set_str_if(cpu, "cpus", r->cpuset_cpus);
	set_str_if(cpu, "mems", r->cpuset_mems);
	set_obj_if(res, "cpu", cpu);
}

static void add_hugepages_unified(json_t *res, const CtrConfig *c,
				  const OciHostInfo *host)
{
	const CtrResources *r = &c->resources;
	if (r->hugepage_limits->len > 0) {
		json_t *list = json_array();
		for (guint i = 0; i < r->hugepage_limits->len; i++) {
			const CtrHugepageLimit *h =
				g_ptr_array_index(r->hugepage_limits, i);
			json_array_append_new(
				list, json_pack("{s:s, s:I}", "pageSize",
						h->page_size, "limit",
						(json_int_t)h->limit));
		}
		json_object_set_new(res, "hugepageLimits", list);
	}
	if (r->unified->len > 0 && !host->cgroup_v2) {
		log_info("container %s: unified cgroup settings ignored on a "
			 "cgroup v1 host",
			 c->name);
		return;
	}
	json_t *unified = json_object();
	for (guint i = 0; i < r->unified->len; i++) {
		const KeyValue *kv = g_ptr_array_index(r->unified, i);
		json_object_set_new(unified, kv->key, json_string(kv->value));
	}
	set_obj_if(res, "unified", unified);
}

static json_t *build_resources(const CtrConfig *c, const CtrSpecContext *ctx)
{
	json_t *res = json_object();
	add_memory(res, c, ctx->host);
	add_cpu(res, &c->resources);
	if (ctx->pids_limit > 0)
		json_object_set_new(res, "pids",
				    json_pack("{s:I}", "limit",
					      (json_int_t)ctx->pids_limit));
	add_hugepages_unified(res, c, ctx->host);
	return res;
}

/* --- the document --------------------------------------------------------- */

static json_t *annotations(const CtrConfig *c)
{
	json_t *o = json_object();
	for (guint i = 0; i < c->annotations->len; i++) {
		const KeyValue *kv = g_ptr_array_index(c->annotations, i);
		json_object_set_new(o, kv->key, json_string(kv->value));
	}
	return o;
}

static gboolean check_context(const CtrSpecContext *ctx, GError **error)
{
	if (ctx->id == NULL || *ctx->id == '\0' || ctx->host == NULL ||
	    ctx->rootfs == NULL || !g_path_is_absolute(ctx->rootfs))
		return berth_throw(error, INTERNAL,
				   "spec context without id, host facts or an "
				   "absolute rootfs");
	return TRUE;
}

static json_t *build_linux(const CtrConfig *c, const CtrSpecContext *ctx,
			   GError **error)
{
	json_t *ns = build_namespaces(c, ctx, error);
	if (ns == NULL)
		return NULL;
	json_t *linux_ = json_pack("{s:o, s:o}", "namespaces", ns, "resources",
				   build_resources(c, ctx));
	if (ctx->userns)
		userns_spec_apply(linux_, ctx->userns, ctx->userns_map);
	if (ctx->pod_cgroup && *ctx->pod_cgroup) {
		g_autofree char *path =
			cgroup_container_oci_path(ctx->pod_cgroup, ctx->id);
		json_object_set_new(linux_, "cgroupsPath", json_string(path));
	}
	return linux_;
}

static gboolean build_document(const CtrConfig *c, const CtrSpecContext *ctx,
			       OciSpecResult *out, GError **error)
{
	json_t *process = build_process(c, ctx, &out->user, error);
	if (process == NULL)
		return FALSE;
	json_t *linux_ = build_linux(c, ctx, error);
	if (linux_ == NULL) {
		json_decref(process);
		return FALSE;
	}
	out->spec =
		json_pack("{s:s, s:o, s:{s:s, s:b}, s:o, s:o}", "ociVersion",
			  OCI_VERSION, "process", process, "root", "path",
			  ctx->rootfs, "readonly", c->security.readonly_rootfs,
			  "linux", linux_, "annotations", annotations(c));
	const char *hn = ctx->pod ? ctx->pod->hostname : NULL;
	if (ctx->utsns && hn && *hn)
		json_object_set_new(out->spec, "hostname", json_string(hn));
	json_t *res = json_object_get(linux_, "resources");
	return oci_spec_add_security(process, linux_, c, ctx, error) &&
	       oci_spec_add_devices(linux_, res, c, ctx, error) &&
	       oci_spec_add_mounts(out->spec, c, ctx, error);
}

gboolean oci_spec_build(const CtrConfig *c, const CtrSpecContext *ctx,
			OciSpecResult *out, GError **error)
{
	memset(out, 0, sizeof(*out));
	if (!check_context(ctx, error))
		return FALSE;
	const ImageConfig *img = ctx->image;
	const char *image_user = img ? img->user : NULL;
	if (!ctr_user_resolve(ctx->rootfs, &c->security, image_user, &out->user,
			      error) ||
	    !build_document(c, ctx, out, error)) {
		g_prefix_error(error, "container %s: ", c->name);
		oci_spec_result_clear(out);
		return FALSE;
	}
	out->stop_signal =
		ctr_config_stop_signal(c, img ? img->stop_signal : NULL);
	return TRUE;
}

char *oci_spec_generate(const CtrConfig *c, const CtrSpecContext *ctx,
			GError **error)
{
	OciSpecResult r;
	if (!oci_spec_build(c, ctx, &r, error))
		return NULL;
	char *text = json_dumps(r.spec, JSON_INDENT(1));
	oci_spec_result_clear(&r);
	return text;
}
