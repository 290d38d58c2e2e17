/* image/ref.c: the reference grammar, normalisation to docker.io, image
 * IDs, and the error messages users see. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>

#include "image/ref.h"
#include "util/error.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define D128 D64 D64

typedef struct {
	const char *in;
	const char *domain;
	const char *path;
	const char *tag;
	const char *digest;
	gboolean qualified;
	const char *canonical;
} ValidCase;

static const ValidCase valid_cases[] = {
	{"busybox", "docker.io", "library/busybox", "latest", NULL, FALSE,
	 "docker.io/library/busybox:latest"},
	{"busybox:1.36", "docker.io", "library/busybox", "1.36", NULL, FALSE,
	 "docker.io/library/busybox:1.36"},
	{"foo/bar", "docker.io", "foo/bar", "latest", NULL, FALSE,
	 "docker.io/foo/bar:latest"},
	{"foo/bar/baz:v1", "docker.io", "foo/bar/baz", "v1", NULL, FALSE,
	 "docker.io/foo/bar/baz:v1"},
	{"docker.io/busybox", "docker.io", "library/busybox", "latest", NULL,
	 TRUE, "docker.io/library/busybox:latest"},
	{"index.docker.io/busybox", "docker.io", "library/busybox", "latest",
	 NULL, TRUE, "docker.io/library/busybox:latest"},
	{"docker.io/library/busybox:musl", "docker.io", "library/busybox",
	 "musl", NULL, TRUE, "docker.io/library/busybox:musl"},
	{"quay.io/ns/app:1.2.3", "quay.io", "ns/app", "1.2.3", NULL, TRUE,
	 "quay.io/ns/app:1.2.3"},
	{"quay.io/app", "quay.io", "app", "latest", NULL, TRUE,
	 "quay.io/app:latest"},
	{"127.0.0.1:5000/ns/name:tag", "127.0.0.1:5000", "ns/name", "tag", NULL,
	 TRUE, "127.0.0.1:5000/ns/name:tag"},
	{"localhost/name", "localhost", "name", "latest", NULL, TRUE,
	 "localhost/name:latest"},
	{"localhost:5000/name", "localhost:5000", "name", "latest", NULL, TRUE,
	 "localhost:5000/name:latest"},
	{"registry:5000/name", "registry:5000", "name", "latest", NULL, TRUE,
	 "registry:5000/name:latest"},
	{"[::1]:5000/name:t", "[::1]:5000", "name", "t", NULL, TRUE,
	 "[::1]:5000/name:t"},
	{"[fe80::1]/name", "[fe80::1]", "name", "latest", NULL, TRUE,
	 "[fe80::1]/name:latest"},
	{"My-Registry.Example.COM/app", "My-Registry.Example.COM", "app",
	 "latest", NULL, TRUE, "My-Registry.Example.COM/app:latest"},
	{"name@sha256:" D64, "docker.io", "library/name", NULL, "sha256:" D64,
	 FALSE, "docker.io/library/name@sha256:" D64},
	{"name:tag@sha256:" D64, "docker.io", "library/name", "tag",
	 "sha256:" D64, FALSE, "docker.io/library/name:tag@sha256:" D64},
	{"host:1/a/b@sha512:" D128, "host:1", "a/b", NULL, "sha512:" D128, TRUE,
	 "host:1/a/b@sha512:" D128},
	{"ab-c__d--e/f_g.h", "docker.io", "ab-c__d--e/f_g.h", "latest", NULL,
	 FALSE, "docker.io/ab-c__d--e/f_g.h:latest"},
	{"ns/a.b_c", "docker.io", "ns/a.b_c", "latest", NULL, FALSE,
	 "docker.io/ns/a.b_c:latest"},
	{"localhost", "docker.io", "library/localhost", "latest", NULL, FALSE,
	 "docker.io/library/localhost:latest"},
	{"app:Tag_1.0-RC", "docker.io", "library/app", "Tag_1.0-RC", NULL,
	 FALSE, "docker.io/library/app:Tag_1.0-RC"},
	{"app:_under", "docker.io", "library/app", "_under", NULL, FALSE,
	 "docker.io/library/app:_under"},
	/* Without a slash, "host:5000" is a name with a tag. */
	{"host:5000", "docker.io", "library/host", "5000", NULL, FALSE,
	 "docker.io/library/host:5000"},
	{"0", "docker.io", "library/0", "latest", NULL, FALSE,
	 "docker.io/library/0:latest"},
	/* 63 hex characters is a name, not an ID. */
	{"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
	 "docker.io",
	 "library/"
	 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde",
	 "latest", NULL, FALSE, NULL},
};

