/* usage_nano_cores between samples: the arithmetic, the cases where no
 * rate can be told, the first sample of a cgroup, and callers that ask
 * again within the minimum interval. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>

#include "sandbox/cgroup/cgroup.h"

#define SEC G_GINT64_CONSTANT(1000000000)

static void test_rate_between(void **state)
{
	(void)state;
	guint64 r = 0;
	/* One core for two seconds. */
	assert_true(cgroup_cpu_rate_between(0, 0, 2 * SEC, 2 * SEC, &r));
	assert_int_equal(r, 1000000000);
	/* A quarter core over half a second. */
	assert_true(cgroup_cpu_rate_between(10, 100, 10 + SEC / 8,
					    100 + SEC / 2, &r));
	assert_int_equal(r, 250000000);
	/* Idle. */
	assert_true(cgroup_cpu_rate_between(5, 0, 5, SEC, &r));
	assert_int_equal(r, 0);
	/* Large counters (a long-lived busy cgroup) do not overflow. */
	guint64 big = G_GUINT64_CONSTANT(1) << 62;
	assert_true(cgroup_cpu_rate_between(big, 1000 * SEC, big + 3 * SEC,
					    1002 * SEC, &r));
	assert_int_equal(r, 1500000000);
}

static void test_rate_not_told(void **state)
{
	(void)state;
	guint64 r = 42;
	assert_false(cgroup_cpu_rate_between(0, SEC, 10, SEC, &r));
	assert_false(cgroup_cpu_rate_between(0, 2 * SEC, 10, SEC, &r));
	assert_false(cgroup_cpu_rate_between(100, 0, 10, SEC, &r));
	assert_int_equal(r, 42);
}

static void test_kept_per_key(void **state)
{
	(void)state;
	guint64 r = 0;
	gint64 t0 = 1000 * SEC;
	assert_false(cgroup_cpu_rate("/t/a", 0, t0, &r));
	assert_false(cgroup_cpu_rate("/t/b", 0, t0, &r));
	assert_true(cgroup_cpu_rate("/t/a", SEC, t0 + SEC, &r));
	assert_int_equal(r, 1000000000);
	assert_true(cgroup_cpu_rate("/t/b", SEC / 10, t0 + SEC, &r));
	assert_int_equal(r, 100000000);
	/* Within the minimum interval: the last rate, baseline kept. */
	assert_true(cgroup_cpu_rate("/t/a", SEC + 1000, t0 + SEC + 1000, &r));
	assert_int_equal(r, 1000000000);
	assert_true(cgroup_cpu_rate("/t/a", SEC + SEC / 2, t0 + 2 * SEC, &r));
	assert_int_equal(r, 500000000);
}

static void test_counter_reset_restarts(void **state)
{
	(void)state;
	guint64 r = 0;
	gint64 t0 = 5000 * SEC;
	assert_false(cgroup_cpu_rate("/t/reset", 10 * SEC, t0, &r));
	/* The cgroup was made again: no rate, the new sample is the base. */
	assert_false(cgroup_cpu_rate("/t/reset", SEC, t0 + SEC, &r));
	assert_true(cgroup_cpu_rate("/t/reset", 2 * SEC, t0 + 2 * SEC, &r));
	assert_int_equal(r, 1000000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rate_between),
		cmocka_unit_test(test_rate_not_told),
		cmocka_unit_test(test_kept_per_key),
		cmocka_unit_test(test_counter_reset_restarts),
	};
	return cmocka_run_group_tests_name("cgroup_rate", tests, NULL, NULL);
}
