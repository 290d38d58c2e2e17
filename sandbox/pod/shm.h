/* A pod's /dev/shm: one tmpfs per pod, shared by its containers (they
 * share the IPC namespace, so they share POSIX shm too), bounded in size so
 * a pod cannot fill the host's memory through it. */
#pragma once

#include <glib.h>

#define POD_SHM_SIZE (64 * 1024 * 1024)

/* Mount a POD_SHM_SIZE tmpfs (mode 1777, nosuid, nodev, noexec) on dir,
 * creating dir, its root owned by uid:gid (-1: root). Idempotent: a tmpfs
 * already mounted there is kept. */
gboolean pod_shm_mount(const char *dir, gint64 uid, gint64 gid, GError **error);

/* Unmount it (lazily, so a container still holding it does not block) and
 * remove dir. Idempotent: a missing dir or no mount is success. */
gboolean pod_shm_unmount(const char *dir, GError **error);
