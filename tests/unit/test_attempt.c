/* The retry decision shared by RunPodSandbox and CreateContainer. */
#include "sandbox/attempt.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

static void test_failed_holder_frees_the_name(void **state)
{
	(void)state;
	AttemptHolder h = {.failed = TRUE, .live = TRUE, .same = TRUE};
	assert_int_equal(attempt_verdict(&h), ATTEMPT_TRY_AGAIN);
	h.answered = TRUE;
	assert_int_equal(attempt_verdict(&h), ATTEMPT_TRY_AGAIN);
}

static void test_unanswered_same_request_is_handed_over(void **state)
{
	(void)state;
	AttemptHolder h = {.live = TRUE, .same = TRUE};
	assert_int_equal(attempt_verdict(&h), ATTEMPT_HAND_OVER);
}

static void test_anything_else_is_taken(void **state)
{
	(void)state;
	AttemptHolder answered = {.live = TRUE, .same = TRUE, .answered = TRUE};
	AttemptHolder other = {.live = TRUE, .same = FALSE};
	AttemptHolder removing = {.live = FALSE, .same = TRUE};
	assert_int_equal(attempt_verdict(&answered), ATTEMPT_NAME_TAKEN);
	assert_int_equal(attempt_verdict(&other), ATTEMPT_NAME_TAKEN);
	assert_int_equal(attempt_verdict(&removing), ATTEMPT_NAME_TAKEN);
}

static void test_answered_mark_is_sticky(void **state)
{
	(void)state;
	GMutex lock;
	g_mutex_init(&lock);
	gboolean mark = FALSE;
	assert_false(attempt_mark_answered(&lock, &mark, FALSE));
	assert_false(mark);
	assert_true(attempt_mark_answered(&lock, &mark, TRUE));
	assert_true(mark);
	assert_false(attempt_mark_answered(&lock, &mark, TRUE));
	assert_false(attempt_mark_answered(&lock, &mark, FALSE));
	assert_true(mark);
	g_mutex_clear(&lock);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_failed_holder_frees_the_name),
		cmocka_unit_test(test_unanswered_same_request_is_handed_over),
		cmocka_unit_test(test_anything_else_is_taken),
		cmocka_unit_test(test_answered_mark_is_sticky),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
