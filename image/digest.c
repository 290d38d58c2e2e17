/* Digest strings and blob verification on top of GChecksum. */
#include "image/digest.h"

#include <stdarg.h>
#include <string.h>

#include "util/error.h"

struct DigestVerifier {
	GChecksum *checksum;
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
	GChecksumType checksum;
} algorithms[] = {
	{"sha256", DIGEST_SHA256, 64, G_CHECKSUM_SHA256},
	{"sha512", DIGEST_SHA512, 128, G_CHECKSUM_SHA512},
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

static GChecksumType digest_checksum_type(DigestAlgorithm algo)
{
	for (gsize i = 0; i < G_N_ELEMENTS(algorithms); i++)
		if (algorithms[i].algo == algo)
			return algorithms[i].checksum;
	g_assert_not_reached();
	return G_CHECKSUM_SHA256;
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
	g_autoptr(GChecksum) c = g_checksum_new(digest_checksum_type(algo));
	g_checksum_update(c, data, len);
	return g_strconcat(digest_algorithm_name(algo), ":",
			   g_checksum_get_string(c), NULL);
}

DigestVerifier *digest_verifier_new(const char *expected, gint64 size,
				    GError **error)
{
	DigestAlgorithm algo;
	if (!digest_parse(expected, &algo, NULL, error))
		return NULL;
	if (size < -1) {
		(void)berth_throw(error, INVALID_ARGUMENT,
				  "blob %s: invalid size %" G_GINT64_FORMAT,
				  expected, size);
		return NULL;
	}
	DigestVerifier *v = g_new0(DigestVerifier, 1);
	v->checksum = g_checksum_new(digest_checksum_type(algo));
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
	g_checksum_update(v->checksum, buf, len);
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
	const char *colon = strchr(v->expected, ':');
	v->actual = g_strdup_printf("%.*s:%s", (int)(colon - v->expected),
				    v->expected,
				    g_checksum_get_string(v->checksum));
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
	g_checksum_free(v->checksum);
	g_free(v->expected);
	g_free(v->actual);
	g_free(v);
}
