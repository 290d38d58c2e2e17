/* Internals of sandbox/cgroup*.c shared with their tests: the hierarchy
 * list and the small cgroupfs file helpers. */
#pragma once

#include "sandbox/cgroup/cgroup.h"

#include <glib.h>

typedef struct {
	gboolean v2;
	char *mount_point;
	char *root; /* the mount's root inside the hierarchy, usually "/" */
	char **controllers; /* v1: from the mount; v2: root cgroup.controllers
			     */
	char *name;	   /* v1 named hierarchy ("systemd" for name=systemd) */
	gboolean noprefix; /* v1 mounted with noprefix: "cpus", not
			      "cpuset.cpus" */
} CgroupHierarchy;

/* Hierarchies among parsed mountinfo entries (MountEntry*): one per
 * superblock, v1 first in mount order, then v2. The v2 controllers are
 * left NULL (they come from the filesystem, not the mount). */
GPtrArray *cgroup_hierarchies_from_mounts(const GPtrArray *mounts);

/* This process's hierarchies, found once at first use and cached. */
const GPtrArray *cgroup_hierarchies(void);

/* Pure v2: the unified hierarchy is the only one. */
gboolean cgroup_is_pure_v2(const GPtrArray *hierarchies);

gboolean cgroup_hierarchy_has(const CgroupHierarchy *h, const char *ctrl);

/* The directory of relative_path in h, or NULL when the path lies outside
 * the part of the hierarchy mounted here. */
char *cgroup_hierarchy_dir(const CgroupHierarchy *h, const char *relative_path);

/* A clean absolute cgroup path ("/" allowed when allow_root). */
gboolean cgroup_check_path(const char *path, gboolean allow_root,
			   GError **error);

/* Enable in dir's cgroup.subtree_control every controller it has. */
gboolean cgroup_v2_enable_subtree(const char *dir, GError **error);

/* Fill what out still lacks from the cgroup at dir in hierarchy h. */
void cgroup_stats_from(const CgroupHierarchy *h, const char *dir,
		       CgroupStats *out);

/* cgroupfs files: whole-file read (stripped), one write. */
char *cgroup_read(const char *dir, const char *file, GError **error);
gboolean cgroup_write(const char *dir, const char *file, const char *value,
		      GError **error);
