/* /proc/<pid>/mountinfo as a list of entries (see proc(5)). Used to find
 * cgroup hierarchies and to check the propagation of berth's own mounts. */
#pragma once

#include <glib.h>

typedef struct {
	int id, parent_id;
	char *dev;  /* "major:minor" */
	char *root; /* the path of the mount's root inside its filesystem */
	char *mount_point;
	char *optional; /* "shared:1 master:2", "" when private */
	char *fstype;
	char *source;
	char *super_opts;
} MountEntry;

/* Parse mountinfo text; malformed lines are skipped. Octal escapes in
 * paths (\040 for a space) are decoded. Returns MountEntry*, in file
 * order (a later entry for the same mount point is mounted on top). */
GPtrArray *mountinfo_parse(const char *text);

/* Read and parse /proc/self/mountinfo. */
GPtrArray *mountinfo_read(GError **error);

/* The topmost entry mounted at path, or NULL. */
const MountEntry *mountinfo_find(const GPtrArray *entries, const char *path);

/* Whether the entry's propagation is private (no shared/master peer). */
gboolean mountinfo_is_private(const MountEntry *e);
