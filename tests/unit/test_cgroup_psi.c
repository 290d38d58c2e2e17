/* The pressure-file parser: both lines, microseconds to nanoseconds, the
 * "some"-only files of old kernels, and text that is not a pressure file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <glib.h>

#include "sandbox/cgroup/cgroup.h"

static void test_some_and_full(void **state)
{
	(void)state;
	CgroupPsi p;
	assert_true(cgroup_psi_parse(
		"some avg10=1.50 avg60=0.25 avg300=0.00 total=655118\n"
		"full avg10=0.10 avg60=0.02 avg300=0.01 total=12",
		&p));
	assert_true(p.present && p.some.present && p.full.present);
	assert_int_equal(p.some.total_ns, 655118000);
	assert_int_equal(p.full.total_ns, 12000);
	assert_float_equal(p.some.avg10, 1.5, 1e-9);
	assert_float_equal(p.some.avg60, 0.25, 1e-9);
	assert_float_equal(p.full.avg300, 0.01, 1e-9);
}

static void test_some_only(void **state)
{
	(void)state;
	CgroupPsi p;
	assert_true(cgroup_psi_parse(
		"some avg10=0.00 avg60=0.00 avg300=0.00 total=0\n", &p));
	assert_true(p.some.present);
	assert_false(p.full.present);
	assert_int_equal(p.some.total_ns, 0);
}

static void test_fields_in_any_order_and_unknown_lines(void **state)
{
	(void)state;
	CgroupPsi p;
	assert_true(cgroup_psi_parse("weird line\n"
				     "full total=7 avg300=3 avg60=2 avg10=1\n",
				     &p));
	assert_false(p.some.present);
	assert_int_equal(p.full.total_ns, 7000);
	assert_float_equal(p.full.avg10, 1, 1e-9);
	assert_float_equal(p.full.avg300, 3, 1e-9);
}

static void test_not_a_pressure_file(void **state)
{
	(void)state;
	CgroupPsi p;
	assert_false(cgroup_psi_parse("", &p));
	assert_false(cgroup_psi_parse("some avg10=1 avg60=1 total=1\n", &p));
	assert_false(cgroup_psi_parse("some avg10=1 avg60=1 avg300=1 total=x\n",
				      &p));
	assert_false(p.present);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_some_and_full),
		cmocka_unit_test(test_some_only),
		cmocka_unit_test(test_fields_in_any_order_and_unknown_lines),
		cmocka_unit_test(test_not_a_pressure_file),
	};
	return cmocka_run_group_tests_name("cgroup_psi", tests, NULL, NULL);
}
