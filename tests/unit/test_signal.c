/* Tests of server/signal.c: CRI Signal tags <-> POSIX numbers, by tag
 * value as api.proto numbers them. */
#include "server/signal.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

static void test_fixed_names(void **state)
{
	(void)state;
	/* RUNTIME_DEFAULT = 0, SIGABRT = 1, SIGINT = 10, SIGKILL = 13,
	 * SIGTERM = 23, SIGUSR1 = 29, SIGXFSZ = 34. */
	assert_int_equal(server_signal_from_cri(0), 0);
	assert_int_equal(server_signal_from_cri(1), SIGABRT);
	assert_int_equal(server_signal_from_cri(10), SIGINT);
	assert_int_equal(server_signal_from_cri(13), SIGKILL);
	assert_int_equal(server_signal_from_cri(23), SIGTERM);
	assert_int_equal(server_signal_from_cri(29), SIGUSR1);
	assert_int_equal(server_signal_from_cri(34), SIGXFSZ);
	assert_int_equal(server_signal_to_cri(SIGTERM), 23);
	assert_int_equal(server_signal_to_cri(SIGINT), 10);
	assert_int_equal(server_signal_to_cri(SIGQUIT), 18);
	assert_int_equal(server_signal_to_cri(SIGWINCH), 32);
}

static void test_aliases_give_canonical_tag(void **state)
{
	(void)state;
	assert_int_equal(server_signal_from_cri(12), SIGABRT); /* SIGIOT */
	assert_int_equal(server_signal_from_cri(5), SIGCHLD);  /* SIGCLD */
	assert_int_equal(server_signal_from_cri(15), SIGIO);   /* SIGPOLL */
	assert_int_equal(server_signal_to_cri(SIGABRT), 1);
	assert_int_equal(server_signal_to_cri(SIGCHLD), 4);
	assert_int_equal(server_signal_to_cri(SIGIO), 11);
}

static void test_realtime(void **state)
{
	(void)state;
	assert_int_equal(server_signal_from_cri(35), SIGRTMIN);
	assert_int_equal(server_signal_from_cri(36), SIGRTMIN + 1);
	assert_int_equal(server_signal_from_cri(50), SIGRTMIN + 15);
	assert_int_equal(server_signal_from_cri(51), SIGRTMAX - 14);
	assert_int_equal(server_signal_from_cri(64), SIGRTMAX - 1);
	assert_int_equal(server_signal_from_cri(65), SIGRTMAX);
	assert_int_equal(server_signal_from_cri(66), 0);
	assert_int_equal(server_signal_from_cri(-1), 0);
	/* Every tag round-trips. */
	for (int tag = 1; tag <= 65; tag++) {
		int signo = server_signal_from_cri(tag);
		assert_true(signo > 0);
		if (tag != 5 && tag != 12 && tag != 15)
			assert_int_equal(server_signal_to_cri(signo), tag);
	}
	assert_int_equal(server_signal_to_cri(0), 0);
	assert_int_equal(server_signal_to_cri(SIGRTMAX + 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_names),
		cmocka_unit_test(test_aliases_give_canonical_tag),
		cmocka_unit_test(test_realtime),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