static void test_valid(void **state)
{
	(void)state;
	for (gsize i = 0; i < G_N_ELEMENTS(valid_cases); i++) {
		const ValidCase *c = &valid_cases[i];
		g_autoptr(ImageRef) ref = NULL;
		g_autoptr(GError) error = NULL;
		gboolean ok = image_ref_parse(c->in, &ref, &error);
		if (!ok)
			fail_msg("%s: %s", c->in, error->message);
		assert_string_equal(ref->domain, c->domain);
		assert_string_equal(ref->path, c->path);
		if (c->tag)
			assert_string_equal(ref->tag, c->tag);
		else
			assert_null(ref->tag);
		if (c->digest)
			assert_string_equal(ref->digest, c->digest);
		else
			assert_null(ref->digest);
		assert_int_equal(ref->qualified, c->qualified);
		if (c->canonical) {
			g_autofree char *s = image_ref_string(ref);
			assert_string_equal(s, c->canonical);
		}
	}
}

typedef struct {
	const char *in;
	const char *message; /* a substring of the error */
} InvalidCase;

static const InvalidCase invalid_cases[] = {
	{"", "empty"},
	{"Foo", "repository name must be lowercase"},
	{"foo/Bar", "repository name must be lowercase"},
	{"Foo/bar", "repository name must be lowercase"},
	{"quay.io/NS/app", "repository name must be lowercase"},
	{"foo//bar", "empty path component"},
	{"foo/", "empty path component"},
	{"/foo", "empty path component"},
	{"quay.io/", "empty path component"},
	{"-foo", "invalid repository path component \"-foo\""},
	{"foo-", "invalid repository path component \"foo-\""},
	{"foo..bar", "invalid repository path component"},
	{"foo___bar", "invalid repository path component"},
	{"foo.-bar", "invalid repository path component"},
	{"foo_", "invalid repository path component"},
	{".foo", "invalid repository path component"},
	{"foo$bar", "invalid repository path component"},
	{"foo bar", "whitespace"},
	{"foo\tbar", "whitespace"},
	{"foo\xc3\xa9", "non-ASCII"},
	{"foo:", "invalid tag \"\""},
	{"foo:-tag", "invalid tag \"-tag\""},
	{"foo:.tag", "invalid tag"},
	{"foo:ta+g", "invalid tag"},
	{"foo:a:b", "invalid tag"},
	{":tag", "missing repository name"},
	{"@sha256:" D64, "missing repository name"},
	{"foo@", "empty digest"},
	{"foo@sha256", "missing algorithm"},
	{"foo@sha256:abc", "sha256 needs 64 lowercase hex"},
	{"foo@sha256:" D64 "0", "sha256 needs 64"},
	{"foo@sha256:0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789"
	 "abcdef",
	 "lowercase hex"},
	{"foo@sha512:" D64, "sha512 needs 128"},
	{"foo@md5:0123456789abcdef0123456789abcdef", "unsupported algorithm"},
	{"foo@SHA256:" D64, "malformed algorithm"},
	{"foo@sha256:" D64 "@sha256:" D64, "sha256 needs 64"},
	{"foo:tag@", "empty digest"},
	{"bad_host.com/foo", "invalid domain"},
	{"-host.com/foo", "invalid domain"},
	{"host-.com/foo", "invalid domain"},
	{"host..com/foo", "invalid domain"},
	{"host.com:/foo", "invalid domain"},
	{"host.com:50a/foo", "invalid domain"},
	{"host.com:5000:1/foo", "invalid domain"},
	{"[zz::1]/foo", "invalid domain"},
	{"[]:5000/foo", "invalid domain"},
	{"[::1/foo", "invalid domain"},
	{":5000/foo", "invalid domain"},
	{"sha256:" D64, "an image ID"},
	{D64, "an image ID"},
};

