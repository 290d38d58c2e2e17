/* Digest strings and blob verification. Hashing is OpenSSL's (libcrypto):
 * every pulled byte is hashed twice (blob and diff_id), and GLib's
 * portable SHA-256 runs at a fraction of the speed of OpenSSL's. */
#include "image/digest.h"

#include <openssl/evp.h>
#include <stdarg.h>
#include <string.h>

#include "util/error.h"

struct DigestVerifier {
	EVP_MD_CTX *ctx;
	DigestAlgorithm algo;
	char *expected;
	gint64 size;
	guint64 seen;
	char *actual;
	gboolean failed;
};

static const struct {
	const char *name;
	DigestAlgorithm algo;
	gsize hex_len;
} algorithms[] = {
	{"sha256", DIGEST_SHA256, 64},
	{"sha512", DIGEST_SHA512, 128},
};

static gboolean digest_hex_is_lower(const char *hex, gsize len)
{
	for (gsize i = 0; i < len; i++) {
		char c = hex[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return FALSE;
	}
	return TRUE;
}

static gboolean digest_algorithm_syntax_ok(const char *s, gsize len)
{
	/* component ([+._-] component)*, component = [a-z0-9]+ */
	gboolean want_alnum = TRUE;
	for (gsize i = 0; i < len; i++) {
		gboolean alnum = g_ascii_islower(s[i]) || g_ascii_isdigit(s[i]);
		if (alnum)
			want_alnum = FALSE;
		else if (!want_alnum && strchr("+._-", s[i]) != NULL)
			want_alnum = TRUE;
		else
			return FALSE;
	}
	return len > 0 && !want_alnum;
}

gboolean digest_parse(const char *digest, DigestAlgorithm *algo,
		      const char **hex, GError **error)
{
	if (digest == NULL || *digest == '\0')
		return berth_throw(error, INVALID_ARGUMENT, "empty digest");
	const char *colon = strchr(digest, ':');
	if (colon == NULL)
		return berth_throw(error, INVALID_ARGUMENT,
				   "invalid digest \"%s\": missing algorithm",
				   digest);
	gsize alg_len = colon - digest;
	if (!digest_algorithm_syntax_ok(digest, alg_len))
		return berth_throw(error, INVALID_ARGUMENT,
				   "invalid digest \"%s\": malformed algorithm",
				   digest);
	const char *enc = colon + 1;
	for (gsize i = 0; i < G_N_ELEMENTS(algorithms); i++) {
		if (strlen(algorithms[i].name) != alg_len ||
		    strncmp(algorithms[i].name, digest, alg_len) != 0)
			continue;
		gsize n = strlen(enc);
		if (n != algorithms[i].hex_len || !digest_hex_is_lower(enc, n))
			return berth_throw(
				error, INVALID_ARGUMENT,
				"invalid digest \"%s\": %s needs %zu lowercase "
				"hex characters",
				digest, algorithms[i].name,
				algorithms[i].hex_len);
		if (algo)
			*algo = algorithms[i].algo;
		if (hex)
			*hex = enc;
		return TRUE;
	}
	return berth_throw(
		error, INVALID_ARGUMENT,
		"invalid digest \"%s\": unsupported algorithm \"%.*s\"", digest,
		(int)alg_len, digest);
}

gboolean digest_validate(const char *digest, GError **error)
{
	return digest_parse(digest, NULL, NULL, error);
}

gboolean digest_is_valid(const char *digest)
{
	return digest_parse(digest, NULL, NULL, NULL);
}

static EVP_MD_CTX *digest_ctx_new(DigestAlgorithm algo)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const EVP_MD *md = algo == DIGEST_SHA512 ? EVP_sha512() : EVP_sha256();
	if (ctx == NULL || EVP_DigestInit_ex(ctx, md, NULL) != 1)
		g_error("libcrypto: cannot set up %s",
			algo == DIGEST_SHA512 ? "sha512" : "sha256");
	return ctx;
}

static void digest_ctx_update(EVP_MD_CTX *ctx, const void *buf, gsize len)
{
	if (EVP_DigestUpdate(ctx, buf, len) != 1)
		g_error("libcrypto: digest update failed");
}

