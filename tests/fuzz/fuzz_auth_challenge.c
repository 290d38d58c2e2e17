/* Fuzz target: image/auth.c's WWW-Authenticate parser (RFC 7235
 * challenges), as image/registry-token.c uses it to pick Bearer or Basic
 * and read realm, service and scope. */
#include "image/auth.h"
#include "tests/fuzz/fuzz.h"
#include "util/error.h"

static void check(const AuthChallenge *c)
{
	fuzz_check(c->scheme != NULL && c->scheme[0] != '\0');
	fuzz_check(c->params != NULL);
	GHashTableIter it;
	gpointer k, v;
	g_hash_table_iter_init(&it, c->params);
	while (g_hash_table_iter_next(&it, &k, &v)) {
		g_autofree char *lower = g_ascii_strdown(k, -1);
		fuzz_check(g_str_equal(lower, k));
		fuzz_check(auth_challenge_param(c, k) == v);
	}
	(void)auth_challenge_param(c, "Realm");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g_autofree char *header = fuzz_cstr(data, size);
	g_autoptr(GError) error = NULL;
	g_autoptr(GPtrArray) all = auth_challenges_parse(header, &error);
	if (all == NULL) {
		fuzz_check(error != NULL && error->domain == BERTH_ERROR);
		return 0;
	}
	for (guint i = 0; i < all->len; i++)
		check(all->pdata[i]);
	const AuthChallenge *bearer = auth_challenges_find(all, "Bearer");
	if (bearer != NULL) {
		(void)auth_challenge_param(bearer, "realm");
		(void)auth_challenge_param(bearer, "service");
		(void)auth_challenge_param(bearer, "scope");
	}
	(void)auth_challenges_find(all, "basic");
	return 0;
}
