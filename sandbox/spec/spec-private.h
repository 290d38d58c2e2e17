/* Internal to the spec generator (spec*.c): the pieces each file builds. */
#pragma once

#include "sandbox/spec/caps.h"
#include "sandbox/spec/spec.h"

/* spec-mounts.c: linux "mounts", plus rootfsPropagation when a mount
 * needs it. */
gboolean oci_spec_add_mounts(json_t *spec, const CtrConfig *c,
			     const CtrSpecContext *ctx, GError **error);

/* spec-devices.c: linux.devices and linux.resources.devices. */
gboolean oci_spec_add_devices(json_t *linux_, json_t *resources,
			      const CtrConfig *c, const CtrSpecContext *ctx,
			      GError **error);

/* spec-security.c: process capabilities, noNewPrivileges, AppArmor and
 * SELinux labels; linux masked/readonly paths and seccomp. */
gboolean oci_spec_add_security(json_t *process, json_t *linux_,
			       const CtrConfig *c, const CtrSpecContext *ctx,
			       GError **error);

/* A JSON array of the strings. */
json_t *oci_json_strv(const char *const *v);
