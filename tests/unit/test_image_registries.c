/* image/registries.c: registries.conf parsing and its errors, short-name
 * candidates, longest-prefix and wildcard matching, location rewrites,
 * mirror order and policies, blocked and insecure registries. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <glib/gstdio.h>

#include "image/registries.h"
#include "util/error.h"

#define D64 "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

static Registries *load(const char *text)
{
	Registries *r = registries_new_default();
	g_autoptr(GError) error = NULL;
	gboolean ok = registries_merge_toml(r, text, strlen(text), "test.conf",
					    &error);
	if (!ok)
		fail_msg("unexpected error: %s", error->message);
	return r;
}

/* The error message of a document that must not load. */
static char *load_error(const char *text)
{
	g_autoptr(Registries) r = registries_new_default();
	g_autoptr(GError) error = NULL;
	assert_false(registries_merge_toml(r, text, strlen(text), "test.conf",
					   &error));
	assert_true(g_error_matches(error, BERTH_ERROR,
				    BERTH_ERROR_INVALID_ARGUMENT));
	return g_strdup(error->message);
}

static ImageRef *ref(const char *s)
{
	ImageRef *out = NULL;
	g_autoptr(GError) error = NULL;
	if (!image_ref_parse(s, &out, &error))
		fail_msg("bad test reference %s: %s", s, error->message);
	return out;
}

/* "host/repo:tag[i]" for each endpoint, "|"-joined, insecure marked "!"
 * and mirrors "m:". */
static char *endpoints_str(const Registries *r, const char *image)
{
	g_autoptr(ImageRef) in = ref(image);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) eps = registries_endpoints(r, in, &error);
	if (eps == NULL)
		return g_strdup_printf("ERR %d %s", error->code,
				       error->message);
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < eps->len; i++) {
		const RegistryEndpoint *e = eps->pdata[i];
		g_autofree char *full = image_ref_string(e->ref);
		g_autofree char *repo =
			g_strconcat(e->host, "/", e->repo, NULL);
		assert_true(g_str_has_prefix(full, repo));
		g_string_append_printf(s, "%s%s%s%s", i ? "|" : "",
				       e->mirror ? "m:" : "",
				       e->insecure ? "!" : "", full);
	}
	return g_string_free(s, FALSE);
}

static char *candidates_str(const Registries *r, const char *image)
{
	g_autoptr(ImageRef) in = ref(image);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) c = registries_candidates(r, in, &error);
	if (c == NULL)
		return g_strdup_printf("ERR %d %s", error->code,
				       error->message);
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < c->len; i++) {
		g_autofree char *str = image_ref_string(c->pdata[i]);
		g_string_append_printf(s, "%s%s", i ? "|" : "", str);
	}
	return g_string_free(s, FALSE);
}

#define assert_endpoints(r, image, want)                                       \
	do {                                                                   \
		g_autofree char *got_ = endpoints_str(r, image);               \
		assert_string_equal(got_, want);                               \
	} while (0)

#define assert_candidates(r, image, want)                                      \
	do {                                                                   \
		g_autofree char *got_ = candidates_str(r, image);              \
		assert_string_equal(got_, want);                               \
	} while (0)

#define assert_load_error(text, want)                                          \
	do {                                                                   \
		g_autofree char *got_ = load_error(text);                      \
		if (strstr(got_, want) == NULL)                                \
			fail_msg("error \"%s\" lacks \"%s\"", got_, want);     \
	} while (0)

/* ---- defaults and short names ----------------------------------------- */

static void test_defaults(void **state)
{
	(void)state;
	g_autoptr(Registries) r = registries_new_default();
	assert_string_equal(registries_search(r)[0], "docker.io");
	assert_null(registries_search(r)[1]);
	assert_candidates(r, "busybox", "docker.io/library/busybox:latest");
	assert_candidates(r, "foo/bar:1", "docker.io/foo/bar:1");
	assert_candidates(r, "quay.io/a/b", "quay.io/a/b:latest");
	assert_endpoints(r, "quay.io/a/b@sha256:" D64,
			 "quay.io/a/b@sha256:" D64);
	assert_endpoints(r, "busybox", "docker.io/library/busybox:latest");
}

static void test_missing_file_is_default(void **state)
{
	(void)state;
	g_autoptr(GError) error = NULL;
	g_autoptr(Registries) r = registries_load(
		"/nonexistent/berth/registries.conf", NULL, &error);
	assert_non_null(r);
	assert_string_equal(registries_search(r)[0], "docker.io");
	g_autoptr(Registries) r2 = registries_load(NULL, NULL, &error);
	assert_non_null(r2);
}