static void test_invalid(void **state)
{
	(void)state;
	for (gsize i = 0; i < G_N_ELEMENTS(invalid_cases); i++) {
		const InvalidCase *c = &invalid_cases[i];
		ImageRef *ref = NULL;
		g_autoptr(GError) error = NULL;
		if (image_ref_parse(c->in, &ref, &error))
			fail_msg("%s: parsed but should not", c->in);
		assert_null(ref);
		assert_true(g_error_matches(error, BERTH_ERROR,
					    BERTH_ERROR_INVALID_ARGUMENT));
		if (strstr(error->message, c->message) == NULL)
			fail_msg("%s: message \"%s\" lacks \"%s\"", c->in,
				 error->message, c->message);
		assert_true(
			g_str_has_prefix(error->message, "invalid reference"));
	}
}

static void test_error_message_exact(void **state)
{
	(void)state;
	ImageRef *ref = NULL;
	g_autoptr(GError) error = NULL;
	assert_false(image_ref_parse("Foo", &ref, &error));
	assert_string_equal(error->message,
			    "invalid reference \"Foo\": "
			    "repository name must be lowercase");
	assert_false(image_ref_parse(NULL, &ref, NULL));
}

/* The limit is on the canonical name: "docker.io/library/" counts. */
static void test_name_length(void **state)
{
	(void)state;
	gsize hub = strlen("docker.io/library/");
	g_autofree char *ok = g_strnfill(IMAGE_REF_NAME_MAX - hub, 'a');
	g_autofree char *too_long = g_strnfill(IMAGE_REF_NAME_MAX + 1, 'a');
	g_autofree char *with_tag = g_strconcat(ok, ":t", NULL);
	g_autoptr(ImageRef) ref = NULL;
	g_autoptr(ImageRef) ref2 = NULL;
	ImageRef *bad = NULL;
	g_autoptr(GError) error = NULL;
	assert_true(image_ref_parse(ok, &ref, NULL));
	/* The tag does not count toward the name. */
	assert_true(image_ref_parse(with_tag, &ref2, NULL));
	assert_false(image_ref_parse(too_long, &bad, &error));
	assert_non_null(strstr(error->message, "longer than 255"));
	/* Nor does a domain make a long path fit. */
	g_autofree char *b250 = g_strnfill(250, 'b');
	g_autofree char *qualified = g_strconcat("quay.io/", b250, NULL);
	g_clear_error(&error);
	assert_false(image_ref_parse(qualified, &bad, &error));
	assert_non_null(strstr(error->message, "longer than 255"));
}

/* Found by fuzz_image_ref: a short name that fit as written but not with
 * "docker.io/library/" printed a reference that did not parse back. */
