/* Pod cgroups with the cgroupfs driver: create, remove and read stats of a
 * cgroup in every mounted hierarchy, on cgroup v1, v2 (unified) and hybrid
 * hosts. Paths are relative to the hierarchy roots, as OCI cgroupsPath
 * takes them ("/kubepods/besteffort/pod<uid>/berth-pod-<id>"). */
#pragma once

#include <glib.h>

#include "sandbox/container/ctrconfig.h"

/* The default parent when the pod config gives none. */
#define CGROUP_DEFAULT_PARENT "/berth"

typedef struct CgroupPath CgroupPath;

/* The pod cgroup's relative path, <parent>/berth-pod-<pod_id>, checked:
 * parent ("" means CGROUP_DEFAULT_PARENT) is absolute, has no "." or ".."
 * or empty component, uses only [A-Za-z0-9_.:@=+-] and is not a systemd
 * slice (which only the systemd driver can take); pod_id uses
 * [A-Za-z0-9_-]. INVALID_ARGUMENT otherwise. */
char *cgroup_pod_relative(const char *parent, const char *pod_id,
			  GError **error);

/* Create the pod cgroup in every hierarchy, with its missing ancestors.
 * v1 cpuset: a new cgroup gets cpus and mems from its parent (else no task
 * could join it). Pure v2: every ancestor enables, in
 * cgroup.subtree_control, the controllers it has. Idempotent; on failure
 * the directories this call made are removed again. */
CgroupPath *cgroup_pod_create(const char *parent, const char *pod_id,
			      GError **error);

const char *cgroup_path_relative(const CgroupPath *p);

/* The absolute directory of the cgroup in each hierarchy it lives in. */
const char *const *cgroup_path_dirs(const CgroupPath *p);

void cgroup_path_free(CgroupPath *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(CgroupPath, cgroup_path_free)

/* Remove the cgroup, and any cgroups below it (deepest first), from every
 * hierarchy. Idempotent. A cgroup that still holds processes is
 * FAILED_PRECONDITION naming them. "/" and malformed paths are
 * INVALID_ARGUMENT. */
gboolean cgroup_remove(const char *relative_path, GError **error);

typedef struct {
	guint64 cpu_usage_ns;
	gint64 timestamp_ns; /* wall clock, when read */
	guint64 memory_usage, memory_working_set, memory_rss;
	guint64 memory_page_faults, memory_major_page_faults;
	guint64 pids;
	gboolean has_cpu, has_memory, has_pids;
} CgroupStats;

/* Usage of the cgroup and all below it. v1: cpuacct.usage; memory: usage
 * from memory.usage_in_bytes, working set = usage - total_inactive_file,
 * rss/faults from memory.stat total_*; pids.current. v2: cpu.stat
 * usage_usec, memory.current, memory.stat anon/inactive_file/pgfault/
 * pgmajfault, pids.current. A controller that is not there leaves its
 * has_* FALSE; a cgroup in no hierarchy is NOT_FOUND. */
gboolean cgroup_stats(const char *relative_path, CgroupStats *out,
		      GError **error);

/* TRUE only when PID 1 is systemd (the systemd cgroup manager needs it). */
gboolean cgroup_systemd_available(void);

/* Write r's cpu (shares, cfs quota and period; v2: cpu.weight, cpu.max),
 * cpuset (cpus, mems) and memory limits (limit and memory+swap; v2:
 * memory.max, memory.swap.max) into an existing cgroup. Zero or empty
 * fields are left as they are. A controller the host does not have is
 * skipped; a cgroup in no hierarchy is NOT_FOUND. */
gboolean cgroup_set_resources(const char *relative_path, const CtrResources *r,
			      GError **error);