/* "<algo>:<hex>" of what ctx has seen; ctx is spent afterwards. */
static char *digest_ctx_finish(EVP_MD_CTX *ctx, DigestAlgorithm algo)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	if (EVP_DigestFinal_ex(ctx, md, &n) != 1)
		g_error("libcrypto: digest final failed");
	GString *s = g_string_new(digest_algorithm_name(algo));
	g_string_append_c(s, ':');
	for (unsigned int i = 0; i < n; i++)
		g_string_append_printf(s, "%02x", md[i]);
	return g_string_free(s, FALSE);
}

const char *digest_algorithm_name(DigestAlgorithm algo)
{
	for (gsize i = 0; i < G_N_ELEMENTS(algorithms); i++)
		if (algorithms[i].algo == algo)
			return algorithms[i].name;
	g_assert_not_reached();
	return "unknown";
}

char *digest_compute(DigestAlgorithm algo, const void *data, gsize len)
{
	EVP_MD_CTX *ctx = digest_ctx_new(algo);
	digest_ctx_update(ctx, data, len);
	char *out = digest_ctx_finish(ctx, algo);
	EVP_MD_CTX_free(ctx);
	return out;
}

DigestVerifier *digest_verifier_new(const char *expected, gint64 size,
				    GError **error)
{
	DigestAlgorithm algo;
	if (!digest_parse(expected, &algo, NULL, error))
		return NULL;
	if (size < -1) {
		berth_throw(error, INVALID_ARGUMENT,
			    "blob %s: invalid size %" G_GINT64_FORMAT, expected,
			    size);
		return NULL;
	}
	DigestVerifier *v = g_new0(DigestVerifier, 1);
	v->ctx = digest_ctx_new(algo);
	v->algo = algo;
	v->expected = g_strdup(expected);
	v->size = size;
	return v;
}

static gboolean digest_verifier_fail(DigestVerifier *v, GError **error,
				     const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static gboolean digest_verifier_fail(DigestVerifier *v, GError **error,
				     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	g_autofree char *what = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	v->failed = TRUE;
	return berth_throw(error, DATA_LOSS, "blob %s: %s", v->expected, what);
}

gboolean digest_verifier_update(DigestVerifier *v, const void *buf, gsize len,
				GError **error)
{
	g_return_val_if_fail(v->actual == NULL, FALSE);
	if (v->failed)
		return berth_throw(error, DATA_LOSS, "blob %s: already failed",
				   v->expected);
	v->seen += len;
	if (v->size >= 0 && v->seen > (guint64)v->size)
		return digest_verifier_fail(
			v, error,
			"size mismatch (more than the %" G_GINT64_FORMAT
			" bytes declared)",
			v->size);
	digest_ctx_update(v->ctx, buf, len);
	return TRUE;
}

gboolean digest_verifier_finish(DigestVerifier *v, GError **error)
{
	g_return_val_if_fail(v->actual == NULL, FALSE);
	if (v->failed)
		return berth_throw(error, DATA_LOSS, "blob %s: already failed",
				   v->expected);
	if (v->size >= 0 && v->seen != (guint64)v->size)
		return digest_verifier_fail(
			v, error,
			"size mismatch (got %" G_GUINT64_FORMAT
			" bytes, declared %" G_GINT64_FORMAT ")",
			v->seen, v->size);
	v->actual = digest_ctx_finish(v->ctx, v->algo);
	if (strcmp(v->actual, v->expected) != 0)
		return digest_verifier_fail(
			v, error, "digest mismatch (got %s)", v->actual);
	return TRUE;
}

guint64 digest_verifier_bytes(const DigestVerifier *v)
{
	return v->seen;
}

const char *digest_verifier_actual(const DigestVerifier *v)
{
	return v->actual;
}

void digest_verifier_free(DigestVerifier *v)
{
	if (v == NULL)
		return;
	EVP_MD_CTX_free(v->ctx);
	g_free(v->expected);
	g_free(v->actual);
	g_free(v);
}
