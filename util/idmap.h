/* Idmapped mounts (Linux 5.12, mount_setattr MOUNT_ATTR_IDMAP): what
 * shows files to a container in a user namespace with the ids it expects,
 * without changing them on disk. */
#pragma once

#include <glib.h>

/* Attach at dst (an existing directory or file) a copy of the mount tree
 * at src, idmapped with the user namespace userns_fd: files owned by id X
 * on disk appear owned by the host id that X maps to inside, so the
 * container sees them as X. recursive: submounts too (each must support
 * idmapping); rdonly: read-only. A filesystem or kernel that cannot
 * idmap is FAILED_PRECONDITION with a message that says so. */
gboolean idmap_mount(const char *src, const char *dst, int userns_fd,
		     gboolean recursive, gboolean rdonly, GError **error);
