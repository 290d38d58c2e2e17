/* Seccomp profiles as OCI linux.seccomp objects: berth's own RuntimeDefault
 * profile, built for this host's architectures and the container's
 * capabilities, and Localhost profiles read from a file and checked.
 * Syscall names this host's libseccomp cannot resolve for any of the
 * profile's architectures are left out (the runtime would refuse them). */
#pragma once

#include <glib.h>
#include <jansson.h>

/* Profile files bigger than this are refused. */
#define SECCOMP_PROFILE_MAX (4 * 1024 * 1024)

/* The OCI architecture names ("SCMP_ARCH_X86_64", ...) a profile for this
 * host lists: the native one and the compat ones it can run. */
const char *const *seccomp_host_architectures(void);

/* Whether libseccomp knows name as a syscall on any of archs (OCI names;
 * NULL means the host's). */
gboolean seccomp_syscall_known(const char *name, const char *const *archs);

/* RuntimeDefault for a container whose bounding set is caps (a bit mask,
 * see sandbox/caps.h). A new reference. See seccomp-profile.c for what it
 * allows and why. */
json_t *seccomp_default_profile(guint64 caps);

/* A Localhost profile: path must be absolute (INVALID_ARGUMENT); a missing
 * file is NOT_FOUND; invalid JSON or a malformed profile is
 * INVALID_ARGUMENT. Both the OCI form (names, architectures) and the
 * Docker form (name, archMap, includes/excludes by caps, arches and
 * minKernel) are accepted and returned in the OCI form. */
json_t *seccomp_profile_load(const char *path, guint64 caps, GError **error);

/* Check and normalise a parsed profile as seccomp_profile_load does. */
json_t *seccomp_profile_from_json(json_t *doc, guint64 caps, GError **error);
