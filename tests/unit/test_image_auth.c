/* image/auth.c: base64 credentials, CRI AuthConfig precedence, auth.json
 * key normalisation and most-specific-first lookup, which credentials an
 * endpoint gets, and the WWW-Authenticate parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <string.h>
#include <glib/gstdio.h>

#include "image/auth.h"
#include "util/error.h"

/* base64("user:pa:ss") and friends */
#define B64_USER "dXNlcjpwYTpzcw=="  /* user:pa:ss */
#define B64_ALICE "YWxpY2U6c2VjcmV0" /* alice:secret */
#define B64_BOB "Ym9iOmh1bnRlcjI="   /* bob:hunter2 */
#define B64_CAROL "Y2Fyb2w6eA=="     /* carol:x */
#define B64_NOCOLON "bm9jb2xvbg=="   /* nocolon */
#define B64_EMPTYUSER "OnBhc3M="     /* :pass */

static void test_decode_basic(void **state)
{
	(void)state;
	g_autoptr(GError) error = NULL;
	g_autofree char *u = NULL, *p = NULL;
	assert_true(auth_decode_basic(B64_USER, &u, &p, &error));
	assert_string_equal(u, "user");
	assert_string_equal(p, "pa:ss");

	const char *bad[] = {"",	  "not base64!", "abc",
			     B64_NOCOLON, B64_EMPTYUSER, "YWJj=ZGVm",
			     NULL};
	for (const char **b = bad; *b; b++) {
		char *u2 = NULL, *p2 = NULL;
		assert_false(auth_decode_basic(*b, &u2, &p2, &error));
		assert_true(g_error_matches(error, BERTH_ERROR,
					    BERTH_ERROR_INVALID_ARGUMENT));
		g_clear_error(&error);
		assert_null(u2);
	}
}

static void test_basic_header(void **state)
{
	(void)state;
	AuthCredentials c = {.username = "alice", .password = "secret"};
	g_autofree char *h = auth_basic_header(&c);
	assert_string_equal(h, "Basic " B64_ALICE);
	AuthCredentials none = {.registry_token = "t"};
	assert_null(auth_basic_header(&none));
	assert_null(auth_basic_header(NULL));
}

static void test_from_config(void **state)
{
	(void)state;
	g_autoptr(GError) error = NULL;
	AuthConfig empty = {.username = "", .server_address = "docker.io"};
	assert_null(auth_credentials_from_config(&empty, &error));
	assert_null(error);
	assert_null(auth_credentials_from_config(NULL, &error));

	AuthConfig only_auth = {.auth = B64_BOB};
	g_autoptr(AuthCredentials) a =
		auth_credentials_from_config(&only_auth, &error);
	assert_string_equal(a->username, "bob");
	assert_string_equal(a->password, "hunter2");

	/* an explicit username/password wins over auth */
	AuthConfig both = {
		.username = "alice", .password = "secret", .auth = B64_BOB};
	g_autoptr(AuthCredentials) b =
		auth_credentials_from_config(&both, &error);
	assert_string_equal(b->username, "alice");
	assert_string_equal(b->password, "secret");

	AuthConfig tokens = {.identity_token = "refresh",
			     .registry_token = "bearer"};
	g_autoptr(AuthCredentials) t =
		auth_credentials_from_config(&tokens, &error);
	assert_null(t->username);
	assert_string_equal(t->identity_token, "refresh");
	assert_string_equal(t->registry_token, "bearer");

	AuthConfig bad = {.auth = "%%%"};
	assert_null(auth_credentials_from_config(&bad, &error));
	assert_true(g_str_has_prefix(error->message, "auth config: "));
	assert_null(strstr(error->message, "%%%"));
}

static void test_normalize_key(void **state)
{
	(void)state;
	const char *cases[][2] = {
		{"docker.io", "docker.io"},
		{"https://index.docker.io/v1/", "docker.io"},
		{"index.docker.io", "docker.io"},
		{"registry-1.docker.io/library", "docker.io/library"},
		{"http://localhost:5000", "localhost:5000"},
		{"https://quay.io/v2/", "quay.io"},
		{"quay.io/ns/repo/", "quay.io/ns/repo"},
		{"127.0.0.1:5000/a", "127.0.0.1:5000/a"},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autofree char *got = auth_normalize_key(cases[i][0]);
		assert_string_equal(got, cases[i][1]);
	}
}