static void test_search_registries(void **state)
{
	(void)state;
	g_autoptr(Registries) r = load("unqualified-search-registries = "
				       "[\"a.example.com\", "
				       "\"localhost:5000\", \"docker.io\"]\n"
				       "short-name-mode = \"enforcing\"\n");
	assert_candidates(r, "busybox:1.36",
			  "a.example.com/busybox:1.36|localhost:5000/busybox:"
			  "1.36|docker.io/library/busybox:1.36");
	assert_candidates(r, "ns/app@sha256:" D64,
			  "a.example.com/ns/app@sha256:" D64
			  "|localhost:5000/ns/app@sha256:" D64
			  "|docker.io/ns/app@sha256:" D64);
	/* Qualified names never use the search list. */
	assert_candidates(r, "docker.io/busybox",
			  "docker.io/library/busybox:latest");
}

static void test_empty_search_refuses_short_names(void **state)
{
	(void)state;
	g_autoptr(Registries) r = load("unqualified-search-registries = []\n");
	g_autofree char *got = candidates_str(r, "busybox");
	assert_true(g_str_has_prefix(got, "ERR 5 "));
	assert_non_null(strstr(got, "\"busybox\""));
	assert_candidates(r, "quay.io/x", "quay.io/x:latest");
}

static void test_aliases(void **state)
{
	(void)state;
	g_autoptr(Registries) r =
		load("unqualified-search-registries = [\"a.io\"]\n"
		     "[aliases]\n"
		     "\"bb\" = \"quay.io/tools/busybox\"\n"
		     "\"ns/app\" = \"localhost:5000/app\"\n"
		     "\"gone\" = \"quay.io/gone\"\n");
	assert_candidates(r, "bb", "quay.io/tools/busybox:latest");
	assert_candidates(r, "bb:1.0", "quay.io/tools/busybox:1.0");
	assert_candidates(r, "ns/app@sha256:" D64,
			  "localhost:5000/app@sha256:" D64);
	assert_candidates(r, "other", "a.io/other:latest");
	/* A later document removes an alias with "". */
	g_autoptr(GError) error = NULL;
	const char *drop = "[aliases]\n\"gone\" = \"\"\n";
	assert_true(
		registries_merge_toml(r, drop, strlen(drop), "d.conf", &error));
	assert_candidates(r, "gone", "a.io/gone:latest");
	assert_candidates(r, "bb", "quay.io/tools/busybox:latest");
}

/* ---- matching and rewriting ------------------------------------------- */

static const char *const rewrite_conf =
	"[[registry]]\n"
	"prefix = \"example.com/foo\"\n"
	"location = \"internal.example.net/bar\"\n"
	"\n"
	"[[registry]]\n"
	"prefix = \"example.com\"\n"
	"location = \"other.example.net:5000\"\n"
	"\n"
	"[[registry]]\n"
	"prefix = \"example.com/foo/img:1\"\n"
	"location = \"pinned.example.net/img:one\"\n"
	"\n"
	"[[registry]]\n"
	"location = \"plain.example.org\"\n"
	"\n"
	"[[registry]]\n"
	"prefix = \"docker.io/library/busybox\"\n"
	"location = \"hub-cache.local/library/busybox\"\n";

static void test_longest_prefix(void **state)
{
	(void)state;
	g_autoptr(Registries) r = load(rewrite_conf);
	assert_endpoints(r, "example.com/foo/image:latest",
			 "internal.example.net/bar/image:latest");
	assert_endpoints(r, "example.com/foo/a/b@sha256:" D64,
			 "internal.example.net/bar/a/b@sha256:" D64);
	/* "foo" must end at a separator: "foobar" is not under it. */
	assert_endpoints(r, "example.com/foobar/x",
			 "other.example.net:5000/foobar/x:latest");
	assert_endpoints(r, "example.com/x:2", "other.example.net:5000/x:2");
	/* A prefix with a tag matches only that tag. */
	assert_endpoints(r, "example.com/foo/img:1",
			 "pinned.example.net/img:one");
	assert_endpoints(r, "example.com/foo/img:2",
			 "internal.example.net/bar/img:2");
	/* A host prefix does not cover the same host on another port. */
	assert_endpoints(r, "example.com:5000/x", "example.com:5000/x:latest");
	/* prefix defaults to location. */
	assert_endpoints(r, "plain.example.org/p/q",
			 "plain.example.org/p/q:latest");
	/* docker.io prefixes must spell out library/. */
	assert_endpoints(r, "busybox:1", "hub-cache.local/library/busybox:1");
	assert_endpoints(r, "docker.io/busybox/x",
			 "docker.io/busybox/x:latest");
}

