/* Pulling an image into the store: a reference resolved through
 * registries.conf, its manifest (this host's platform out of an index),
 * the config and the layers fetched with the registry client and imported
 * as they stream, then the image committed with its names. Concurrent
 * pulls of one reference share one download. No protobuf here: server/
 * converts requests to these structs. See docs/images.md, "Pulling". */
#pragma once

#include <glib.h>

#include "image/auth.h"
#include "image/registries.h"
#include "image/store.h"

typedef struct ImagePuller ImagePuller;

typedef struct {
	ImageStore *store;	      /* borrowed for the puller's lifetime */
	const Registries *registries; /* borrowed too */
	const char *auth_file;	      /* auth.json; NULL or "" for none */
	guint max_parallel;	      /* blob downloads per pull; 0 means 3 */
	guint stall_seconds; /* under 1 B/s this long fails a try; 0: 30 */
} ImagePullerOptions;

ImagePuller *image_puller_new(const ImagePullerOptions *options);
/* Waits for downloads still running; their callers must have returned
 * (with nobody waiting, a download stops within about 100 ms). */
void image_puller_free(ImagePuller *p);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(ImagePuller, image_puller_free)

/* TRUE when the caller gave up (its RPC was cancelled). */
typedef gboolean (*ImagePullCancelled)(gpointer data);

typedef struct {
	const AuthConfig *auth; /* credentials for the source; NULL: none */
	/* g_get_monotonic_time() by which the caller wants an answer; 0 or
	 * G_MAXINT64 for none. */
	gint64 deadline;
	ImagePullCancelled cancelled; /* NULL: never */
	gpointer cancel_data;
} ImagePullOptions;

/* Pull reference ("busybox", "host:port/ns/app:1.2", "name@sha256:…",
 * "name:tag@sha256:…") and return the image id, "sha256:<hex>" of its
 * config. An image id that is stored is returned as is.
 *
 * All or nothing: on failure no image is stored (verified layers of a
 * failed pull may stay until the next prune, and a retry reuses them).
 * Concurrent calls with the same reference and credentials share one
 * download and its result. A caller whose deadline passes or who cancels
 * gets DEADLINE_EXCEEDED or CANCELLED at once; the download goes on while
 * anyone still waits for it, and stops when nobody does.
 *
 * Errors: INVALID_ARGUMENT for a bad reference or AuthConfig, NOT_FOUND
 * when no candidate registry has the image or the index lacks this
 * platform, UNAUTHENTICATED / PERMISSION_DENIED from the registry or a
 * blocked registry, DATA_LOSS for a blob that does not match its digest,
 * and the registry client's and the store's other codes. */
char *image_pull(ImagePuller *p, const char *reference,
		 const ImagePullOptions *options, GError **error);

/* Find a stored image by what users and kubelet type: a full or bare id,
 * a unique id prefix, or a reference in any form image_pull takes (a short
 * name is tried on each candidate registries.conf gives it; a reference
 * with a digest is looked up by its repo digest). A copy; NOT_FOUND when
 * absent, INVALID_ARGUMENT for an ambiguous prefix or a name that is
 * neither an id nor a reference. */
ImageRecord *image_puller_lookup(ImagePuller *p, const char *name,
				 GError **error);