static const char *const auth_json =
	"{\"auths\": {\n"
	"  \"quay.io\": {\"auth\": \"" B64_ALICE "\"},\n"
	"  \"quay.io/team\": {\"auth\": \"" B64_BOB "\"},\n"
	"  \"quay.io/team/app\": {\"auth\": \"" B64_CAROL "\"},\n"
	"  \"quay.io/empty\": {\"auth\": \"\"},\n"
	"  \"https://index.docker.io/v1/\": {\"auth\": \"" B64_BOB "\"},\n"
	"  \"docker.io\": {\"auth\": \"" B64_ALICE "\"},\n"
	"  \"http://localhost:5000\": {\"auth\": \"" B64_CAROL "\"},\n"
	"  \"id.example.com\": {\"identitytoken\": \"refresh-me\"}\n"
	"}, \"credHelpers\": {}}\n";

/* "user" of the credentials found for host/repo, or "-" for none. */
static char *who(const char *text, const char *host, const char *repo)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(AuthCredentials) c = auth_json_lookup(
		text, strlen(text), "auth.json", host, repo, &error);
	if (error != NULL)
		return g_strdup_printf("ERR %s", error->message);
	if (c == NULL)
		return g_strdup("-");
	return g_strdup(c->username ? c->username : c->identity_token);
}

#define assert_who(text, host, repo, want)                                     \
	do {                                                                   \
		g_autofree char *got_ = who(text, host, repo);                 \
		assert_string_equal(got_, want);                               \
	} while (0)

static void test_json_lookup_order(void **state)
{
	(void)state;
	assert_who(auth_json, "quay.io", "team/app", "carol");
	assert_who(auth_json, "quay.io", "team/app/sub", "carol");
	assert_who(auth_json, "quay.io", "team/other", "bob");
	assert_who(auth_json, "quay.io", "teamx/app", "alice");
	assert_who(auth_json, "quay.io", "x", "alice");
	/* an entry without credentials falls through to the host */
	assert_who(auth_json, "quay.io", "empty/x", "alice");
	/* "docker.io" written exactly beats the legacy URL key */
	assert_who(auth_json, "docker.io", "library/busybox", "alice");
	assert_who(auth_json, "localhost:5000", "a/b", "carol");
	assert_who(auth_json, "localhost:5001", "a/b", "-");
	assert_who(auth_json, "id.example.com", "a", "refresh-me");
	assert_who(auth_json, "other.io", "a", "-");

	const char *legacy = "{\"auths\": {\"https://index.docker.io/v1/\": "
			     "{\"auth\": \"" B64_BOB "\"}}}";
	assert_who(legacy, "docker.io", "library/busybox", "bob");
	assert_who("{}", "docker.io", "x", "-");
	assert_who("{\"auths\": {}}", "docker.io", "x", "-");
}

static void test_json_errors(void **state)
{
	(void)state;
	g_autofree char *a = who("{\"auths\": ", "q.io", "x");
	assert_true(g_str_has_prefix(a, "ERR auth.json:1:"));
	g_autofree char *b = who("[]", "q.io", "x");
	assert_true(g_str_has_prefix(b, "ERR auth.json: want an object"));
	g_autofree char *c =
		who("{\"auths\": {\"q.io\": {\"auth\": 7}}}", "q.io", "x");
	assert_non_null(strstr(c, "auths \"q.io\""));
	g_autofree char *d = who("{\"auths\": {\"q.io\": {\"auth\": "
				 "\"c2VjcmV0\"}}}",
				 "q.io", "x");
	assert_non_null(strstr(d, "user:password"));
	assert_null(strstr(d, "c2VjcmV0"));
	g_autofree char *e =
		who("{\"auths\": {\"q.io\": {}, \"q.io\": {}}}", "q.io", "x");
	assert_true(g_str_has_prefix(e, "ERR auth.json:"));
}

static void test_file_lookup(void **state)
{
	(void)state;
	g_autoptr(GError) error = NULL;
	assert_null(auth_file_lookup("/nonexistent/auth.json", "q.io", "x",
				     &error));
	assert_null(error);
	assert_null(auth_file_lookup("", "q.io", "x", &error));
	assert_null(auth_file_lookup(NULL, "q.io", "x", &error));
	assert_null(error);

	g_autofree char *path = NULL;
	int fd = g_file_open_tmp("berth-auth-XXXXXX.json", &path, &error);
	assert_true(fd >= 0);
	close(fd);
	assert_true(g_file_set_contents(path, auth_json, -1, &error));
	g_autoptr(AuthCredentials) c =
		auth_file_lookup(path, "quay.io", "team/x", &error);
	assert_string_equal(c->username, "bob");
	assert_string_equal(c->password, "hunter2");
	assert_true(g_file_set_contents(path, "{", -1, &error));
	assert_null(auth_file_lookup(path, "quay.io", "x", &error));
	assert_true(g_str_has_prefix(error->message, path));
	g_unlink(path);
}

