/* What container recovery does with each record, from the facts alone. */
#include "sandbox/container/ctr-private.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

static CtrRecovery decide(CtrState st, gboolean exit_file, gboolean alive,
			  gboolean started, gboolean pod_ready)
{
	CtrRecoveryFacts f = {.state = st,
			      .exit_file = exit_file,
			      .monitor_alive = alive,
			      .started = started,
			      .pod_ready = pod_ready};
	return ctr_recovery_decide(&f);
}

static void test_half_made_or_removed_is_removed(void **state)
{
	(void)state;
	for (int bits = 0; bits < 16; bits++) {
		gboolean a = bits & 1, b = bits & 2, c = bits & 4, d = bits & 8;
		assert_int_equal(decide(CTR_CREATING, a, b, c, d),
				 CTR_RECOVER_REMOVE);
		assert_int_equal(decide(CTR_REMOVING, a, b, c, d),
				 CTR_RECOVER_REMOVE);
		assert_int_equal(decide(CTR_EXITED, a, b, c, d),
				 CTR_RECOVER_KEEP);
	}
}

static void test_exit_file_wins(void **state)
{
	(void)state;
	assert_int_equal(decide(CTR_RUNNING, TRUE, TRUE, FALSE, TRUE),
			 CTR_RECOVER_EXIT_FILE);
	assert_int_equal(decide(CTR_RUNNING, TRUE, FALSE, FALSE, TRUE),
			 CTR_RECOVER_EXIT_FILE);
	assert_int_equal(decide(CTR_CREATED, TRUE, FALSE, TRUE, FALSE),
			 CTR_RECOVER_EXIT_FILE);
}

static void test_running(void **state)
{
	(void)state;
	assert_int_equal(decide(CTR_RUNNING, FALSE, TRUE, FALSE, TRUE),
			 CTR_RECOVER_KEEP);
	assert_int_equal(decide(CTR_RUNNING, FALSE, FALSE, FALSE, TRUE),
			 CTR_RECOVER_LOST);
	/* The pod's state does not matter to a running container. */
	assert_int_equal(decide(CTR_RUNNING, FALSE, TRUE, FALSE, FALSE),
			 CTR_RECOVER_KEEP);
}

static void test_created_with_a_start_under_way(void **state)
{
	(void)state;
	assert_int_equal(decide(CTR_CREATED, FALSE, TRUE, TRUE, TRUE),
			 CTR_RECOVER_ADOPT);
	assert_int_equal(decide(CTR_CREATED, FALSE, FALSE, TRUE, TRUE),
			 CTR_RECOVER_KILL_LOST);
	assert_int_equal(decide(CTR_CREATED, FALSE, TRUE, FALSE, TRUE),
			 CTR_RECOVER_START_UNDER_WAY);
	assert_int_equal(decide(CTR_CREATED, FALSE, TRUE, FALSE, FALSE),
			 CTR_RECOVER_START_UNDER_WAY);
}

static void test_created_with_nothing_running(void **state)
{
	(void)state;
	assert_int_equal(decide(CTR_CREATED, FALSE, FALSE, FALSE, TRUE),
			 CTR_RECOVER_UNDO_START);
	assert_int_equal(decide(CTR_CREATED, FALSE, FALSE, FALSE, FALSE),
			 CTR_RECOVER_NEVER_RAN);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_half_made_or_removed_is_removed),
		cmocka_unit_test(test_exit_file_wins),
		cmocka_unit_test(test_running),
		cmocka_unit_test(test_created_with_a_start_under_way),
		cmocka_unit_test(test_created_with_nothing_running),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