static void test_wildcard(void **state)
{
	(void)state;
	g_autoptr(Registries) r = load("[[registry]]\n"
				       "prefix = \"*.example.com\"\n"
				       "[[registry.mirror]]\n"
				       "location = \"mirror.local/wild\"\n"
				       "\n"
				       "[[registry]]\n"
				       "prefix = \"a.example.com\"\n"
				       "location = \"exact.local\"\n"
				       "\n"
				       "[[registry]]\n"
				       "prefix = \"*.blocked.example.org\"\n"
				       "blocked = true\n");
	assert_endpoints(r, "b.example.com/ns/x:1",
			 "m:mirror.local/wild/ns/x:1|b.example.com/ns/x:1");
	/* any number of subdomain levels */
	assert_endpoints(r, "c.b.example.com/x",
			 "m:mirror.local/wild/x:latest|c.b.example.com/x:"
			 "latest");
	/* not the bare domain, not another port, not a longer name */
	assert_endpoints(r, "example.com/x", "example.com/x:latest");
	assert_endpoints(r, "b.example.com:5000/x",
			 "b.example.com:5000/x:latest");
	assert_endpoints(r, "b.notexample.com/x", "b.notexample.com/x:latest");
	/* an exact host beats the wildcard */
	assert_endpoints(r, "a.example.com/x", "exact.local/x:latest");
	g_autofree char *got = endpoints_str(r, "x.blocked.example.org/y");
	assert_true(g_str_has_prefix(got, "ERR 7 "));
}

static void test_mirrors(void **state)
{
	(void)state;
	g_autoptr(Registries) r = load(
		"[[registry]]\n"
		"prefix = \"example.com/foo\"\n"
		"location = \"internal.example.net/bar\"\n"
		"[[registry.mirror]]\n"
		"location = \"mirror-0.local/mirror-for-foo\"\n"
		"[[registry.mirror]]\n"
		"location = \"mirror-1.local/mirrors/foo\"\n"
		"insecure = true\n"
		"[[registry.mirror]]\n"
		"location = \"mirror-2.local\"\n"
		"pull-from-mirror = \"tag-only\"\n"
		"\n"
		"[[registry]]\n"
		"location = \"digests.example.com\"\n"
		"mirror-by-digest-only = true\n"
		"mirror = [{location = \"dmirror.local\"}, "
		"{location = \"any.local\", pull-from-mirror = \"all\"}]\n");
	assert_endpoints(r, "example.com/foo/image:latest",
			 "m:mirror-0.local/mirror-for-foo/image:latest"
			 "|m:!mirror-1.local/mirrors/foo/image:latest"
			 "|m:mirror-2.local/image:latest"
			 "|internal.example.net/bar/image:latest");
	assert_endpoints(r, "example.com/foo/image@sha256:" D64,
			 "m:mirror-0.local/mirror-for-foo/image@sha256:" D64
			 "|m:!mirror-1.local/mirrors/foo/image@sha256:" D64
			 "|internal.example.net/bar/image@sha256:" D64);
	assert_endpoints(r, "digests.example.com/x:1",
			 "m:any.local/x:1|digests.example.com/x:1");
	assert_endpoints(r, "digests.example.com/x@sha256:" D64,
			 "m:dmirror.local/x@sha256:" D64
			 "|m:any.local/x@sha256:" D64
			 "|digests.example.com/x@sha256:" D64);
}

static void test_blocked(void **state)
{
	(void)state;
	g_autoptr(Registries) r = load("[[registry]]\n"
				       "location = \"bad.example.com\"\n"
				       "blocked = true\n"
				       "[[registry]]\n"
				       "location = \"bad.example.com/ok\"\n");
	g_autoptr(ImageRef) in = ref("bad.example.com/x/y:1");
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) eps = registries_endpoints(r, in, &error);
	assert_null(eps);
	assert_true(g_error_matches(error, BERTH_ERROR,
				    BERTH_ERROR_PERMISSION_DENIED));
	assert_non_null(strstr(error->message, "bad.example.com"));
	assert_non_null(strstr(error->message, "blocked"));
	/* A longer unblocked prefix wins. */
	assert_endpoints(r, "bad.example.com/ok/z",
			 "bad.example.com/ok/z:latest");
}