static void test_for_endpoint(void **state)
{
	(void)state;
	g_autoptr(GError) error = NULL;
	g_autofree char *path = NULL;
	int fd = g_file_open_tmp("berth-auth-XXXXXX.json", &path, &error);
	close(fd);
	assert_true(g_file_set_contents(path, auth_json, -1, &error));
	AuthCredentials given = {.username = "kubelet", .password = "pw"};

	/* the source gets the request's credentials over the file */
	g_autoptr(AuthCredentials) a = auth_for_endpoint(
		&given, NULL, path, "quay.io", "team/app", TRUE, &error);
	assert_string_equal(a->username, "kubelet");
	/* a mirror gets the file's... */
	g_autoptr(AuthCredentials) b = auth_for_endpoint(
		&given, NULL, path, "quay.io", "team/app", FALSE, &error);
	assert_string_equal(b->username, "carol");
	/* ...unless server_address names it */
	g_autoptr(AuthCredentials) c = auth_for_endpoint(
		&given, "https://quay.io", path, "quay.io", "x", FALSE, &error);
	assert_string_equal(c->username, "kubelet");
	g_autoptr(AuthCredentials) d = auth_for_endpoint(
		&given, "quay.io.evil", path, "quay.io", "x", FALSE, &error);
	assert_string_equal(d->username, "alice");
	/* no request credentials: the file */
	g_autoptr(AuthCredentials) e = auth_for_endpoint(
		NULL, NULL, path, "docker.io", "library/x", TRUE, &error);
	assert_string_equal(e->username, "alice");
	assert_null(auth_for_endpoint(NULL, NULL, path, "none.io", "x", TRUE,
				      &error));
	assert_null(error);
	g_unlink(path);
}

/* ---- WWW-Authenticate ------------------------------------------------- */

/* Challenges as "scheme{k=v,...}" / "scheme[token68]" joined by " ",
 * params sorted, or "ERR <message>". */
static char *chal(const char *header)
{
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) list = auth_challenges_parse(header, &error);
	if (list == NULL)
		return g_strdup_printf("ERR %s", error->message);
	GString *s = g_string_new(NULL);
	for (guint i = 0; i < list->len; i++) {
		const AuthChallenge *c = list->pdata[i];
		g_string_append_printf(s, "%s%s", i ? " " : "", c->scheme);
		if (c->token68)
			g_string_append_printf(s, "[%s]", c->token68);
		g_autoptr(GList) keys = g_hash_table_get_keys(c->params);
		keys = g_list_sort(keys, (GCompareFunc)strcmp);
		g_string_append(s, "{");
		for (GList *k = keys; k; k = k->next)
			g_string_append_printf(s, "%s%s=%s",
					       k == keys ? "" : ",",
					       (char *)k->data,
					       (char *)g_hash_table_lookup(
						       c->params, k->data));
		g_string_append(s, "}");
	}
	return g_string_free(s, FALSE);
}

#define assert_chal(header, want)                                              \
	do {                                                                   \
		g_autofree char *got_ = chal(header);                          \
		assert_string_equal(got_, want);                               \
	} while (0)

#define assert_chal_error(header, want)                                        \
	do {                                                                   \
		g_autofree char *got_ = chal(header);                          \
		if (!g_str_has_prefix(got_, "ERR ") ||                         \
		    strstr(got_, want) == NULL)                                \
			fail_msg("\"%s\": got \"%s\", want an error with "     \
				 "\"%s\"",                                     \
				 header, got_, want);                          \
	} while (0)

