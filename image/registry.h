/* An OCI distribution / Docker registry v2 client for one pull: manifests
 * by tag or digest, small blobs into memory, and layer blobs streamed into
 * caller sinks, several at once. It walks the endpoints registries.conf
 * gave (mirrors, then the source), answers Bearer and Basic challenges,
 * retries transient failures with backoff, follows redirects, and checks
 * every byte against the digest it was asked for.
 *
 * A RegistryClient belongs to one pull and one thread at a time; any
 * number of clients may run in parallel threads. */
#pragma once

#include <glib.h>

#include "image/auth.h"
#include "image/manifest.h"
#include "image/registries.h"

typedef struct RegistryClient RegistryClient;

/* TRUE when the pull should stop (the RPC was cancelled). Called from the
 * client's thread every 100 ms or so while requests are in flight. */
typedef gboolean (*RegistryCancelled)(gpointer user_data);

typedef struct {
	/* RegistryEndpoint*, in order (registries_endpoints); borrowed for
	 * the client's lifetime. At least one. */
	GPtrArray *endpoints;
	/* From the request (CRI AuthConfig); NULL when none. Used for the
	 * source endpoint, and for a mirror that credentials_for names. */
	const AuthCredentials *credentials;
	const char *credentials_for; /* its server_address; may be NULL */
	const char *auth_file;	     /* auth.json for the rest; may be NULL */
	/* g_get_monotonic_time() by which everything must be done; 0 for
	 * none. Every request's timeout is what is left of it. */
	gint64 deadline;
	RegistryCancelled cancelled; /* may be NULL */
	gpointer cancel_data;
	guint max_parallel; /* blob downloads at once; 0 means 3 */
	/* A transfer under 1 byte/s for this long is a connection error
	 * (retried); 0 means REG_STALL_SECONDS. */
	guint stall_seconds;
	/* Tries per endpoint for connection errors, 5xx and 429 (0 means 3)
	 * and the first backoff in ms (0 means 200, doubling each time). */
	guint max_tries;
	guint backoff_ms;
} RegistryClientOptions;

RegistryClient *registry_client_new(const RegistryClientOptions *options,
				    GError **error);
void registry_client_free(RegistryClient *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RegistryClient, registry_client_free)

/* The endpoint that served the last manifest (NULL before one did). Later
 * requests start there, falling back to the endpoints after it. */
const RegistryEndpoint *registry_client_endpoint(const RegistryClient *c);

typedef struct {
	GBytes *body;
	char *media_type; /* Content-Type without parameters; may be "" */
	ImageManifestKind kind;
	char *digest; /* of body: sha256, or the algorithm asked for */
	const RegistryEndpoint *endpoint; /* the one that served it */
} RegistryManifest;

void registry_manifest_free(RegistryManifest *m);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(RegistryManifest, registry_manifest_free)

/* GET a manifest or index by tag or digest, accepting every kind
 * image/manifest.h knows. By digest the body must hash to it; by tag a
 * Docker-Content-Digest header, when sent, must match. Errors:
 * NOT_FOUND (no such manifest anywhere), FAILED_PRECONDITION (schema 1),
 * INVALID_ARGUMENT (not a manifest), RESOURCE_EXHAUSTED (over
 * IMAGE_MANIFEST_MAX_SIZE), DATA_LOSS (digest mismatch), UNAUTHENTICATED /
 * PERMISSION_DENIED (credentials missing or rejected), UNAVAILABLE
 * (network, 5xx after retries), DEADLINE_EXCEEDED, CANCELLED. */
RegistryManifest *registry_get_manifest(RegistryClient *c,
					const char *reference, GError **error);

/* GET a small blob (an image config) into memory, checked against digest
 * and size (-1 when unknown); max caps the body. */
GBytes *registry_get_blob(RegistryClient *c, const char *digest, gint64 size,
			  gsize max, GError **error);

/* Where a streamed blob goes. Every sink of a registry_fetch_blobs call
 * gets exactly one of finish or abort. write is called on the client's
 * thread as bytes arrive (before the digest is known to match): it may
 * block briefly, but must never wait for another blob of the same call to
 * progress. */
typedef struct {
	gboolean (*write)(gpointer user_data, const void *buf, gsize len,
			  GError **error);
	/* Every byte arrived and matched the digest and size. */
	gboolean (*finish)(gpointer user_data, GError **error);
	/* The blob failed or was stopped: discard what was written. */
	void (*abort)(gpointer user_data, const GError *why);
	gpointer user_data;
} RegistryBlobSink;

typedef struct {
	const char *digest;
	gint64 size; /* from the manifest; -1 when unknown */
	RegistryBlobSink sink;
	GError *error; /* out: why this blob failed; NULL on success */
} RegistryBlobRequest;

/* Download every blob, max_parallel at once, each into its sink. A digest
 * mismatch, a short or an overlong body is DATA_LOSS naming the blob. The
 * first failure stops the others (their sinks are aborted) and is
 * returned; each request's error says what happened to it. */
gboolean registry_fetch_blobs(RegistryClient *c, RegistryBlobRequest *reqs,
			      guint n, GError **error);