static void test_insecure(void **state)
{
	(void)state;
	g_autoptr(Registries) r = load("[[registry]]\n"
				       "location = \"plain.example.com\"\n"
				       "insecure = true\n"
				       "[[registry]]\n"
				       "prefix = \"src.example.com\"\n"
				       "location = \"dst.example.com\"\n"
				       "insecure = true\n");
	const char *const berth[] = {"lab.example.org:5000", "*.corp.example",
				     "team.example.net/insecure", NULL};
	g_autoptr(GError) error = NULL;
	assert_true(registries_add_insecure(r, berth, &error));
	assert_endpoints(r, "plain.example.com/x",
			 "!plain.example.com/x:latest");
	assert_endpoints(r, "src.example.com/x", "!dst.example.com/x:latest");
	assert_endpoints(r, "secure.example.com/x",
			 "secure.example.com/x:latest");
	assert_endpoints(r, "lab.example.org:5000/x",
			 "!lab.example.org:5000/x:latest");
	assert_endpoints(r, "lab.example.org/x", "lab.example.org/x:latest");
	assert_endpoints(r, "a.b.corp.example/x", "!a.b.corp.example/x:latest");
	assert_endpoints(r, "team.example.net/insecure/x",
			 "!team.example.net/insecure/x:latest");
	assert_endpoints(r, "team.example.net/secure/x",
			 "team.example.net/secure/x:latest");
	/* loopback is insecure without being listed */
	assert_endpoints(r, "localhost:5000/x", "!localhost:5000/x:latest");
	assert_endpoints(r, "127.0.0.1:5000/x", "!127.0.0.1:5000/x:latest");
	assert_endpoints(r, "[::1]:5000/x", "![::1]:5000/x:latest");

	const char *const bad[] = {"http://lab.example.org", NULL};
	assert_false(registries_add_insecure(r, bad, &error));
	assert_non_null(strstr(error->message, "insecure_registries"));
}

static void test_loopback(void **state)
{
	(void)state;
	assert_true(registries_host_is_loopback("localhost"));
	assert_true(registries_host_is_loopback("localhost:5000"));
	assert_true(registries_host_is_loopback("127.0.0.1"));
	assert_true(registries_host_is_loopback("127.1.2.3:80"));
	assert_true(registries_host_is_loopback("[::1]:5000"));
	assert_false(registries_host_is_loopback("127.example.com"));
	assert_false(registries_host_is_loopback("localhost.example.com"));
	assert_false(registries_host_is_loopback("128.0.0.1"));
	assert_false(registries_host_is_loopback("[::2]"));
	assert_false(registries_host_is_loopback(NULL));
}

/* ---- version 1 and drop-ins ------------------------------------------- */

static void test_v1(void **state)
{
	(void)state;
	g_autoptr(Registries) r = load("[registries.search]\n"
				       "registries = ['r1.example.com', "
				       "'r2.example.com']\n"
				       "[registries.insecure]\n"
				       "registries = ['r3.example.com']\n"
				       "[registries.block]\n"
				       "registries = ['evil.example.com']\n");
	assert_candidates(r, "x",
			  "r1.example.com/x:latest|r2.example.com/x:"
			  "latest");
	assert_endpoints(r, "r3.example.com/x", "!r3.example.com/x:latest");
	g_autofree char *got = endpoints_str(r, "evil.example.com/x");
	assert_true(g_str_has_prefix(got, "ERR 7 "));
}

static void write_file(const char *path, const char *text)
{
	g_autoptr(GError) error = NULL;
	if (!g_file_set_contents(path, text, -1, &error))
		fail_msg("%s", error->message);
}

static void test_dropins(void **state)
{
	(void)state;
	g_autofree char *dir = g_dir_make_tmp("berth-reg-XXXXXX", NULL);
	g_autofree char *main_conf = g_build_filename(dir, "r.conf", NULL);
	g_autofree char *ddir = g_build_filename(dir, "r.conf.d", NULL);
	g_autofree char *d1 = g_build_filename(ddir, "10-a.conf", NULL);
	g_autofree char *d2 = g_build_filename(ddir, "20-b.conf", NULL);
	g_autofree char *ignored = g_build_filename(ddir, "30-c.txt", NULL);
	g_mkdir(ddir, 0700);
	write_file(main_conf, "unqualified-search-registries = [\"a.io\"]\n"
			      "[[registry]]\n"
			      "location = \"x.io\"\n"
			      "blocked = true\n"
			      "[aliases]\n"
			      "\"k\" = \"x.io/k\"\n");
	write_file(d2, "unqualified-search-registries = [\"c.io\"]\n");
	write_file(d1, "unqualified-search-registries = [\"b.io\"]\n"
		       "[[registry]]\n"
		       "location = \"x.io\"\n"
		       "insecure = true\n");
	write_file(ignored, "this is not toml");
	const char *const insecure[] = {"y.io", NULL};
	g_autoptr(GError) error = NULL;
	g_autoptr(Registries) r = registries_load(main_conf, insecure, &error);
	assert_non_null(r);
	assert_candidates(r, "busybox", "c.io/busybox:latest");
	assert_candidates(r, "k", "x.io/k:latest");
	/* 10-a.conf replaced the blocked x.io entry. */
	assert_endpoints(r, "x.io/a", "!x.io/a:latest");
	assert_endpoints(r, "y.io/a", "!y.io/a:latest");

	write_file(d2, "[[registry]]\nlocation = 'bad'\n");
	g_autoptr(Registries) r2 = registries_load(main_conf, NULL, &error);
	assert_null(r2);
	assert_true(g_str_has_prefix(error->message, d2));
	g_clear_error(&error);

	g_unlink(d1);
	g_unlink(d2);
	g_unlink(ignored);
	g_rmdir(ddir);
	g_unlink(main_conf);
	g_rmdir(dir);
}

