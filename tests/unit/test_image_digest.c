/* image/digest.c: digest validation, hashing and the streaming verifier
 * with its size and digest checks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "image/digest.h"
#include "util/error.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
/* sha256("hello") and sha512("hello") */
#define HELLO256                                                               \
	"sha256:"                                                              \
	"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
#define HELLO512                                                               \
	"sha512:"                                                              \
	"9b71d224bd62f3785d96d46ad3ea3d73319bfbc2890caadae2dff72519673ca7"     \
	"2323c3d99ba5c11d7c7acc6e14b8c5da0c4663475c2e5c3adef46f73bcdec043"
#define EMPTY256                                                               \
	"sha256:"                                                              \
	"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

static void test_parse_valid(void **state)
{
	(void)state;
	DigestAlgorithm algo;
	const char *hex;
	assert_true(digest_parse("sha256:" D64, &algo, &hex, NULL));
	assert_int_equal(algo, DIGEST_SHA256);
	assert_string_equal(hex, D64);
	assert_true(digest_parse(HELLO512, &algo, &hex, NULL));
	assert_int_equal(algo, DIGEST_SHA512);
	assert_int_equal(strlen(hex), 128);
	assert_true(digest_validate(HELLO256, NULL));
	assert_true(digest_is_valid(EMPTY256));
	assert_true(digest_parse(HELLO256, NULL, NULL, NULL));
}

static void test_parse_invalid(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		const char *message;
	} cases[] = {
		{"", "empty digest"},
		{"sha256", "missing algorithm"},
		{D64, "missing algorithm"},
		{":" D64, "malformed algorithm"},
		{"SHA256:" D64, "malformed algorithm"},
		{"sha-:" D64, "malformed algorithm"},
		{"sha256+:" D64, "malformed algorithm"},
		{"sha 256:" D64, "malformed algorithm"},
		{"sha256:", "needs 64"},
		{"sha256:abc", "needs 64"},
		{"sha256:" D64 "0", "needs 64"},
		{"sha256:" D64 "\n", "needs 64"},
		{"sha256:"
		 "0123456789ABCDEF0123456789abcdef0123456789abcdef01234567"
		 "89abcdef",
		 "lowercase"},
		{"sha256:"
		 "g123456789abcdef0123456789abcdef0123456789abcdef01234567"
		 "89abcdef",
		 "lowercase"},
		{"sha512:" D64, "sha512 needs 128"},
		{"sha384:" D64, "unsupported algorithm \"sha384\""},
		{"md5:0123456789abcdef0123456789abcdef",
		 "unsupported algorithm"},
		{"multihash+base58:"
		 "QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8",
		 "unsupported algorithm"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) error = NULL;
		if (digest_parse(cases[i].in, NULL, NULL, &error))
			fail_msg("\"%s\" accepted", cases[i].in);
		assert_true(g_error_matches(error, BERTH_ERROR,
					    BERTH_ERROR_INVALID_ARGUMENT));
		if (strstr(error->message, cases[i].message) == NULL)
			fail_msg("\"%s\": message \"%s\" lacks \"%s\"",
				 cases[i].in, error->message, cases[i].message);
		assert_false(digest_is_valid(cases[i].in));
	}
	assert_false(digest_is_valid(NULL));
}

static void test_compute(void **state)
{
	(void)state;
	g_autofree char *a = digest_compute(DIGEST_SHA256, "hello", 5);
	g_autofree char *b = digest_compute(DIGEST_SHA512, "hello", 5);
	g_autofree char *c = digest_compute(DIGEST_SHA256, "", 0);
	assert_string_equal(a, HELLO256);
	assert_string_equal(b, HELLO512);
	assert_string_equal(c, EMPTY256);
	assert_string_equal(digest_algorithm_name(DIGEST_SHA256), "sha256");
	assert_string_equal(digest_algorithm_name(DIGEST_SHA512), "sha512");
}

static void test_verifier_ok_chunks(void **state)
{
	(void)state;
	g_autoptr(GError) error = NULL;
	g_autoptr(DigestVerifier) v = digest_verifier_new(HELLO256, 5, &error);
	assert_non_null(v);
	assert_null(digest_verifier_actual(v));
	assert_true(digest_verifier_update(v, "he", 2, &error));
	assert_true(digest_verifier_update(v, "", 0, &error));
	assert_true(digest_verifier_update(v, "llo", 3, &error));
	assert_int_equal(digest_verifier_bytes(v), 5);
	assert_true(digest_verifier_finish(v, &error));
	assert_string_equal(digest_verifier_actual(v), HELLO256);
}

