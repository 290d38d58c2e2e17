/* Limits written straight into a cgroup (UpdatePodSandboxResources: the
 * pod cgroup has no runtime to ask): cpu, cpuset and memory, v1 files
 * where a v1 hierarchy has the controller, else the unified ones. */
#include "sandbox/cgroup/cgroup-private.h"
#include "util/error.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
	gboolean cpu, cpuset, memory; /* already written */
} Done;

static gboolean write_int(const char *dir, const char *file, gint64 v,
			  GError **error)
{
	g_autofree char *text = g_strdup_printf("%" G_GINT64_FORMAT, v);
	return cgroup_write(dir, file, text, error);
}

static gboolean has_file(const char *dir, const char *file)
{
	g_autofree char *path = g_build_filename(dir, file, NULL);
	return access(path, F_OK) == 0;
}

static gboolean v1_cpu(const char *dir, const CtrResources *r, GError **error)
{
	/* The period first: a quota is checked against it. */
	return (r->cpu_shares <= 0 ||
		write_int(dir, "cpu.shares", r->cpu_shares, error)) &&
	       (r->cpu_period <= 0 ||
		write_int(dir, "cpu.cfs_period_us", r->cpu_period, error)) &&
	       (r->cpu_quota == 0 ||
		write_int(dir, "cpu.cfs_quota_us", r->cpu_quota, error));
}

static gboolean cpuset(const CgroupHierarchy *h, const char *dir,
		       const CtrResources *r, GError **error)
{
	gboolean bare = !h->v2 && h->noprefix;
	if (r->cpuset_cpus && *r->cpuset_cpus &&
	    !cgroup_write(dir, bare ? "cpus" : "cpuset.cpus", r->cpuset_cpus,
			  error))
		return FALSE;
	return !(r->cpuset_mems && *r->cpuset_mems) ||
	       cgroup_write(dir, bare ? "mems" : "cpuset.mems", r->cpuset_mems,
			    error);
}

/* v1 keeps memory.limit_in_bytes <= memory.memsw.limit_in_bytes at every
 * write, so which goes first depends on the old values: try both orders. */
static gboolean v1_memory(const char *dir, const CtrResources *r,
			  GError **error)
{
	gboolean swap = r->memory_swap_limit > 0 &&
			has_file(dir, "memory.memsw.limit_in_bytes");
	if (r->memory_limit <= 0)
		return !swap || write_int(dir, "memory.memsw.limit_in_bytes",
					  r->memory_swap_limit, error);
	if (!swap)
		return write_int(dir, "memory.limit_in_bytes", r->memory_limit,
				 error);
	if (write_int(dir, "memory.limit_in_bytes", r->memory_limit, NULL))
		return write_int(dir, "memory.memsw.limit_in_bytes",
				 r->memory_swap_limit, error);
	return write_int(dir, "memory.memsw.limit_in_bytes",
			 r->memory_swap_limit, error) &&
	       write_int(dir, "memory.limit_in_bytes", r->memory_limit, error);
}

gint64 cgroup_shares_to_weight(gint64 shares)
{
	gint64 s = CLAMP(shares, 2, 262144);
	return 1 + ((s - 2) * 9999) / 262142;
}

static gboolean v2_cpu(const char *dir, const CtrResources *r, GError **error)
{
	if (r->cpu_shares > 0 &&
	    !write_int(dir, "cpu.weight",
		       cgroup_shares_to_weight(r->cpu_shares), error))
		return FALSE;
	if (r->cpu_quota == 0 && r->cpu_period <= 0)
		return TRUE;
	gint64 period = r->cpu_period > 0 ? r->cpu_period : 100000;
	g_autofree char *max =
		r->cpu_quota > 0
			? g_strdup_printf("%" G_GINT64_FORMAT
					  " %" G_GINT64_FORMAT,
					  r->cpu_quota, period)
			: g_strdup_printf("max %" G_GINT64_FORMAT, period);
	return cgroup_write(dir, "cpu.max", max, error);
}

static gboolean v2_memory(const char *dir, const CtrResources *r,
			  GError **error)
{
	if (r->memory_limit > 0 &&
	    !write_int(dir, "memory.max", r->memory_limit, error))
		return FALSE;
	/* v2 limits swap alone; the CRI gives memory + swap. */
	if (r->memory_swap_limit > 0 && r->memory_limit > 0 &&
	    r->memory_swap_limit >= r->memory_limit &&
	    has_file(dir, "memory.swap.max"))
		return write_int(dir, "memory.swap.max",
				 r->memory_swap_limit - r->memory_limit, error);
	return TRUE;
}

static gboolean apply(const CgroupHierarchy *h, const char *dir,
		      const CtrResources *r, Done *done, GError **error)
{
	if (!h->v2) {
		if (!done->cpu && cgroup_hierarchy_has(h, "cpu")) {
			done->cpu = TRUE;
			if (!v1_cpu(dir, r, error))
				return FALSE;
		}
		if (!done->cpuset && cgroup_hierarchy_has(h, "cpuset")) {
			done->cpuset = TRUE;
			if (!cpuset(h, dir, r, error))
				return FALSE;
		}
		if (!done->memory && cgroup_hierarchy_has(h, "memory")) {
			done->memory = TRUE;
			if (!v1_memory(dir, r, error))
				return FALSE;
		}
		return TRUE;
	}
	/* Unified files exist only where the controller is enabled. */
	if (!done->cpu && has_file(dir, "cpu.max")) {
		done->cpu = TRUE;
		if (!v2_cpu(dir, r, error))
			return FALSE;
	}
	if (!done->cpuset && has_file(dir, "cpuset.cpus")) {
		done->cpuset = TRUE;
		if (!cpuset(h, dir, r, error))
			return FALSE;
	}
	if (!done->memory && has_file(dir, "memory.max")) {
		done->memory = TRUE;
		if (!v2_memory(dir, r, error))
			return FALSE;
	}
	return TRUE;
}

static gboolean is_dir(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

gboolean cgroup_set_resources(const char *relative_path, const CtrResources *r,
			      GError **error)
{
	if (!cgroup_check_path(relative_path, FALSE, error))
		return FALSE;
	/* A slice's limits are systemd's to keep: told first, then written
	 * below as well (cpuset and swap are not in the unit). */
	g_autofree char *unit = cgroup_path_is_systemd(relative_path)
					? cgroup_path_slice(relative_path)
					: NULL;
	if (unit != NULL && !cgroup_systemd_set_limits(unit, r, error))
		return FALSE;
	const GPtrArray *hs = cgroup_hierarchies();
	Done done = {FALSE, FALSE, FALSE};
	gboolean found = FALSE;
	/* v1 hierarchies come first in the list, so they win. */
	for (guint i = 0; i < hs->len; i++) {
		const CgroupHierarchy *h = hs->pdata[i];
		g_autofree char *dir = cgroup_hierarchy_dir(h, relative_path);
		if (dir == NULL || !is_dir(dir))
			continue;
		found = TRUE;
		if (!apply(h, dir, r, &done, error)) {
			g_prefix_error(error, "cgroup %s: ", relative_path);
			return FALSE;
		}
	}
	if (!found)
		return berth_throw(error, NOT_FOUND, "cgroup %s does not exist",
				   relative_path);
	return TRUE;
}