/* ---- errors ------------------------------------------------------------ */

static void test_errors(void **state)
{
	(void)state;
	/* from the TOML reader itself */
	assert_load_error("unqualified-search-registries = [\"a\"\n",
			  "test.conf:2:");
	assert_load_error("x = 1\n", "test.conf:1:1: unknown key \"x\"");
	assert_load_error("unqualified-search-registries = \"docker.io\"\n",
			  "test.conf:1:33: unqualified-search-registries "
			  "must be a array");
	assert_load_error("unqualified-search-registries = [\"in valid\"]\n",
			  "test.conf:1:34: unqualified-search-registries: "
			  "invalid domain");
	assert_load_error("short-name-mode = \"sometimes\"\n",
			  "test.conf:1:19: short-name-mode must be");
	assert_load_error("[[registry]]\nlocation = \"a.io\"\nfoo = 1\n",
			  "test.conf:3:1: unknown key \"foo\" in [[registry]]");
	assert_load_error("[[registry]]\ninsecure = \"yes\"\n",
			  "test.conf:2:12: insecure must be a boolean");
	assert_load_error("[[registry]]\nblocked = true\n",
			  "test.conf:1:1: [[registry]] needs a prefix or a "
			  "location");
	assert_load_error("[[registry]]\nprefix = \"*.a.io\"\n"
			  "location = \"b.io\"\n",
			  "wildcard prefix \"*.a.io\" must not set a location");
	assert_load_error("[[registry]]\nprefix = \"a.*.io\"\n",
			  "only allowed as a leading");
	assert_load_error("[[registry]]\nprefix = \"*.a.io/ns\"\n",
			  "invalid wildcard prefix");
	assert_load_error("[[registry]]\nlocation = \"https://a.io\"\n",
			  "must not include a scheme");
	assert_load_error("[[registry]]\nlocation = \"registry/ns\"\n",
			  "does not start with a registry host");
	assert_load_error("[[registry]]\nlocation = \"a.io\"\n"
			  "[[registry]]\nlocation = \"a.io\"\n",
			  "test.conf:3:1: [[registry]] prefix \"a.io\" is "
			  "defined twice");
	assert_load_error(
		"[[registry]]\nlocation = \"a.io\"\n"
		"[[registry.mirror]]\ninsecure = true\n",
		"test.conf:3:1: [[registry.mirror]] needs a location");
	assert_load_error("[[registry]]\nlocation = \"a.io\"\n"
			  "[[registry.mirror]]\nlocation = \"m.io\"\n"
			  "pull-from-mirror = \"never\"\n",
			  "test.conf:5:20: pull-from-mirror must be");
	assert_load_error("[aliases]\n\"quay.io/x\" = \"quay.io/x\"\n",
			  "test.conf:2:1: alias \"quay.io/x\" must be a short");
	assert_load_error("[aliases]\n\"x\" = \"y\"\n",
			  "test.conf:2:7: alias value \"y\" must be fully");
	assert_load_error("[aliases]\n\"x:1\" = \"quay.io/x\"\n",
			  "must not have a tag");
	assert_load_error("unqualified-search-registries = [\"b.io\"]\n"
			  "[registries.search]\nregistries = [\"a.io\"]\n",
			  "mixes the version 1");
	assert_load_error("[registries.search]\nlist = []\n",
			  "test.conf:2:1: unknown key \"list\"");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_missing_file_is_default),
		cmocka_unit_test(test_search_registries),
		cmocka_unit_test(test_empty_search_refuses_short_names),
		cmocka_unit_test(test_aliases),
		cmocka_unit_test(test_longest_prefix),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_mirrors),
		cmocka_unit_test(test_blocked),
		cmocka_unit_test(test_insecure),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_v1),
		cmocka_unit_test(test_dropins),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
