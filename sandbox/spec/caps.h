/* Linux capabilities for containers: names, the host's bounding set, and
 * the sets a container gets from the defaults and the CRI's add/drop
 * lists. Sets are bit masks (bit n = capability n). */
#pragma once

#include "sandbox/container/ctrconfig.h"

#include <glib.h>

/* The highest capability number this file knows (CAP_CHECKPOINT_RESTORE). */
#define CTR_CAP_LAST 40

/* "CAP_CHOWN" for 0, ...; NULL for an unknown number. */
const char *ctr_cap_name(int cap);

/* The number of "CAP_NET_ADMIN", "NET_ADMIN" or "net_admin"; -1 if unknown. */
int ctr_cap_from_name(const char *name);

/* The capability bounding set in /proc/<pid>/status text ("CapBnd:").
 * INVALID_ARGUMENT when the line is missing or malformed. */
gboolean ctr_caps_parse_status(const char *status, guint64 *mask,
			       GError **error);

/* The bounding set of this process: what the host lets a container have. */
gboolean ctr_caps_host_bounding(guint64 *mask, GError **error);

/* Names of the capabilities in mask, in number order, NULL-terminated. */
char **ctr_caps_names(guint64 mask);

typedef struct {
	guint64 bounding, effective, permitted, inheritable, ambient;
} CtrCapSets;

/* The container's sets. Privileged: every capability of the host set.
 * Otherwise, starting from defaults: "ALL" in add takes the host set, then
 * "ALL" in drop empties it, then single adds, then single drops (so
 * drop ALL + add X gives X only, add ALL + drop X all but X). Ambient
 * adds go into every set (the kernel wants them permitted and
 * inheritable too). Inheritable holds only the ambient ones. Capabilities
 * the host lacks are left out with a warning: the runtime would fail.
 * An unknown name anywhere is INVALID_ARGUMENT. */
gboolean ctr_caps_compute(const CtrSecurity *sec, const char *const *defaults,
			  guint64 host, CtrCapSets *out, GError **error);
