/* The gRPC code of an error: errno values and the full-disk errors of GLib
 * and GIO (which ostree speaks) map to what the RPC should answer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <gio/gio.h>
#include <glib.h>

#include "util/error.h"

static void test_errno_codes(void **state)
{
	(void)state;
	const struct {
		int errsv;
		int code;
	} cases[] = {
		{ENOSPC, BERTH_ERROR_RESOURCE_EXHAUSTED},
		{EMFILE, BERTH_ERROR_RESOURCE_EXHAUSTED},
		{ENOENT, BERTH_ERROR_NOT_FOUND},
		{EACCES, BERTH_ERROR_PERMISSION_DENIED},
		{EIO, BERTH_ERROR_INTERNAL},
	};
	for (gsize i = 0; i < G_N_ELEMENTS(cases); i++) {
		g_autoptr(GError) e = NULL;
		assert_false(berth_throw_errno(&e, cases[i].errsv, "write x"));
		assert_int_equal(berth_error_code(e), cases[i].code);
	}
}

static void test_foreign_domains(void **state)
{
	(void)state;
	g_autoptr(GError) nospc =
		g_error_new(G_FILE_ERROR, G_FILE_ERROR_NOSPC, "full");
	g_autoptr(GError) no_space =
		g_error_new(G_IO_ERROR, G_IO_ERROR_NO_SPACE, "full");
	g_autoptr(GError) missing =
		g_error_new(G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "gone");
	g_autoptr(GError) other =
		g_error_new(G_FILE_ERROR, G_FILE_ERROR_IO, "broken");
	assert_int_equal(berth_error_code(nospc),
			 BERTH_ERROR_RESOURCE_EXHAUSTED);
	assert_int_equal(berth_error_code(no_space),
			 BERTH_ERROR_RESOURCE_EXHAUSTED);
	assert_int_equal(berth_error_code(missing), BERTH_ERROR_NOT_FOUND);
	assert_int_equal(berth_error_code(other), BERTH_ERROR_INTERNAL);
	assert_int_equal(berth_error_code(NULL), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_errno_codes),
		cmocka_unit_test(test_foreign_domains),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
