/* Content digests ("sha256:<hex>", "sha512:<hex>"): validation, one-shot
 * hashing, and a streaming verifier that checks a blob's bytes against the
 * digest and size a manifest promised. */
#pragma once

#include <glib.h>

typedef enum {
	DIGEST_SHA256,
	DIGEST_SHA512,
} DigestAlgorithm;

/* Longest digest string we accept: "sha512:" + 128 hex. */
#define DIGEST_MAX_LEN (7 + 128)

/* Split and check a digest. Only the algorithms the OCI image spec
 * registers are accepted, with their exact lowercase hex length:
 * sha256 → 64, sha512 → 128. On success *hex points into digest.
 * INVALID_ARGUMENT naming the problem otherwise. algo and hex may be NULL. */
gboolean digest_parse(const char *digest, DigestAlgorithm *algo,
		      const char **hex, GError **error);

/* digest_parse without the details. */
gboolean digest_validate(const char *digest, GError **error);
gboolean digest_is_valid(const char *digest);

const char *digest_algorithm_name(DigestAlgorithm algo);

/* "sha256:<hex>" of data, newly allocated. */
char *digest_compute(DigestAlgorithm algo, const void *data, gsize len);

/* Checks a blob as it streams by. The expected size is -1 when unknown;
 * otherwise update fails as soon as more bytes arrive than promised, and
 * finish fails when fewer did. Failures are DATA_LOSS, named by the
 * expected digest: "blob sha256:…: digest mismatch (got sha256:…)". */
typedef struct DigestVerifier DigestVerifier;

DigestVerifier *digest_verifier_new(const char *expected, gint64 size,
				    GError **error);
gboolean digest_verifier_update(DigestVerifier *v, const void *buf, gsize len,
				GError **error);
gboolean digest_verifier_finish(DigestVerifier *v, GError **error);
/* Bytes seen so far. */
guint64 digest_verifier_bytes(const DigestVerifier *v);
/* The digest of what was seen; NULL before finish. */
const char *digest_verifier_actual(const DigestVerifier *v);
void digest_verifier_free(DigestVerifier *v);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(DigestVerifier, digest_verifier_free)