static void test_name_length_canonical(void **state)
{
	(void)state;
	gsize hub = strlen("docker.io/library/");
	g_autofree char *over = g_strnfill(IMAGE_REF_NAME_MAX - hub + 1, 'a');
	ImageRef *bad = NULL;
	g_autoptr(GError) error = NULL;
	assert_false(image_ref_parse(over, &bad, &error));
	assert_non_null(strstr(error->message, "longer than 255"));

	/* Moving a reference to a longer domain checks the same limit. */
	g_autofree char *b247 = g_strnfill(247, 'b');
	g_autofree char *fits = g_strconcat("quay.io/", b247, NULL);
	g_autoptr(ImageRef) ref = NULL;
	assert_true(image_ref_parse(fits, &ref, NULL));
	g_autofree char *s = image_ref_string(ref);
	g_autoptr(ImageRef) again = NULL;
	assert_true(image_ref_parse(s, &again, NULL));
	g_clear_error(&error);
	assert_null(image_ref_with_domain(ref, "registry.example.com", &error));
	assert_non_null(strstr(error->message, "longer than 255"));
}

static void test_tag_length(void **state)
{
	(void)state;
	g_autofree char *t128 = g_strnfill(128, 't');
	g_autofree char *t129 = g_strnfill(129, 't');
	g_autofree char *ok = g_strconcat("app:", t128, NULL);
	g_autofree char *bad = g_strconcat("app:", t129, NULL);
	g_autoptr(ImageRef) ref = NULL;
	ImageRef *none = NULL;
	assert_true(image_ref_parse(ok, &ref, NULL));
	assert_string_equal(ref->tag, t128);
	assert_false(image_ref_parse(bad, &none, NULL));
	assert_true(image_ref_validate_tag("v1.0", NULL));
	assert_false(image_ref_validate_tag(NULL, NULL));
	assert_false(image_ref_validate_tag("", NULL));
}

static void test_parse_id(void **state)
{
	(void)state;
	g_autofree char *a = image_ref_parse_id("sha256:" D64);
	g_autofree char *b = image_ref_parse_id(D64);
	assert_string_equal(a, "sha256:" D64);
	assert_string_equal(b, "sha256:" D64);
	assert_null(image_ref_parse_id(NULL));
	assert_null(image_ref_parse_id(""));
	assert_null(image_ref_parse_id("busybox"));
	assert_null(image_ref_parse_id("sha256:abc"));
	assert_null(image_ref_parse_id(D64 "0"));
	assert_null(image_ref_parse_id("sha512:" D128));
	assert_null(image_ref_parse_id("0123456789ABCDEF0123456789abcdef0123456"
				       "789abcdef0123456789abcdef"));
	assert_null(image_ref_parse_id("sha256:" D64 ":x"));
}

static void test_repo_forms(void **state)
{
	(void)state;
	g_autoptr(ImageRef) ref = NULL;
	assert_true(image_ref_parse("busybox:1@sha256:" D64, &ref, NULL));
	g_autofree char *repo = image_ref_repo(ref);
	g_autofree char *rt = image_ref_repo_tag(ref);
	g_autofree char *rd = image_ref_repo_digest(ref);
	assert_string_equal(repo, "docker.io/library/busybox");
	assert_string_equal(rt, "docker.io/library/busybox:1");
	assert_string_equal(rd, "docker.io/library/busybox@sha256:" D64);

	g_autoptr(ImageRef) plain = NULL;
	assert_true(image_ref_parse("quay.io/a/b", &plain, NULL));
	assert_null(image_ref_repo_digest(plain));
	g_autoptr(ImageRef) pinned = NULL;
	assert_true(image_ref_parse("quay.io/a/b@sha256:" D64, &pinned, NULL));
	assert_null(image_ref_repo_tag(pinned));
}