static void test_verifier_unknown_size(void **state)
{
	(void)state;
	g_autoptr(DigestVerifier) v = digest_verifier_new(HELLO512, -1, NULL);
	assert_true(digest_verifier_update(v, "hello", 5, NULL));
	assert_true(digest_verifier_finish(v, NULL));
	g_autoptr(DigestVerifier) e = digest_verifier_new(EMPTY256, 0, NULL);
	assert_true(digest_verifier_finish(e, NULL));
}

static void test_verifier_mismatch(void **state)
{
	(void)state;
	g_autoptr(GError) error = NULL;
	g_autoptr(DigestVerifier) v =
		digest_verifier_new("sha256:" D64, 5, NULL);
	assert_true(digest_verifier_update(v, "hello", 5, NULL));
	assert_false(digest_verifier_finish(v, &error));
	assert_true(g_error_matches(error, BERTH_ERROR, BERTH_ERROR_DATA_LOSS));
	assert_string_equal(error->message,
			    "blob sha256:" D64
			    ": digest mismatch (got " HELLO256 ")");
	assert_string_equal(digest_verifier_actual(v), HELLO256);
}

static void test_verifier_too_long(void **state)
{
	(void)state;
	g_autoptr(GError) error = NULL;
	g_autoptr(DigestVerifier) v = digest_verifier_new(HELLO256, 4, NULL);
	assert_true(digest_verifier_update(v, "hell", 4, NULL));
	assert_false(digest_verifier_update(v, "o", 1, &error));
	assert_true(g_error_matches(error, BERTH_ERROR, BERTH_ERROR_DATA_LOSS));
	assert_non_null(strstr(error->message, "size mismatch"));
	assert_true(g_str_has_prefix(error->message, "blob " HELLO256 ": "));
	/* Once failed, it stays failed. */
	g_clear_error(&error);
	assert_false(digest_verifier_update(v, "", 0, &error));
	g_clear_error(&error);
	assert_false(digest_verifier_finish(v, &error));
}

static void test_verifier_too_short(void **state)
{
	(void)state;
	g_autoptr(GError) error = NULL;
	g_autoptr(DigestVerifier) v = digest_verifier_new(HELLO256, 6, NULL);
	assert_true(digest_verifier_update(v, "hello", 5, NULL));
	assert_false(digest_verifier_finish(v, &error));
	assert_true(g_error_matches(error, BERTH_ERROR, BERTH_ERROR_DATA_LOSS));
	assert_non_null(strstr(error->message, "got 5 bytes, declared 6"));
}

static void test_verifier_bad_args(void **state)
{
	(void)state;
	g_autoptr(GError) error = NULL;
	assert_null(digest_verifier_new("sha256:abc", 1, &error));
	assert_true(g_error_matches(error, BERTH_ERROR,
				    BERTH_ERROR_INVALID_ARGUMENT));
	g_clear_error(&error);
	assert_null(digest_verifier_new(HELLO256, -2, &error));
	assert_true(g_error_matches(error, BERTH_ERROR,
				    BERTH_ERROR_INVALID_ARGUMENT));
	digest_verifier_free(NULL);
}

static void test_verifier_large(void **state)
{
	(void)state;
	gsize len = 1 << 20;
	g_autofree guint8 *buf = g_malloc(len);
	for (gsize i = 0; i < len; i++)
		buf[i] = (guint8)(i * 31 + 7);
	g_autofree char *want = digest_compute(DIGEST_SHA256, buf, len);
	g_autoptr(DigestVerifier) v = digest_verifier_new(want, len, NULL);
	for (gsize off = 0; off < len; off += 4093)
		assert_true(digest_verifier_update(v, buf + off,
						   MIN(4093, len - off), NULL));
	assert_true(digest_verifier_finish(v, NULL));
	assert_int_equal(digest_verifier_bytes(v), len);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_invalid),
		cmocka_unit_test(test_compute),
		cmocka_unit_test(test_verifier_ok_chunks),
		cmocka_unit_test(test_verifier_unknown_size),
		cmocka_unit_test(test_verifier_mismatch),
		cmocka_unit_test(test_verifier_too_long),
		cmocka_unit_test(test_verifier_too_short),
		cmocka_unit_test(test_verifier_bad_args),
		cmocka_unit_test(test_verifier_large),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
