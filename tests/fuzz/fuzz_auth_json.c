/* Fuzz target: image/auth.c's containers-auth.json(5) / Docker
 * config.json reader (auth_json_lookup) for a few host/repo pairs, and the
 * base64 "user:password" decoding its "auth" fields go through. */
#include "image/auth.h"
#include "tests/fuzz/fuzz.h"
#include "util/error.h"

static const char *const where[][2] = {
	{"docker.io", "library/busybox"},
	{"registry.example.com:5000", "team/app"},
	{"quay.io", "a/b/c"},
	{"localhost", "x"},
};

static void check(const AuthCredentials *c)
{
	if (c == NULL)
		return;
	g_autofree char *basic = auth_basic_header(c);
	fuzz_check((basic != NULL) == (c->username != NULL));
	g_autoptr(AuthCredentials) copy = auth_credentials_copy(c);
	fuzz_check(g_strcmp0(copy->username, c->username) == 0);
	fuzz_check(g_strcmp0(copy->password, c->password) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (guint i = 0; i < G_N_ELEMENTS(where); i++) {
		g_autoptr(GError) error = NULL;
		g_autoptr(AuthCredentials) c =
			auth_json_lookup((const char *)data, size, "fuzz.json",
					 where[i][0], where[i][1], &error);
		if (c == NULL && error != NULL)
			fuzz_check(error->domain == BERTH_ERROR);
		check(c);
	}
	/* The same bytes as an "auth" value and as a registry key. */
	g_autofree char *s = fuzz_cstr(data, size);
	g_autofree char *user = NULL, *password = NULL;
	g_autoptr(GError) error = NULL;
	if (auth_decode_basic(s, &user, &password, &error))
		fuzz_check(user != NULL && password != NULL);
	g_autofree char *key = auth_normalize_key(s);
	fuzz_check(key != NULL);
	AuthConfig config = {.auth = s, .server_address = s};
	g_autoptr(GError) cerr = NULL;
	g_autoptr(AuthCredentials) given =
		auth_credentials_from_config(&config, &cerr);
	check(given);
	return 0;
}
