/* Prefix resolution of pod and container ids (see resolve.h). */
#include "client/resolve.h"
#include "util/error.h"

#include <string.h>

gboolean ctl_is_full_id(const char *id)
{
	if (strlen(id) != 64)
		return FALSE;
	for (const char *p = id; *p; p++)
		if (!g_ascii_isxdigit(*p))
			return FALSE;
	return TRUE;
}

char *ctl_resolve_prefix(const char *prefix, const char *const *ids, guint n,
			 const char *what, GError **error)
{
	if (prefix == NULL || prefix[0] == '\0')
		return berth_throw_null(error, INVALID_ARGUMENT, "empty %s id",
					what);
	const char *found = NULL;
	guint matches = 0;
	for (guint i = 0; i < n; i++) {
		if (strcmp(ids[i], prefix) == 0)
			return g_strdup(ids[i]);
		if (g_str_has_prefix(ids[i], prefix)) {
			found = ids[i];
			matches++;
		}
	}
	if (matches == 0)
		return berth_throw_null(error, NOT_FOUND, "%s \"%s\" not found",
					what, prefix);
	if (matches > 1)
		return berth_throw_null(error, INVALID_ARGUMENT,
					"%s id prefix \"%s\" is ambiguous: "
					"%u %ss match",
					what, prefix, matches, what);
	return g_strdup(found);
}
