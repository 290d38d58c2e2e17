/* UpdateContainerResources in the domain: the new cpu, cpuset and memory
 * limits as an OCI LinuxResources document, handed to `<runtime> update`
 * for a running container or merged into the bundle's config.json for a
 * created one (no runtime has seen it yet), then kept in the container's
 * config and record. */
#include "sandbox/container/ctr-private.h"
#include "sandbox/cgroup/cgroup.h"
#include "util/error.h"
#include "util/fs.h"

#include <jansson.h>
#include <string.h>
#include <unistd.h>

static void put_int(json_t *o, const char *key, gint64 v)
{
	if (v > 0)
		json_object_set_new(o, key, json_integer(v));
}

static void put_obj(json_t *parent, const char *key, json_t *o)
{
	if (json_object_size(o) > 0)
		json_object_set_new(parent, key, o);
	else
		json_decref(o);
}

/* Swap limits need swap accounting (v1: memory.memsw.*; v2: always). */
static gboolean swap_accounting(void)
{
	return access("/sys/fs/cgroup/cgroup.controllers", F_OK) == 0 ||
	       access("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes",
		      F_OK) == 0;
}

/* OCI LinuxResources: only what the CRI gives and the runtimes update. */
static json_t *resources_doc(const CtrResources *r)
{
	json_t *res = json_object();
	json_t *cpu = json_object();
	put_int(cpu, "shares", r->cpu_shares);
	put_int(cpu, "quota", r->cpu_quota);
	put_int(cpu, "period", r->cpu_period);
	if (r->cpuset_cpus && *r->cpuset_cpus)
		json_object_set_new(cpu, "cpus", json_string(r->cpuset_cpus));
	if (r->cpuset_mems && *r->cpuset_mems)
		json_object_set_new(cpu, "mems", json_string(r->cpuset_mems));
	put_obj(res, "cpu", cpu);
	json_t *mem = json_object();
	put_int(mem, "limit", r->memory_limit);
	if (swap_accounting())
		put_int(mem, "swap", r->memory_swap_limit);
	put_obj(res, "memory", mem);
	return res;
}

static char *resources_json(const CtrResources *r)
{
	json_t *res = resources_doc(r);
	char *text = json_dumps(res, JSON_COMPACT);
	json_decref(res);
	return text;
}

/* A created container: the limits go into its spec, where the runtime
 * reads them when it starts the container. */
static gboolean update_spec(Container *c, const CtrResources *r, GError **error)
{
	g_autofree char *path = g_build_filename(c->dir, "config.json", NULL);
	json_error_t jerr;
	json_t *spec = json_load_file(path, 0, &jerr);
	if (spec == NULL)
		return berth_throw(error, INTERNAL, "read %s: %s", path,
				   jerr.text);
	json_t *linux_ = json_object_get(spec, "linux");
	if (!json_is_object(linux_)) {
		linux_ = json_object();
		json_object_set_new(spec, "linux", linux_);
	}
	json_t *have = json_object_get(linux_, "resources");
	if (!json_is_object(have)) {
		have = json_object();
		json_object_set_new(linux_, "resources", have);
	}
	json_t *res = resources_doc(r);
	const char *key;
	json_t *part;
	json_object_foreach(res, key, part)
	{
		json_t *into = json_object_get(have, key);
		if (json_is_object(into))
			json_object_update(into, part);
		else
			json_object_set(have, key, part);
	}
	json_decref(res);
	char *text = json_dumps(spec, JSON_INDENT(1));
	json_decref(spec);
	gboolean ok = berth_replace_file(path, text, strlen(text), 0600, error);
	free(text);
	return ok;
}

static void store(Container *c, const CtrResources *r)
{
	CtrResources *o = &c->config->resources;
	g_mutex_lock(&c->lock);
	o->cpu_period = r->cpu_period;
	o->cpu_quota = r->cpu_quota;
	o->cpu_shares = r->cpu_shares;
	o->memory_limit = r->memory_limit;
	o->memory_swap_limit = r->memory_swap_limit;
	g_free(o->cpuset_cpus);
	o->cpuset_cpus = g_strdup(r->cpuset_cpus ? r->cpuset_cpus : "");
	g_free(o->cpuset_mems);
	o->cpuset_mems = g_strdup(r->cpuset_mems ? r->cpuset_mems : "");
	g_mutex_unlock(&c->lock);
}

static gboolean update_locked(CtrManager *m, Container *c,
			      const CtrResources *r, GError **error)
{
	CtrState s = container_get_state(c);
	if (s != CTR_CREATED && s != CTR_RUNNING)
		return berth_throw(error, FAILED_PRECONDITION,
				   "container %s is not created or running: "
				   "its resources cannot change",
				   c->id);
	if (s == CTR_CREATED) {
		if (!update_spec(c, r, error))
			return FALSE;
		store(c, r);
		return ctr_save(m, c, error);
	}
	const OciRuntime *rt = ctr_runtime_of(m, c, error);
	if (rt == NULL)
		return FALSE;
	g_autofree char *path =
		g_build_filename(c->dir, "resources-update.json", NULL);
	char *text = resources_json(r);
	gboolean ok =
		berth_write_file_atomic(path, text, strlen(text), 0600, error);
	free(text);
	if (!ok)
		return FALSE;
	const char *args[] = {"update", "--resources", path, c->id, NULL};
	ok = oci_runtime_run_in(rt, cgroup_path_is_systemd(c->cgroup), NULL,
				args, NULL, error);
	unlink(path);
	if (!ok)
		return FALSE;
	store(c, r);
	return ctr_save(m, c, error);
}

gboolean ctr_manager_update_resources(CtrManager *m, const char *id,
				      const CtrResources *r, GError **error)
{
	g_autoptr(Container) c = ctr_manager_lookup(m, id, error);
	if (c == NULL)
		return FALSE;
	g_mutex_lock(&c->op_lock);
	gboolean ok = update_locked(m, c, r, error);
	g_mutex_unlock(&c->op_lock);
	if (!ok)
		g_prefix_error(error,
			       "update resources of container %s: ", c->id);
	return ok;
}
