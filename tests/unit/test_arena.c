/* The reply arena: zeroed, aligned memory; big blocks beside small ones;
 * and what it is handed to own, released on reset and free, latest first. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>
#include <string.h>

#include "util/arena.h"

static void test_zeroed_and_aligned(void **state)
{
	(void)state;
	g_autoptr(Arena) a = arena_new();
	for (gsize n = 1; n < 9000; n = n * 3 + 1) {
		guint8 *p = arena_alloc(a, n);
		assert_int_equal((uintptr_t)p % 16, 0);
		for (gsize i = 0; i < n; i++)
			assert_int_equal(p[i], 0);
		memset(p, 0xff, n);
	}
	/* A block bigger than a chunk, then small ones still fit. */
	char *big = arena_alloc(a, 100000);
	memset(big, 'x', 100000);
	char *s = arena_strdup(a, "pod");
	assert_string_equal(s, "pod");
	assert_null(arena_strdup(a, NULL));
	assert_string_equal(arena_printf(a, "%s-%d", "ctr", 7), "ctr-7");
	assert_int_equal(big[99999], 'x');
}

static GString *order;
static void note(gpointer p)
{
	g_string_append(order, p);
}

static void test_own_released_latest_first(void **state)
{
	(void)state;
	order = g_string_new(NULL);
	Arena *a = arena_new();
	arena_own(a, "1", note);
	arena_own(a, "2", note);
	arena_own(a, "3", note);
	assert_string_equal(order->str, "");
	arena_reset(a);
	assert_string_equal(order->str, "321");
	/* Reset forgets them: a second reset releases nothing again. */
	arena_reset(a);
	assert_string_equal(order->str, "321");
	arena_own(a, "4", note);
	arena_alloc(a, 50000);
	arena_own(a, "5", note);
	arena_free(a);
	assert_string_equal(order->str, "32154");
	g_string_free(order, TRUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zeroed_and_aligned),
		cmocka_unit_test(test_own_released_latest_first),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