static void test_with_domain(void **state)
{
	(void)state;
	g_autoptr(ImageRef) ref = NULL;
	assert_true(image_ref_parse("busybox:1.36", &ref, NULL));
	assert_false(ref->qualified);
	assert_true(ref->implied_library);

	g_autoptr(ImageRef) quay = image_ref_with_domain(ref, "quay.io", NULL);
	g_autofree char *s1 = image_ref_string(quay);
	assert_string_equal(s1, "quay.io/busybox:1.36");
	assert_true(quay->qualified);

	g_autoptr(ImageRef) back =
		image_ref_with_domain(quay, "docker.io", NULL);
	g_autofree char *s2 = image_ref_string(back);
	assert_string_equal(s2, "docker.io/library/busybox:1.36");

	g_autoptr(ImageRef) ns = NULL;
	assert_true(image_ref_parse("library/busybox", &ns, NULL));
	assert_false(ns->implied_library);
	g_autoptr(ImageRef) ns2 =
		image_ref_with_domain(ns, "127.0.0.1:5000", NULL);
	g_autofree char *s3 = image_ref_string(ns2);
	assert_string_equal(s3, "127.0.0.1:5000/library/busybox:latest");

	g_autoptr(GError) error = NULL;
	assert_null(image_ref_with_domain(ref, "bad_domain", &error));
	assert_true(g_error_matches(error, BERTH_ERROR,
				    BERTH_ERROR_INVALID_ARGUMENT));
}

static void test_copy(void **state)
{
	(void)state;
	g_autoptr(ImageRef) ref = NULL;
	assert_true(image_ref_parse("a/b:c@sha256:" D64, &ref, NULL));
	g_autoptr(ImageRef) copy = image_ref_copy(ref);
	g_autofree char *s1 = image_ref_string(ref);
	g_autofree char *s2 = image_ref_string(copy);
	assert_string_equal(s1, s2);
	assert_ptr_not_equal(ref->path, copy->path);
	image_ref_free(NULL);
}

static void test_validate_domain(void **state)
{
	(void)state;
	const char *good[] = {"a",     "a.b",	  "a-b.c",   "1.2.3.4:5",
			      "[::1]", "[::1]:1", "x:65535", "LOCALHOST"};
	const char *bad[] = {
		"",	  ".a",	  "a.",	 "a:b", "a:",  "[::",  "[]",
		"[g::1]", "[12]", "a/b", "-a",	"a_b", "a..b", "[::1]x"};
	for (gsize i = 0; i < G_N_ELEMENTS(good); i++)
		if (!image_ref_validate_domain(good[i], NULL))
			fail_msg("domain %s should be valid", good[i]);
	for (gsize i = 0; i < G_N_ELEMENTS(bad); i++)
		if (image_ref_validate_domain(bad[i], NULL))
			fail_msg("domain %s should be invalid", bad[i]);
	assert_false(image_ref_validate_domain(NULL, NULL));
}

static void test_pattern_match(void **state)
{
	(void)state;
	const char *name = "quay.io/ns/app:1.2";
	assert_true(image_ref_pattern_match("quay.io/ns/app:1.2", name));
	assert_false(image_ref_pattern_match("quay.io/ns/app", name));
	assert_true(image_ref_pattern_match("quay.io/ns/*", name));
	assert_true(image_ref_pattern_match("quay.io/ns/app:*", name));
	assert_false(image_ref_pattern_match("quay.io/other/*", name));
	char *pats[] = {"registry.k8s.io/pause:*", "quay.io/ns/app:1.2", NULL};
	char *tags[] = {"docker.io/library/busybox:latest",
			"registry.k8s.io/pause:3.10", NULL};
	char *none[] = {"docker.io/library/busybox:latest", NULL};
	assert_true(image_ref_patterns_match_any(pats, tags));
	assert_false(image_ref_patterns_match_any(pats, none));
	assert_false(image_ref_patterns_match_any(pats, NULL));
	char *empty[] = {NULL};
	assert_false(image_ref_patterns_match_any(empty, tags));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_invalid),
		cmocka_unit_test(test_error_message_exact),
		cmocka_unit_test(test_name_length),
		cmocka_unit_test(test_name_length_canonical),
		cmocka_unit_test(test_tag_length),
		cmocka_unit_test(test_parse_id),
		cmocka_unit_test(test_repo_forms),
		cmocka_unit_test(test_with_domain),
		cmocka_unit_test(test_copy),
		cmocka_unit_test(test_validate_domain),
		cmocka_unit_test(test_pattern_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
