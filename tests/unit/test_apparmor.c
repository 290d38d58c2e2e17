/* AppArmor helpers: finding a profile in the kernel's list, Localhost
 * references, and the shape of berth-default. */
#include "sandbox/spec/apparmor.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

static void test_profiles_contain(void **state)
{
	(void)state;
	const char *list = "/usr/bin/man (enforce)\n"
			   "berth-default (enforce)\n"
			   "cri-apparmor-test-deny-write (complain)\n"
			   "name with (parens) (enforce)\n"
			   "nomode\n";
	assert_true(apparmor_profiles_contain(list, "berth-default"));
	assert_true(apparmor_profiles_contain(list, "/usr/bin/man"));
	assert_true(apparmor_profiles_contain(list,
					      "cri-apparmor-test-deny-write"));
	assert_true(apparmor_profiles_contain(list, "name with (parens)"));
	assert_true(apparmor_profiles_contain(list, "nomode"));
	/* Whole names only. */
	assert_false(apparmor_profiles_contain(list, "berth"));
	assert_false(
		apparmor_profiles_contain(list, "berth-default (enforce)"));
	assert_false(apparmor_profiles_contain(list, "/usr/bin/ma"));
	assert_false(apparmor_profiles_contain("", "berth-default"));
	assert_false(apparmor_profiles_contain(NULL, "berth-default"));
}

static void test_localhost_name(void **state)
{
	(void)state;
	assert_string_equal(apparmor_localhost_name("localhost/deny-write"),
			    "deny-write");
	assert_string_equal(apparmor_localhost_name("deny-write"),
			    "deny-write");
	assert_string_equal(apparmor_localhost_name("localhost"), "localhost");
}

static void test_default_profile_text(void **state)
{
	(void)state;
	const char *t = apparmor_default_profile_text();
	assert_non_null(strstr(t, "profile " APPARMOR_DEFAULT_PROFILE " "));
	assert_non_null(strstr(t, "#include <abstractions/base>"));
	assert_non_null(strstr(t, "deny mount,"));
	/* Balanced braces, ending the file. */
	assert_int_equal(strchr(t, '{') != NULL, 1);
	assert_ptr_equal(strrchr(t, '}'), t + strlen(t) - 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_profiles_contain),
		cmocka_unit_test(test_localhost_name),
		cmocka_unit_test(test_default_profile_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
