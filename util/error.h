/* berth's one GError domain. Its codes are the gRPC status codes, so the
 * code chosen where a failure happens travels untouched to the RPC reply. */
#pragma once

#include <glib.h>

#define BERTH_ERROR (berth_error_quark())
GQuark berth_error_quark(void);

/* Numerically equal to grpc_status_code; cri/ relies on that. */
typedef enum {
	BERTH_ERROR_CANCELLED = 1,
	BERTH_ERROR_UNKNOWN = 2,
	BERTH_ERROR_INVALID_ARGUMENT = 3,
	BERTH_ERROR_DEADLINE_EXCEEDED = 4,
	BERTH_ERROR_NOT_FOUND = 5,
	BERTH_ERROR_ALREADY_EXISTS = 6,
	BERTH_ERROR_PERMISSION_DENIED = 7,
	BERTH_ERROR_RESOURCE_EXHAUSTED = 8,
	BERTH_ERROR_FAILED_PRECONDITION = 9,
	BERTH_ERROR_ABORTED = 10,
	BERTH_ERROR_OUT_OF_RANGE = 11,
	BERTH_ERROR_UNIMPLEMENTED = 12,
	BERTH_ERROR_INTERNAL = 13,
	BERTH_ERROR_UNAVAILABLE = 14,
	BERTH_ERROR_DATA_LOSS = 15,
	BERTH_ERROR_UNAUTHENTICATED = 16,
} BerthErrorCode;

/* The one way to fail with a berth error: set *error to code and a
 * message naming the object and the cause, and give FALSE, so a boolean
 * function says `return berth_throw(error, NOT_FOUND, "pod %s ...", id)`.
 * Usable as a statement where the function returns something else. */
#define berth_throw(error, code, ...)                                          \
	berth_throw_code((error), BERTH_ERROR_##code, __VA_ARGS__)

/* The same for functions that return a pointer: set *error, give NULL. */
#define berth_throw_null(error, code, ...)                                     \
	({                                                                     \
		berth_set_error((error), BERTH_ERROR_##code, __VA_ARGS__);     \
		NULL;                                                          \
	})

/* berth_throw with a code chosen at run time. These are statement
 * expressions so that the compiler sees the FALSE or NULL (and knows what
 * a failed call left unset). */
#define berth_throw_code(error, code, ...)                                     \
	({                                                                     \
		berth_set_error((error), (code), __VA_ARGS__);                 \
		FALSE;                                                         \
	})
void berth_set_error(GError **error, BerthErrorCode code, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

/* berth_throw_errno for functions that return a pointer. */
#define berth_throw_errno_null(error, errsv, ...)                              \
	({                                                                     \
		berth_throw_errno((error), (errsv), __VA_ARGS__);              \
		NULL;                                                          \
	})

/* Set *error from errno with a formatted prefix; returns FALSE.
 * ENOENT maps to NOT_FOUND, EEXIST to ALREADY_EXISTS, EINVAL to
 * INVALID_ARGUMENT, ENOSPC/EMFILE/ENOMEM to RESOURCE_EXHAUSTED, the rest to
 * INTERNAL. */
gboolean berth_throw_errno(GError **error, int errsv, const char *fmt, ...)
	G_GNUC_PRINTF(3, 4);

/* For undo sequences, which go on past failures and report the first:
 * keep e in *first when that is still empty, else free it. */
void berth_keep_first_error(GError **first, GError *e);
/* The end of such a sequence: TRUE when nothing failed, else first goes
 * to *error and FALSE. */
gboolean berth_raise_first_error(GError **error, GError *first);

/* The gRPC code an arbitrary GError should be answered with: ours as is,
 * anything from another domain (GIO, ostree) as INTERNAL, but NOT_FOUND for
 * G_IO_ERROR_NOT_FOUND and RESOURCE_EXHAUSTED for a full disk
 * (G_IO_ERROR_NO_SPACE, G_FILE_ERROR_NOSPC). */
int berth_error_code(const GError *error);
