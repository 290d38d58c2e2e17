/* Id prefixes, as crictl users type them: an exact id wins, else the one
 * id that starts with the prefix. */
#pragma once

#include <glib.h>

/* The id `prefix` names among ids[0..n). `what` ("container", "pod
 * sandbox") goes into the messages: NOT_FOUND when none matches,
 * INVALID_ARGUMENT when the prefix is ambiguous or empty. */
char *ctl_resolve_prefix(const char *prefix, const char *const *ids, guint n,
			 const char *what, GError **error);
/* A full 64-hex id needs no lookup. */
gboolean ctl_is_full_id(const char *id);