static void test_challenge_bearer(void **state)
{
	(void)state;
	assert_chal("Bearer realm=\"https://auth.example.com/token\","
		    "service=\"registry.example.com\","
		    "scope=\"repository:samalba/my-app:pull,push\"",
		    "Bearer{realm=https://auth.example.com/token,"
		    "scope=repository:samalba/my-app:pull,push,"
		    "service=registry.example.com}");
	/* case of scheme kept, of names folded; spaces around '=' and ',' */
	assert_chal("bEaReR   REALM = \"r\" ,  Service=s",
		    "bEaReR{realm=r,service=s}");
	/* tokens unquoted, tabs */
	assert_chal(
		"Bearer\trealm=\"http://127.0.0.1:5000/token\",\tservice=reg",
		"Bearer{realm=http://127.0.0.1:5000/token,service=reg}");
	/* escapes in quoted strings, commas and '=' inside quotes */
	assert_chal("Bearer realm=\"a\\\"b\\\\c\", error=\"x=y, z\"",
		    "Bearer{error=x=y, z,realm=a\"b\\c}");
	assert_chal("Bearer realm=\"\"", "Bearer{realm=}");
	/* empty list elements are allowed */
	assert_chal(", Bearer realm=r,, ,service=s,",
		    "Bearer{realm=r,service=s}");
	g_autoptr(GPtrArray) list =
		auth_challenges_parse("Bearer Realm=\"x\"", NULL);
	assert_string_equal(auth_challenge_param(list->pdata[0], "rEaLm"), "x");
	assert_null(auth_challenge_param(list->pdata[0], "service"));
}

static void test_challenge_multiple(void **state)
{
	(void)state;
	assert_chal("Basic realm=\"berth-test\"", "Basic{realm=berth-test}");
	assert_chal("Basic", "Basic{}");
	assert_chal("Negotiate, Basic realm=x", "Negotiate{} Basic{realm=x}");
	assert_chal("Bearer realm=\"a\", service=\"b\", Basic realm=\"c\"",
		    "Bearer{realm=a,service=b} Basic{realm=c}");
	assert_chal("Newauth realm=\"apps\", type=1, title=\"Login to "
		    "\\\"apps\\\"\", Basic realm=\"simple\"",
		    "Newauth{realm=apps,title=Login to \"apps\",type=1} "
		    "Basic{realm=simple}");
	/* token68 forms */
	assert_chal("Basic dXNlcjpwYXNz", "Basic[dXNlcjpwYXNz]{}");
	assert_chal("Basic dXNlcjpwYQ==, Bearer realm=r",
		    "Basic[dXNlcjpwYQ==]{} Bearer{realm=r}");
	assert_chal("Other abc=", "Other[abc=]{}");
	/* a bare name after a comma starts a new challenge */
	assert_chal("Bearer realm=a, service", "Bearer{realm=a} service{}");
	/* grammatically a token68, not a parameter without value */
	assert_chal("Bearer realm=", "Bearer[realm=]{}");
	g_autoptr(GPtrArray) list = auth_challenges_parse(
		"Basic realm=x, BEARER realm=y, bearer realm=z", NULL);
	const AuthChallenge *b = auth_challenges_find(list, "bearer");
	assert_string_equal(auth_challenge_param(b, "realm"), "y");
	assert_null(auth_challenges_find(list, "Digest"));
}

static void test_challenge_errors(void **state)
{
	(void)state;
	assert_chal_error("", "empty");
	assert_chal_error(" , ,", "empty");
	assert_chal_error(NULL, "empty");
	assert_chal_error("Bearer realm=\"unterminated", "unterminated");
	assert_chal_error("Bearer realm=\"r\", service=", "without a value");
	assert_chal_error("Bearer service=x, realm=, scope=y",
			  "without a value");
	assert_chal_error("Bearer realm=, service=x", "expected a space");
	/* URLs must be quoted: ':' and '/' are not token characters */
	assert_chal_error("Bearer realm=http://x/token", "expected ','");
	assert_chal_error("Bearer realm=a, realm=b", "repeated");
	assert_chal_error("Bearer realm=a, REALM=b", "repeated");
	assert_chal_error("Bearer realm=a service=b", "expected ','");
	assert_chal_error("Bearer realm=\"a\"x", "expected ','");
	assert_chal_error("Bearer realm=\"a\x01\"", "control character");
	assert_chal_error("=x", "expected an auth scheme");
	assert_chal_error("Bearer=x", "expected a space");
	assert_chal_error("\"Bearer\"", "expected an auth scheme");
	assert_chal_error("Bearer realm=a, =b", "offset 16: expected an auth");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_decode_basic),
		cmocka_unit_test(test_basic_header),
		cmocka_unit_test(test_from_config),
		cmocka_unit_test(test_normalize_key),
		cmocka_unit_test(test_json_lookup_order),
		cmocka_unit_test(test_json_errors),
		cmocka_unit_test(test_file_lookup),
		cmocka_unit_test(test_for_endpoint),
		cmocka_unit_test(test_challenge_bearer),
		cmocka_unit_test(test_challenge_multiple),
		cmocka_unit_test(test_challenge_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
