/* The token store: single use, expiry on an injected clock, kinds,
 * freeing, the token's form, and many threads racing for the same tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <string.h>

#include "server/streaming/tokens.h"

static gint64 fake_now;
static gint64 fake_clock(gpointer data)
{
	(void)data;
	return fake_now;
}

static int freed;
static void count_free(gpointer p)
{
	freed++;
	g_free(p);
}

static TokenStore *fake_store(guint lifetime_ms)
{
	TokenStore *s = token_store_new(lifetime_ms);
	fake_now = 1000000;
	freed = 0;
	token_store_set_clock(s, fake_clock, NULL);
	return s;
}

static void test_single_use(void **state)
{
	(void)state;
	g_autoptr(TokenStore) s = fake_store(60000);
	g_autofree char *t = token_store_add(s, 1, g_strdup("req"), count_free);
	assert_true(token_store_contains(s, t, 1));
	assert_false(token_store_contains(s, t, 2));
	g_autofree char *got = token_store_take(s, t, 1);
	assert_string_equal(got, "req");
	assert_null(token_store_take(s, t, 1));
	assert_false(token_store_contains(s, t, 1));
	assert_null(token_store_take(s, "nope", 1));
	assert_null(token_store_take(s, NULL, 1));
	assert_int_equal(freed, 0); /* taken data is the caller's */
	assert_int_equal(token_store_size(s), 0);
}

static void test_wrong_kind_does_not_consume(void **state)
{
	(void)state;
	g_autoptr(TokenStore) s = fake_store(60000);
	g_autofree char *t = token_store_add(s, 3, g_strdup("pf"), count_free);
	assert_null(token_store_take(s, t, 1));
	assert_null(token_store_take(s, t, 2));
	GDestroyNotify fn = NULL;
	gpointer got = token_store_take_full(s, t, 3, &fn);
	assert_non_null(got);
	assert_true(fn == count_free);
	fn(got);
	assert_int_equal(freed, 1);
}

static void test_expiry(void **state)
{
	(void)state;
	g_autoptr(TokenStore) s = fake_store(1000);
	g_autofree char *a = token_store_add(s, 1, g_strdup("a"), count_free);
	fake_now += 999 * 1000;
	g_autofree char *b = token_store_add(s, 1, g_strdup("b"), count_free);
	assert_true(token_store_contains(s, a, 1));
	fake_now += 1000; /* a is exactly 1 s old: gone */
	assert_false(token_store_contains(s, a, 1));
	assert_null(token_store_take(s, a, 1));
	/* The take swept a away (and freed its data); b lives on. */
	assert_int_equal(freed, 1);
	assert_int_equal(token_store_size(s), 1);
	g_autofree char *got = token_store_take(s, b, 1);
	assert_string_equal(got, "b");
	/* Lazily: nothing is dropped until an add or take runs. */
	g_autofree char *c = token_store_add(s, 1, g_strdup("c"), count_free);
	fake_now += 5 * 1000 * 1000;
	assert_int_equal(token_store_size(s), 1);
	g_autofree char *d = token_store_add(s, 2, g_strdup("d"), count_free);
	assert_int_equal(token_store_size(s), 1);
	assert_int_equal(freed, 2);
}

static void test_free_frees_untaken(void **state)
{
	(void)state;
	TokenStore *s = fake_store(1000);
	for (int i = 0; i < 10; i++)
		g_free(token_store_add(s, 1, g_strdup("x"), count_free));
	g_free(token_store_add(s, 1, "static", NULL));
	token_store_free(s);
	assert_int_equal(freed, 10);
	token_store_free(NULL);
}

static void test_token_form(void **state)
{
	(void)state;
	g_autoptr(TokenStore) s = token_store_new(1000);
	g_autoptr(GHashTable) seen =
		g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (int i = 0; i < 1000; i++) {
		char *t = token_store_add(s, 1, "x", NULL);
		assert_int_equal(strlen(t), 32);
		for (const char *p = t; *p; p++)
			assert_true(g_ascii_isalnum(*p) || *p == '-' ||
				    *p == '_');
		assert_true(g_hash_table_add(seen, t));
	}
}

#define RACERS 4
#define RACE_TOKENS 2000

typedef struct {
	TokenStore *s;
	char **tokens;
	gint won;
} Race;

static gpointer racer(gpointer p)
{
	Race *r = p;
	for (int i = 0; i < RACE_TOKENS; i++) {
		gpointer d = token_store_take(r->s, r->tokens[i], 1);
		if (d != NULL) {
			g_atomic_int_inc(&r->won);
			g_free(d);
		}
		/* Others add while we take. */
		g_free(token_store_add(r->s, 2, g_strdup("y"), g_free));
	}
	return NULL;
}

static void test_concurrent_take(void **state)
{
	(void)state;
	Race r = {.s = token_store_new(60000)};
	r.tokens = g_new0(char *, RACE_TOKENS + 1);
	for (int i = 0; i < RACE_TOKENS; i++)
		r.tokens[i] = token_store_add(r.s, 1, g_strdup("x"), g_free);
	GThread *th[RACERS];
	for (int i = 0; i < RACERS; i++)
		th[i] = g_thread_new("racer", racer, &r);
	for (int i = 0; i < RACERS; i++)
		g_thread_join(th[i]);
	assert_int_equal(r.won, RACE_TOKENS);
	assert_int_equal(token_store_size(r.s), RACERS * RACE_TOKENS);
	g_strfreev(r.tokens);
	token_store_free(r.s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_use),
		cmocka_unit_test(test_wrong_kind_does_not_consume),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_free_frees_untaken),
		cmocka_unit_test(test_token_form),
		cmocka_unit_test(test_concurrent_take),
	};
	return cmocka_run_group_tests_name("tokens", tests, NULL, NULL);
}
