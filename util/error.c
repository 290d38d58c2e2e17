/* The berth error domain and errno mapping. */
#include "util/error.h"

#include <errno.h>
#include <gio/gio.h>
#include <stdarg.h>
#include <string.h>

G_DEFINE_QUARK(berth - error - quark, berth_error)

static BerthErrorCode code_for_errno(int errsv)
{
	switch (errsv) {
	case ENOENT:
		return BERTH_ERROR_NOT_FOUND;
	case EEXIST:
		return BERTH_ERROR_ALREADY_EXISTS;
	case EINVAL:
		return BERTH_ERROR_INVALID_ARGUMENT;
	case ENOSPC:
	case EMFILE:
	case ENFILE:
	case ENOMEM:
		return BERTH_ERROR_RESOURCE_EXHAUSTED;
	case EACCES:
	case EPERM:
		return BERTH_ERROR_PERMISSION_DENIED;
	default:
		return BERTH_ERROR_INTERNAL;
	}
}

void berth_set_error(GError **error, BerthErrorCode code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	GError *e = g_error_new_valist(BERTH_ERROR, code, fmt, ap);
	va_end(ap);
	g_propagate_error(error, e);
}

gboolean berth_throw_errno(GError **error, int errsv, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *prefix = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	return berth_throw_code(error, code_for_errno(errsv), "%s: %s", prefix,
				g_strerror(errsv));
}

void berth_keep_first_error(GError **first, GError *e)
{
	if (*first == NULL)
		*first = e;
	else
		g_error_free(e);
}

gboolean berth_raise_first_error(GError **error, GError *first)
{
	if (first == NULL)
		return TRUE;
	g_propagate_error(error, first);
	return FALSE;
}

int berth_error_code(const GError *error)
{
	if (error == NULL)
		return 0;
	if (error->domain == BERTH_ERROR)
		return error->code;
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
		return BERTH_ERROR_NOT_FOUND;
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
		return BERTH_ERROR_CANCELLED;
	/* A full disk met by GLib's file helpers or by ostree. */
	if (g_error_matches(error, G_IO_ERROR, G_IO_ERROR_NO_SPACE) ||
	    g_error_matches(error, G_FILE_ERROR, G_FILE_ERROR_NOSPC))
		return BERTH_ERROR_RESOURCE_EXHAUSTED;
	return BERTH_ERROR_INTERNAL;
}
