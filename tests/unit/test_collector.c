/* Tests of util/collector.c: off means a read per ask; on, the first ask
 * reads, later ones are answered from memory and refreshed each period,
 * failed reads and keys nobody asks for are dropped. */
#include "util/collector.h"
#include "util/error.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

/* The fake source: the value of a key is how many times it was read;
 * keys starting with "gone" fail. */
static gint reads;

static gpointer read_count(const char *key, GError **error)
{
	if (g_str_has_prefix(key, "gone")) {
		berth_throw(error, NOT_FOUND, "%s is gone", key);
		return NULL;
	}
	gint *v = g_new(gint, 1);
	*v = g_atomic_int_add(&reads, 1) + 1;
	return v;
}

static gpointer copy_int(gconstpointer v)
{
	return g_memdup2(v, sizeof(gint));
}

static const CollectorOps ops = {read_count, copy_int, g_free};

static gint get(Collector *c, const char *key)
{
	g_autofree gint *v = collector_get(c, key, NULL);
	assert_non_null(v);
	return *v;
}

static void test_off_reads_each_time(void **state)
{
	(void)state;
	reads = 0;
	Collector *c = collector_new("t", &ops, 0, G_USEC_PER_SEC);
	assert_int_equal(get(c, "a"), 1);
	assert_int_equal(get(c, "a"), 2);
	assert_int_equal(collector_size(c), 0);
	g_autoptr(GError) err = NULL;
	assert_null(collector_get(c, "gone", &err));
	assert_int_equal(err->code, BERTH_ERROR_NOT_FOUND);
	collector_free(c);
}

static void test_on_answers_from_memory_and_refreshes(void **state)
{
	(void)state;
	reads = 0;
	Collector *c =
		collector_new("t", &ops, 100 * 1000, 10 * G_USEC_PER_SEC);
	assert_int_equal(get(c, "a"), 1); /* first ask: read now */
	assert_int_equal(get(c, "a"), 1); /* from memory */
	assert_int_equal(reads, 1);
	assert_int_equal(collector_size(c), 1);
	/* Refreshed by the thread, not per ask (waits up to 10 s, for a
	 * loaded machine). */
	gint v = 1;
	for (int i = 0; i < 200 && v < 2; i++) {
		g_usleep(50 * 1000);
		v = get(c, "a");
	}
	assert_true(v >= 2);
	/* A failed read is not kept. */
	g_autoptr(GError) err = NULL;
	assert_null(collector_get(c, "gone-1", &err));
	assert_int_equal(collector_size(c), 1);
	collector_free(c);
}

static void test_unasked_keys_are_dropped(void **state)
{
	(void)state;
	reads = 0;
	Collector *c = collector_new("t", &ops, 50 * 1000, 150 * 1000);
	get(c, "a");
	get(c, "b");
	assert_int_equal(collector_size(c), 2);
	/* b is asked for, a is not: a goes (waits up to 10 s). */
	for (int i = 0; i < 200 && collector_size(c) > 1; i++) {
		g_usleep(50 * 1000);
		get(c, "b");
	}
	assert_int_equal(collector_size(c), 1);
	/* Nobody asks for b either: it goes, and the reads stop. */
	for (int i = 0; i < 200 && collector_size(c) > 0; i++)
		g_usleep(50 * 1000);
	assert_int_equal(collector_size(c), 0);
	gint settled = reads;
	g_usleep(300 * 1000);
	assert_int_equal(reads, settled);
	collector_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off_reads_each_time),
		cmocka_unit_test(test_on_answers_from_memory_and_refreshes),
		cmocka_unit_test(test_unasked_keys_are_dropped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
